"""Relations Monitor dashboard: `streamlit run dashboard.py` (or `make run`).

This file is the entry point and the Overview page. Navigation is st.navigation over page
functions in pages/*.py; the sidebar filters are drawn here, on every page, so they keep
their state across pages and are mirrored into the URL.
"""

from __future__ import annotations

import streamlit as st

from monitor import analytics as A
from monitor import charts as C
from pages import articles, briefing, common, data, methodology, tone, topics

st.set_page_config(page_title="Relations Monitor", page_icon=":material/public:", layout="wide")

WINDOWS = {"Last 90 days": 90, "Last 365 days": 365, "Whole selection": None}


def overview() -> None:
    st.title("Morocco–France relations in the news")
    src = common.page_source()
    if src is None:
        return
    older = common.q(src, "scored_with_older_method")
    if older:
        st.warning(f"{older:,} stored articles were scored with an older scoring method, whose classes and "
                   "topics may differ: run `python -m monitor rescore` (stored embeddings are reused).")
    filters = common.current_filters()
    labels, colors = common.taxonomy()
    window = st.segmented_control("Headline period", list(WINDOWS), key="ov_window", default="Last 365 days",
                                  help="Compared with the period of the same length just before it.")
    head: A.Headline = common.agg(src, "headline", filters, WINDOWS.get(window or "Last 365 days"))
    if head.start is None:
        st.info("No relevant articles match these filters.")
        return
    st.caption(f"{head.start} → {head.end}, compared with {head.prev_start} → {head.prev_end}")
    cols = st.columns([1, 1, 1, 1.6])  # topic names are long
    cols[0].metric("Mean tone", "—" if head.tone is None else f"{head.tone:+.2f}",
                   None if head.tone_delta is None else f"{head.tone_delta:+.2f}",
                   help="−1 tense … +1 cooperative; mean over relevant articles")
    cols[1].metric("Articles", f"{head.articles:,}", f"{head.articles - head.articles_prev:+,}",
                   delta_color="off")
    cols[2].metric("Stories", f"{head.stories:,}", f"{head.stories - head.stories_prev:+,}", delta_color="off",
                   help="Distinct stories (articles on the same event); articles not yet grouped count once each")
    cols[3].metric("Topic rising most", labels.get(head.rising_topic, "—") if head.rising_topic else "—",
                   None if head.rising_delta is None else f"{head.rising_delta * 100:+.0f} pts of share",
                   help="Largest gain in share of relevant articles against the previous period")

    # From the column snapshot (monitor.facts), never article by article: fast at 100k articles.
    grain = common.grain_for(src, filters)
    as_of = common.coverage_end(src, filters)
    series = common.agg(src, "tone_series", filters, grain, as_of=as_of)
    sub = common.subtitle(src, filters, grain)
    fig = common.figure(("ov-tone", src.version, filters, grain, as_of),
                        lambda: C.tone_timeline(series, grain=grain, subtitle=sub, events=common.events()))
    event = common.chart(fig, "relations-tone-timeline", key="ov_timeline", selectable=True)
    common.articles_behind_db(src, event, fig, filters, grain, None, key="ov_behind")

    # Topic shares need every relevant article in the denominator, whatever topics are picked.
    share = common.agg(src, "topic_share", filters.without_topics(), grain, filters.topics or None, as_of=as_of)
    fig = common.figure(("ov-share", src.version, filters, grain, as_of),
                        lambda: C.topic_share_chart(share, grain=grain, subtitle=sub, labels=labels, colors=colors))
    common.chart(fig, "relations-topic-share", key="ov_share")


def main() -> None:
    pages = [
        st.Page(overview, title="Overview", icon=":material/dashboard:", default=True),
        st.Page(tone.render, title="Tone", icon=":material/show_chart:", url_path="tone"),
        st.Page(topics.render, title="Topics", icon=":material/category:", url_path="topics"),
        st.Page(articles.render, title="Articles", icon=":material/article:", url_path="articles"),
        st.Page(briefing.render, title="Briefing", icon=":material/summarize:", url_path="briefing"),
        st.Page(methodology.render, title="Methodology", icon=":material/science:", url_path="methodology"),
        st.Page(data.render, title="Data", icon=":material/database:", url_path="data"),
    ]
    page = st.navigation(pages)
    src, message = common.find_source()
    st.session_state["source"], st.session_state["source_message"] = src, message
    if src is not None:
        common.sidebar_filters(src)
    page.run()
    common.freeze_startup_objects()


main()
