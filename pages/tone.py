"""Tone page: the relations tone over time, overall, by language and by press origin."""

from __future__ import annotations

import streamlit as st

from monitor import analytics as A
from monitor import charts as C
from pages import common


def render() -> None:
    st.title("Tone over time")
    src = common.page_source()
    if src is None:
        return
    filters = common.current_filters()
    # From the column snapshot (monitor.facts), like the Overview: never article by article.
    grain = common.grain_for(src, filters)
    as_of = common.coverage_end(src, filters)
    overall = common.agg(src, "tone_series", filters, grain, as_of=as_of)
    if overall.empty:
        st.info("No relevant articles match these filters.")
        return
    sub = common.subtitle(src, filters, grain)
    st.caption("Tone runs from −1 (tense) to +1 (cooperative). Bands: 95% confidence of the period mean; "
               f"hollow points rest on fewer than {A.FEW} articles; a dotted end is a period still running.")

    version = (src.version, filters, grain, as_of)
    fig = common.figure(("tone-overall", *version),
                        lambda: C.tone_timeline(overall, grain=grain, subtitle=sub, events=common.events()))
    event = common.chart(fig, "tone-overall", key="tone_overall", selectable=True)
    common.articles_behind_db(src, event, fig, filters, grain, None, key="tone_overall_behind")

    for by, title, name in (("lang", "Tone by language of publication", "tone-by-language"),
                            ("source_country", "Tone by press origin", "tone-by-origin")):
        series = common.agg(src, "tone_series", filters, grain, by=by, as_of=as_of)
        fig = common.figure((name, *version), lambda: C.tone_by_group(
            series, by, grain=grain, title=title, subtitle=sub, events=common.events()))
        event = common.chart(fig, name, key=f"tone_{by}", selectable=True)
        common.articles_behind_db(src, event, fig, filters, grain, by, key=f"tone_{by}_behind")

    with st.expander("Table: tone per period"):
        table = overall.assign(period=overall["period"].dt.date, period_end=overall["period_end"].dt.date)
        st.dataframe(table.round(3), hide_index=True, width="stretch", key="tone_table")
        st.download_button("Download CSV", table.to_csv(index=False).encode(), "tone-per-period.csv",
                           "text/csv", key="tone_csv")


if __name__ == "__main__":  # opened as an old-style page: see common.run_entry_point
    common.run_entry_point()
