"""Methodology page: how articles are scored, how to read the charts, and the evaluation."""

from __future__ import annotations

import streamlit as st

from monitor import charts, scoring
from monitor.settings import PROJECT_DIR
from pages import common

EVALUATION = PROJECT_DIR / "docs" / "EVALUATION.md"


def render() -> None:
    st.title("Methodology")
    cfg = common.settings()
    st.markdown(f"""
**What is measured.** Every article is split into sentences (title first). Each sentence is embedded
with an embedding model (`{cfg.model}`; the default is multilingual) and read by three small classifiers trained on labelled
Arabic, French and English statements (see `docs/LABELING.md`).

- **Relevance** — is the article about the relationship between the *states* of Morocco and France?
  An article is relevant when the mean relevance of its two most relevant sentences reaches
  {scoring.RELEVANT_AT:.2f}. In an article, the relationship is where the two states are named close together:
  a sentence counts at most as much as the most relevant sentence with Morocco and France both named within
  {scoring.BILATERAL_WINDOW} sentences of it, and an article where they never are is not relevant. Only relevant
  articles count in the charts.
- **Tone** — for each sentence, P(cooperative) − P(tense), from −1 to +1 (small networks, blended with the
  labels of the sentence's nearest training statements in any language; the Articles page lists them under
  each evidence sentence). An article's tone is the mean
  over its sentences about the relationship, weighted by relevance², so sentences on other things
  neither dilute nor swing it; the title counts {scoring.FIRST_SENTENCE_WEIGHT:g} times, as it states the news
  where later sentences often recall the background. Its **class** is the largest of three shares, the same weighted means of
  the sentences' probabilities of cooperative, neutral-or-mixed and tense (cooperative share − tense
  share = tone): an article at +0.30 whose sentences are mostly procedural is *mixed*. The charts shade
  the tone axis at {charts.TENSE_AT:+.2f} and {charts.COOPERATIVE_AT:+.2f}: about nine in ten statements
  classed cooperative score above {charts.COOPERATIVE_AT:+.2f}, and as many classed tense below {charts.TENSE_AT:+.2f}.
  It is the tone of the relationship, not the mood of the words: a calm report of an ambassador
  recalled is tense.
- **Topics** — a score per topic of `data/taxonomy.json` (a sentence can be about two), over the same
  relevant sentences; the highest is the article's **main topic**.
- **Confidence** — how sure and how consistent the relevant sentences are. Articles flagged *unsure*
  (few relevant sentences, disagreement, or two class shares within 0.1 of each other) deserve a look
  at their evidence sentences on the Articles page.

**How to read the charts.**
- A point is the mean tone of the relevant articles published in that period. The shaded band is its
  95% confidence interval (Student t); it is drawn only for periods with 3 articles or more.
- Hollow points rest on fewer than 3 articles: read them as anecdotes, not trends.
- A dotted last segment is a period still running (or cut by the date filter); its count is not
  comparable yet.
- A break in a line is a period without any article: the line is never drawn across it.
- The tone axis is always the full scale from −1 to +1, so charts compare by eye.
- Topic shares: of all relevant articles in the period (after the language, origin and source
  filters), the share whose main topic is each topic.
- Vertical dotted lines mark events from `data/events.csv`.
""")
    with st.expander("The scoring method, as documented in the code"):
        st.code((scoring.__doc__ or "").strip(), language=None)
    if EVALUATION.exists():
        st.divider()
        st.markdown(EVALUATION.read_text(encoding="utf-8"))
    else:
        st.info("No evaluation report yet: `make evaluate` writes docs/EVALUATION.md.")


if __name__ == "__main__":  # opened as an old-style page: see common.run_entry_point
    common.run_entry_point()
