"""Data page: what is in the database (by source, language, month), the last ingest, failures."""

from __future__ import annotations

import streamlit as st

from monitor import analytics as A
from monitor import charts as C
from pages import common


def _when(stamp: str | None) -> str:
    """'2026-11-29T02:03:07+00:00' → '2026-11-29 02:03 UTC'."""
    text = str(stamp or "")
    return text[:16].replace("T", " ") + (" UTC" if text.endswith("+00:00") else "")


def render() -> None:
    st.title("Data")
    src = common.page_source()
    if src is None:
        return
    st.caption("The whole database, whatever the filters.")
    info = common.q(src, "summary")
    cols = st.columns(4)
    cols[0].metric("Articles", f"{info['articles']:,}")
    cols[1].metric("Relevant", f"{info['relevant']:,}", help="About the Morocco–France relationship")
    cols[2].metric("Sources", f"{info['sources']:,}")
    cols[3].metric("Languages", f"{info['langs']:,}")
    st.markdown(f"**Published:** {info['date_min']} → {info['date_max']}")

    last = common.q(src, "last_run")
    if last:
        st.markdown(f"**Last ingest:** `{last['command']}` started {_when(last['started_at'])}, "
                    f"finished {_when(last['finished_at']) if last['finished_at'] else 'not finished (interrupted or running)'} — "
                    f"{last['ingested']} new, {last['updated']} updated, {last['present']} already present, "
                    f"{last['failed']} failed.")
    span = f"{info['date_min']} → {info['date_max']}"
    left, right = st.columns(2)
    with left:
        common.chart(C.count_bars(common.q(src, "counts_by", "source"), "source", title="Articles by source",
                                  subtitle=f"All articles · {span}"), "articles-by-source", key="data_sources")
    with right:
        common.chart(C.count_bars(common.q(src, "counts_by", "lang"), "lang", title="Articles by language",
                                  subtitle=f"All articles · {span}", names=A.LANG_NAMES),
                     "articles-by-language", key="data_langs")
        common.chart(C.count_bars(common.q(src, "counts_by", "origin"), "origin", title="Articles by press origin",
                                  subtitle=f"All articles · {span}", names=A.ORIGIN_NAMES),
                     "articles-by-origin", key="data_origins")
    months = common.q(src, "counts_by", "month")
    common.chart(C.count_bars(months, "month", title="Articles by month of publication",
                              subtitle=f"All articles · {span}", horizontal=False),
                 "articles-by-month", key="data_months")

    st.subheader("Failures")
    reasons = common.q(src, "failure_reasons")
    if reasons.empty:
        st.success("No record failed to load.")
    else:
        st.dataframe(reasons, hide_index=True, width="stretch", key="data_reasons")
        st.dataframe(common.q(src, "failures"), hide_index=True, width="stretch", key="data_failures",
                     column_config={"reason": st.column_config.TextColumn(width="large")})
    with st.expander("Ingest runs"):
        st.dataframe(common.q(src, "runs"), hide_index=True, width="stretch", key="data_runs")


if __name__ == "__main__":  # opened as an old-style page: see common.run_entry_point
    common.run_entry_point()
