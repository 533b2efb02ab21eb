"""Topics page: what the coverage is about, and the tone of each topic over time."""

from __future__ import annotations

import streamlit as st

from monitor import analytics as A
from monitor import charts as C
from pages import common


def render() -> None:
    st.title("Topics")
    src = common.page_source()
    if src is None:
        return
    filters = common.current_filters()
    labels, colors = common.taxonomy()
    # Shares are of all relevant articles, so load without the topic filter and pick topics after.
    everything = common.q(src, "load_articles", filters.without_topics())
    if everything.empty:
        st.info("No relevant articles match these filters.")
        return
    chosen = list(filters.topics) or None
    df = everything[everything["top_topic"].isin(chosen)] if chosen else everything
    grain = common.grain_for(everything)
    as_of = common.q(src, "coverage_end", filters)
    sub = common.subtitle(filters, everything, grain)
    st.caption("Each relevant article has one main topic (its highest topic score). "
               "Shares are of all relevant articles in the period, after the other filters.")

    share = A.topic_share(everything, grain, chosen, as_of=as_of)
    fig = C.topic_share_chart(share, grain=grain, subtitle=sub, labels=labels, colors=colors)
    event = common.chart(fig, "topic-share", key="topics_share", selectable=True)
    common.articles_behind(event, fig, everything, grain, "top_topic", key="topics_share_behind")

    summary = A.topic_summary(everything)
    if chosen:
        summary = summary[summary["topic"].isin(chosen)]
    common.chart(C.topic_bars(summary, title="Articles by main topic",
                              subtitle=common.subtitle(filters, everything), labels=labels, colors=colors),
                 "topic-totals", key="topics_bars")
    with st.expander("Table: topics in the selection"):
        table = summary.assign(topic=summary["topic"].map(lambda t: labels.get(t, t)))
        st.dataframe(table.round(3), hide_index=True, width="stretch", key="topics_table",
                     column_config={"topic": "Topic", "n": "Articles",
                                    "share": st.column_config.NumberColumn("Share", format="percent"),
                                    "tone": st.column_config.NumberColumn("Mean tone", format="%+.2f"),
                                    "tense": st.column_config.NumberColumn("Tense", format="percent"),
                                    "cooperative": st.column_config.NumberColumn("Cooperative", format="percent")})

    series = A.topic_tone_series(df, grain, as_of=as_of)
    fig = C.topic_tone_grid(series, grain=grain, subtitle=sub, labels=labels, colors=colors)
    event = common.chart(fig, "tone-by-topic", key="topics_tone", selectable=True)
    common.articles_behind(event, fig, df, grain, "top_topic", key="topics_tone_behind")


if __name__ == "__main__":  # opened as an old-style page: see common.run_entry_point
    common.run_entry_point()
