"""Topics page: what the coverage is about, and the tone of each topic over time."""

from __future__ import annotations

import streamlit as st

from monitor import charts as C
from pages import common


def render() -> None:
    st.title("Topics")
    src = common.page_source()
    if src is None:
        return
    filters = common.current_filters()
    labels, colors = common.taxonomy()
    # Shares are of all relevant articles, so count without the topic filter and pick topics after.
    # Everything comes from the column snapshot (monitor.facts), never article by article.
    everything = filters.without_topics()
    chosen = list(filters.topics) or None
    grain = common.grain_for(src, everything)
    as_of = common.coverage_end(src, filters)
    share = common.agg(src, "topic_share", everything, grain, chosen, as_of=as_of)
    if share.empty:
        st.info("No relevant articles match these filters.")
        return
    sub = common.subtitle(src, everything, grain)
    st.caption("Each relevant article has one main topic (its highest topic score). "
               "Shares are of all relevant articles in the period, after the other filters.")

    version = (src.version, filters, grain, as_of)
    fig = common.figure(("topic-share", *version), lambda: C.topic_share_chart(
        share, grain=grain, subtitle=sub, labels=labels, colors=colors))
    event = common.chart(fig, "topic-share", key="topics_share", selectable=True)
    common.articles_behind_db(src, event, fig, everything, grain, "top_topic", key="topics_share_behind")

    summary = common.agg(src, "topic_summary", everything)
    if chosen:
        summary = summary[summary["topic"].isin(chosen)]
    fig = common.figure(("topic-totals", *version), lambda: C.topic_bars(
        summary, title="Articles by main topic", subtitle=common.subtitle(src, everything),
        labels=labels, colors=colors))
    common.chart(fig, "topic-totals", key="topics_bars")
    with st.expander("Table: topics in the selection"):
        table = summary.assign(topic=summary["topic"].map(lambda t: labels.get(t, t)))
        st.dataframe(table.round(3), hide_index=True, width="stretch", key="topics_table",
                     column_config={"topic": "Topic", "n": "Articles",
                                    "share": st.column_config.NumberColumn("Share", format="percent"),
                                    "tone": st.column_config.NumberColumn("Mean tone", format="%+.2f"),
                                    "tense": st.column_config.NumberColumn("Tense", format="percent"),
                                    "cooperative": st.column_config.NumberColumn("Cooperative", format="percent")})

    series = common.agg(src, "topic_tone_series", filters, grain, as_of=as_of)
    fig = common.figure(("tone-by-topic", *version), lambda: C.topic_tone_grid(
        series, grain=grain, subtitle=sub, labels=labels, colors=colors))
    event = common.chart(fig, "tone-by-topic", key="topics_tone", selectable=True)
    common.articles_behind_db(src, event, fig, filters, grain, "top_topic", key="topics_tone_behind")


if __name__ == "__main__":  # opened as an old-style page: see common.run_entry_point
    common.run_entry_point()
