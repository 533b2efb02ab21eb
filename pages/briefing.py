"""Briefing page: one period on one page (figures, statements, key charts, influential articles),
with the PNG, PDF and Markdown downloads the CLI writes (`python -m monitor briefing`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import streamlit as st

from monitor import analytics as A
from monitor import briefing as B
from monitor import render as R
from pages import common

PERIODS = [*B.PRESETS, "Custom"]


@st.cache_data(show_spinner=False, max_entries=32)
def _default_period(path: str, version: str, filters: A.Filters, days: int):
    with common.connect(path) as db:
        return B.default_period(db, filters, days)


@st.cache_data(show_spinner=False, max_entries=32)
def _briefing(path: str, version: str, filters: A.Filters, labels: dict, grain: str | None):
    with common.connect(path) as db:
        return B.build_briefing(db, filters, labels, grain=grain)


def _period(src: common.Source, base: A.Filters) -> tuple[dt.date, dt.date] | None:
    """The period picker: a preset ending on the newest article, or custom dates."""
    choice = st.segmented_control("Period", PERIODS, key="brief_period", default="Last quarter",
                                  help="Presets end on the newest relevant article matching the sidebar filters "
                                       "and are compared with the period of the same length before them.")
    latest = _default_period(src.path, src.version, base, B.PRESETS.get(choice or "", 91))
    if latest is None:
        return None
    if choice != "Custom":
        return latest
    picked = st.date_input("From – to", value=(latest[1] - dt.timedelta(days=90), latest[1]), key="brief_dates",
                           format="YYYY-MM-DD")
    if len(picked) < 2:
        st.caption("Pick the last day of the period.")
        return None
    return picked[0], picked[1]


def _figures(b: B.Briefing) -> None:
    cur, prev = b.figures["current"], b.figures["previous"]
    delta = None if cur["tone"] is None or prev["tone"] is None else f"{cur['tone'] - prev['tone']:+.2f}"
    cols = st.columns(4)
    cols[0].metric("Mean tone", B.fmt_tone(cur["tone"]), delta, help=f"−1 tense … +1 cooperative; {b.prev_name}: "
                   f"{B.fmt_tone(prev['tone'])}")
    cols[1].metric("Relevant articles", f"{cur['articles']:,}", f"{cur['articles'] - prev['articles']:+,}",
                   delta_color="off", help=f"{B.count(cur['stories'], 'story')}; {b.prev_name}: {prev['articles']:,}")
    for col, key, label in ((cols[2], "cooperative", "Cooperative"), (cols[3], "tense", "Tense")):
        value, before = cur[key], prev[key]
        col.metric(label, "—" if value is None else f"{value:.0%}",
                   None if value is None or before is None else f"{(value - before) * 100:+.0f} pts",
                   delta_color="normal" if key == "cooperative" else "inverse")


def _articles(b: B.Briefing) -> None:
    st.subheader("Most influential articles")
    st.caption("Weight = |tone| × confidence, one article per story; evidence sentences in the original language.")
    if not b.articles:
        st.caption("No relevant articles in this period.")
    for a in b.articles:
        with st.container(border=True):
            common.text_block(a.title, a.lang, size="1.1rem", weight=650)
            meta = " · ".join(x for x in (a.published, a.source, A.ORIGIN_NAMES.get(a.origin, a.origin),
                                          A.LANG_NAMES.get(a.lang, a.lang), b.labels.get(a.topic, a.topic or ""),
                                          f"tone {B.signed(a.tone)}", f"confidence {a.confidence:.2f}") if x)
            st.caption(common.escape(meta))
            for e in a.evidence:
                common.text_block(f"{e['text']}  ({B.signed(e['tone'])})", a.lang, size="0.95rem")


@st.cache_resource(show_spinner=False)
def _renderer(chromium: str) -> R.Renderer:
    """One Chromium for the server, started when the Briefing page is first opened, so a click
    on export pays for drawing only (Chromium and plotly.js take most of a cold export)."""
    return R.Renderer(chromium)


def _downloads(src: common.Source, b: B.Briefing, charts: list[B.Chart]) -> None:
    st.subheader("Downloads")
    st.download_button("Markdown summary", B.to_markdown(b).encode(), f"{b.slug}.md", "text/markdown",
                        key="brief_dl_md")
    try:
        renderer = _renderer(str(R.find_chromium(common.settings().chromium_path)))
    except R.ExportUnavailable as exc:
        st.info(f"PNG and PDF downloads: {exc}")
        return
    wanted = (src.version, b.filters, b.grain)
    if st.button("Prepare PNG and PDF downloads", key="brief_prepare",
                 help="Renders every chart, the whole briefing as one image and as a PDF (a few seconds)."):
        with st.spinner("Rendering the briefing…"):
            try:
                result = R.export_briefing(b, charts, renderer=renderer)
            except R.ExportError as exc:
                _renderer.clear()  # the next click starts a fresh browser
                result = str(exc)
        st.session_state["brief_export"] = (wanted, result)
    done = st.session_state.get("brief_export")
    if not done or done[0] != wanted:
        return
    result = done[1]
    if isinstance(result, str):
        st.error(result)
        return
    st.caption(f"Exported in {result.seconds:.1f} s")
    files = [(name, data) for name, data in result.files.items() if not name.endswith(".md")]
    cols = st.columns(3)
    for i, (name, data) in enumerate(files):
        if name == f"{b.slug}.png":
            label = "Whole briefing (PNG)"
        elif name == f"{b.slug}.pdf":
            label = "Whole briefing (PDF)"
        else:
            label = f"Chart: {name.removeprefix(b.slug + '-')}"
        cols[i % 3].download_button(label, data, name, "application/pdf" if name.endswith(".pdf") else "image/png",
                                    key=f"brief_dl_{i}")


def render() -> None:
    st.title("Briefing")
    src = common.page_source()
    if src is None:
        return
    labels, colors = common.taxonomy()
    base = replace(common.current_filters(), date_from=None, date_to=None)
    st.caption("The period is chosen here; the sidebar's languages, origins, sources and topics apply.")
    period = _period(src, base)
    if period is None:
        st.info("No relevant articles match these filters.")
        return
    grain = st.session_state.get("f_grain", "auto")
    b = _briefing(src.path, src.version, replace(base, date_from=period[0], date_to=period[1]), labels,
                  None if grain == "auto" else grain)
    st.subheader(f"{B.TITLE}: {b.name}")
    st.caption(common.escape(b.describe()))
    _figures(b)
    st.markdown("**Key points**")
    for i, s in enumerate(b.statements, 1):
        st.markdown(f"{i}\\. {common.escape(s.text)}")
        st.caption("based on: " + common.escape(s.basis))
    charts = B.charts(b, common.events(), colors)
    st.caption("Charts show the previous period (shaded) and the briefing period.")
    for c in charts:
        common.chart(c.fig, f"{b.slug}-{c.name}", key=f"brief_chart_{c.name}")
    if len(b.topics):
        st.markdown(f"**Topics: {common.escape(b.prev_name)} → {common.escape(b.name)}**")
        table = b.topics.assign(topic=b.topics["topic"].map(lambda t: labels.get(t, t)))
        st.dataframe(table, hide_index=True, width="stretch", key="brief_topics", column_config={
            "topic": "Main topic", "n_prev": "Articles before", "n": "Articles",
            "share_prev": st.column_config.NumberColumn("Share before", format="percent"),
            "share": st.column_config.NumberColumn("Share", format="percent"),
            "tone_prev": st.column_config.NumberColumn("Tone before", format="%+.2f"),
            "tone": st.column_config.NumberColumn("Tone", format="%+.2f"),
            "contribution": st.column_config.NumberColumn(
                "Contribution", format="%+.2f", help="Share of the selection × mean tone, now minus before; "
                                                     "the contributions add up to the change in mean tone")})
    _articles(b)
    _downloads(src, b, charts)


if __name__ == "__main__":  # opened as an old-style page: see common.run_entry_point
    common.run_entry_point()
