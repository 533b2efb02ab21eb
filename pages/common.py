"""Streamlit glue shared by the pages: database access, cached queries, sidebar filters,
safe rendering of article text. Pages stay thin: they call this, monitor.analytics and
monitor.charts, and lay out the result.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from monitor import analytics as A
from monitor import charts as C
from monitor import store
from monitor.facts import Facts
from monitor.text import is_rtl as text_is_rtl
from monitor.settings import PROJECT_DIR, Settings

EMPTY_HELP = ("Build the demo database with `make run` (or `python -m monitor demo`), "
              "or add your own articles with `python -m monitor ingest PATH`.")
GRAIN_NAMES = {"auto": "Automatic", "day": "Day", "week": "Week", "month": "Month", "quarter": "Quarter"}
FILTER_WIDGETS = ("f_dates", "f_langs", "f_origins", "f_sources", "f_topics", "f_grain")


@dataclass(frozen=True)
class Source:
    """Where the data is and which version of it: the cache key of every query."""

    path: str
    version: str


def run_entry_point() -> None:
    """Run dashboard.py when Streamlit executes a pages/ file as a script.

    Until st.navigation has run once in the server process, Streamlit treats a folder named
    pages/ beside the entry point as old-style pages: a deep link such as /tone opened first
    would run pages/tone.py alone (a blank page). Running the entry point instead lets
    st.navigation take over and show the requested page (same URL path, same page hash).
    """
    import runpy

    runpy.run_path(str(PROJECT_DIR / "dashboard.py"), run_name="__main__")


def settings() -> Settings:
    return Settings.from_env()


@contextlib.contextmanager
def connect(path: str):
    db = store.open_db(path, readonly=True)
    try:
        yield db
    finally:
        db.conn.close()


def find_source() -> tuple[Source | None, str]:
    """The database if it has articles, else None and what to tell the analyst."""
    path = Path(settings().db_path)
    if not path.exists():
        return None, f"No database yet at `{path}`. {EMPTY_HELP}"
    try:
        with connect(str(path)) as db:
            count = db.execute("SELECT EXISTS (SELECT 1 FROM articles)").fetchone()[0]  # COUNT(*) scans 100k rows
            version = store.data_version(db)
    except sqlite3.Error as exc:
        return None, f"The database at `{path}` cannot be read ({exc}). {EMPTY_HELP}"
    if not count:
        return None, f"The database at `{path}` has no articles yet. {EMPTY_HELP}"
    # The inode changes when the file is rebuilt, data_version on every write: together they
    # invalidate cached results exactly when the data changes.
    return Source(str(path), f"{version}:{os.stat(path).st_ino}"), ""


_frozen = False


def freeze_startup_objects() -> None:
    """Exempt everything alive after the first run (modules, the snapshot) from cyclic garbage collection.

    A full collection walks every tracked object: the ~120,000 of streamlit, pandas and plotly
    took 1.0-1.5 s a pass on the benchmark machine, and one fell inside a filter change every few
    reruns. Frozen objects are still freed by reference counting; later objects are collected as usual.
    """
    global _frozen
    if not _frozen:  # gc.get_freeze_count() would walk the frozen objects: as slow as a collection
        gc.freeze()
        _frozen = True


def page_source() -> Source | None:
    """For a page: the database found by the entry point, or an explanation (never a traceback)."""
    src = st.session_state.get("source")
    if src is None:
        st.info(st.session_state.get("source_message") or EMPTY_HELP)
    return src


@st.cache_data(show_spinner=False, max_entries=256)
def query(name: str, path: str, version: str, *args, **kwargs):
    """Any monitor.analytics function taking a database first, cached per data version."""
    with connect(path) as db:
        return getattr(A, name)(db, *args, **kwargs)


def q(src: Source, name: str, *args, **kwargs):
    return query(name, src.path, src.version, *args, **kwargs)


def coverage_end(src: Source, filters: A.Filters) -> dt.date:
    """monitor.analytics.coverage_end: it depends on the end date alone, so a change of language or
    topic reuses the cached answer instead of opening the database."""
    return q(src, "coverage_end", A.Filters(date_to=filters.date_to))


@st.cache_resource(show_spinner=False, max_entries=2)
def _facts(path: str, version: str) -> Facts:
    """The column snapshot behind every chart, read once per data version.

    A resource, not cache_data: it is immutable (read-only arrays) and copying its ~5 MB at
    100k articles on every use would cost more than the aggregates computed from it.
    """
    with connect(path) as db:
        return Facts.load(db)


@st.cache_data(show_spinner=False, max_entries=256)
def _aggregate(name: str, path: str, version: str, *args, **kwargs):
    return getattr(_facts(path, version), name)(*args, **kwargs)


def agg(src: Source, name: str, *args, **kwargs):
    """A monitor.facts.Facts aggregate (tone_series, topic_share, headline...), cached per data version."""
    return _aggregate(name, src.path, src.version, *args, **kwargs)


@st.cache_data(show_spinner=False)
def events() -> pd.DataFrame:
    return C.load_events(settings().events_path)


@st.cache_data(show_spinner=False)
def taxonomy() -> tuple[dict, dict]:
    """Topic labels and colours."""
    path = settings().taxonomy_path
    return C.topic_labels(path), C.topic_colors(path)


# --- filters ------------------------------------------------------------------------------

def _clamp(day: dt.date | None, lo: dt.date, hi: dt.date, default: dt.date) -> dt.date:
    return default if day is None else min(max(day, lo), hi)


def _init_from_url(options: dict) -> None:
    """First run of a session: widget state from the URL, so a shared link reopens the view."""
    params = {k: st.query_params.get_all(k) for k in (*A.Filters.QUERY_KEYS, "grain")}
    f = A.Filters.from_query_params(params)
    lo, hi = options["date_min"], options["date_max"]
    st.session_state["f_dates"] = (_clamp(f.date_from, lo, hi, lo), _clamp(f.date_to, lo, hi, hi))
    # Values the widgets do not offer (a stale link) are dropped instead of raising.
    st.session_state["f_langs"] = [x for x in f.langs if x in options["langs"]]
    st.session_state["f_origins"] = list(f.origins)
    st.session_state["f_sources"] = [x for x in f.sources if x in set(options["sources"]["source"])]
    st.session_state["f_topics"] = [x for x in f.topics if x in taxonomy()[0]]
    grain = (params.get("grain") or ["auto"])[-1]
    st.session_state["f_grain"] = grain if grain in GRAIN_NAMES else "auto"


def _follow_data_dates(lo: dt.date, hi: dt.date) -> None:
    """Keep the date widget valid when the data's range changes during a session.

    Only acts when the bounds moved or a value fell outside them (the widget raises on those),
    so a range being picked is never touched. A range that reached the old newest date grows
    with the new data.
    """
    old, st.session_state["f_bounds"] = st.session_state.get("f_bounds"), (lo, hi)
    picked = tuple(st.session_state.get("f_dates") or ())
    outside = any(d < lo or d > hi for d in picked)
    if not picked or (old in (None, (lo, hi)) and not outside):
        return
    start = lo if old and picked[0] == old[0] else _clamp(picked[0], lo, hi, lo)
    end = hi if old and picked[-1] == old[1] else _clamp(picked[-1], lo, hi, hi)
    st.session_state["f_dates"] = (start, end) if len(picked) > 1 else (start,)


def _reset() -> None:
    for key in FILTER_WIDGETS:
        st.session_state.pop(key, None)
    st.session_state.pop("filters_ready", None)
    st.query_params.clear()


def sidebar_filters(src: Source) -> A.Filters:
    """Filter widgets in the sidebar (rendered on every page, so the state carries over)."""
    options = agg(src, "filter_options")
    labels = taxonomy()[0]
    if not st.session_state.get("filters_ready"):
        _init_from_url(options)
        st.session_state["filters_ready"] = True
    lo, hi = options["date_min"], options["date_max"]
    _follow_data_dates(lo, hi)
    sb = st.sidebar
    sb.header("Filters")
    dates = sb.date_input("Published between", key="f_dates", min_value=lo, max_value=hi,
                          format="YYYY-MM-DD")
    sb.multiselect("Languages", options["langs"], key="f_langs", placeholder="All languages",
                   format_func=lambda x: A.LANG_NAMES.get(x, x))
    sb.multiselect("Press origin", list(A.ORIGINS), key="f_origins", placeholder="All origins",
                   format_func=lambda x: A.ORIGIN_NAMES.get(x, x))
    src_origin = dict(zip(options["sources"]["source"], options["sources"]["origin"]))
    sb.multiselect("Sources", list(src_origin), key="f_sources", placeholder="All sources",
                   format_func=lambda x: f"{x} ({src_origin.get(x, '?')})")
    sb.multiselect("Main topic", list(labels), key="f_topics", placeholder="All topics",
                   format_func=lambda x: labels.get(x, x))
    sb.selectbox("Time step", list(GRAIN_NAMES), key="f_grain", format_func=GRAIN_NAMES.get,
                 help="Automatic picks the finest step with about 10 articles per period.")
    sb.button("Reset filters", key="f_reset", on_click=_reset)

    # While a range is being picked the widget holds one date: keep the other end open.
    start = dates[0] if len(dates) > 0 else lo
    end = dates[1] if len(dates) > 1 else hi
    filters = A.Filters(
        date_from=start if start > lo else None,  # full range: stay open so new data shows up
        date_to=end if end < hi else None,
        langs=st.session_state["f_langs"], origins=st.session_state["f_origins"],
        sources=st.session_state["f_sources"], topics=st.session_state["f_topics"],
    )
    st.session_state["filters"] = filters
    _sync_url(filters)
    return filters


def _sync_url(filters: A.Filters) -> None:
    """Mirror the filters into the URL, leaving page parameters (e.g. article) alone."""
    wanted = filters.to_query_params()
    if st.session_state.get("f_grain", "auto") != "auto":
        wanted["grain"] = st.session_state["f_grain"]
    for key in (*A.Filters.QUERY_KEYS, "grain"):
        current = st.query_params.get_all(key)
        value = wanted.get(key)
        target = [] if value is None else ([value] if isinstance(value, str) else list(value))
        if current != target:
            if target:
                st.query_params[key] = target if len(target) > 1 else target[0]
            else:
                del st.query_params[key]


def current_filters() -> A.Filters:
    return st.session_state.get("filters", A.Filters())


def grain_for(src: Source, filters: A.Filters) -> str:
    """The time step picked in the sidebar, or the one suggested for the selection's volume."""
    grain = st.session_state.get("f_grain", "auto")
    return agg(src, "suggest_grain", filters) if grain == "auto" else grain


@st.cache_resource(show_spinner=False, max_entries=64)
def _figure(key: str, _build):
    return _build()


def figure(key: tuple, build):
    """A figure built once per key (include the data version and everything it depends on).

    Building a plotly figure costs more than its query here; kept as a resource (not copied),
    reruns reuse it. Figures are never changed after they are built.
    """
    return _figure(repr(key), build)


def subtitle(src: Source, filters: A.Filters, grain: str | None = None) -> str:
    """Chart subtitle: the selection, its dates (the data's own when the filter leaves them open), the step."""
    step = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly"}.get(grain or "", "")
    return C.describe([filters.describe(taxonomy()[0]), A.date_span(filters, *agg(src, "date_span", filters)), step])


# --- charts -------------------------------------------------------------------------------

def chart(fig, name: str, key: str, selectable: bool = False):
    """Render a figure in the house theme (Streamlit's theme off) with a named PNG export."""
    return st.plotly_chart(fig, width="stretch", theme=None, key=key, config=C.config_for(name),
                           on_select="rerun" if selectable else "ignore", selection_mode="points")


def clicked(event, fig) -> tuple[str, object] | None:
    """(period ISO date, group) of the clicked point, from the customdata the charts attach."""
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    for point in points:
        data = point.get("customdata")
        if data is None:  # older front ends: look it up on the trace
            trace = fig.data[point.get("curve_number", 0)]
            index = point.get("point_index", point.get("point_number"))
            if trace.customdata is not None and index is not None:
                data = trace.customdata[index]
        if data is not None and len(data) >= 2 and data[0]:
            return str(data[0]), data[1]
    return None


def articles_behind(event, fig, df: pd.DataFrame, grain: str, by: str | None, key: str) -> None:
    """Below a timeline: the articles of the clicked period (and group), with details on pick."""
    _behind(event, fig, grain, by, key, lambda period, group: A.articles_in_period(df, period, grain, by, group))


def articles_behind_db(src: Source, event, fig, filters: A.Filters, grain: str, by: str | None, key: str) -> None:
    """articles_behind for charts built from SQL aggregates: the clicked period's articles by query."""
    _behind(event, fig, grain, by, key,
            lambda period, group: q(src, "articles_in_period_db", filters, period, grain, by, group))


def _behind(event, fig, grain: str, by: str | None, key: str, find) -> None:
    hit = clicked(event, fig)
    if not hit:
        st.caption("Click a point (or a bar) to list the articles behind it.")
        return
    period, group = hit
    rows = find(period, group)
    what = C.period_label(period, grain)
    if by and group is not None:
        names = A.LANG_NAMES if by == "lang" else A.ORIGIN_NAMES if by == "source_country" else taxonomy()[0]
        what += f" · {names.get(group, group)}"
    st.markdown(f"**{len(rows)} article{'s' if len(rows) != 1 else ''} behind {escape(what)}**")
    picked = article_table(rows, key=f"{key}_table", height=320)
    if picked is not None:
        with st.container(border=True):
            article_view(st.session_state.get("source"), picked)


# --- article text, always escaped ---------------------------------------------------------

# HTML specials and every character Markdown or Streamlit's extensions could act on become
# numeric entities, in one pass: escaped text can never turn into a tag, a link, an image,
# maths, a colour directive or an icon.
_ENTITIES = {c: f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-!|:$~"}


def is_rtl(text: str, lang: str | None = None) -> bool:
    return lang == "ar" or text_is_rtl((text or "")[:400])


def escape(text: str) -> str:
    """Plain text to inert HTML: entities for markup characters, line breaks kept."""
    escaped = "".join(_ENTITIES.get(c, c) for c in (text or "") if c != "\r")
    return escaped.replace("\n", "<br>")


def text_block(text: str, lang: str | None = None, size: str = "1rem", weight: int = 400) -> None:
    """Article text as escaped HTML; right-to-left only around Arabic text."""
    direction = "rtl" if is_rtl(text, lang) else "ltr"
    align = "right" if direction == "rtl" else "left"
    st.markdown(f'<div dir="{direction}" style="text-align:{align};font-size:{size};font-weight:{weight};'
                f'line-height:1.6">{escape(text)}</div>', unsafe_allow_html=True)


# --- article table and detail -------------------------------------------------------------

def table_frame(df: pd.DataFrame) -> pd.DataFrame:
    labels = taxonomy()[0]
    # Tone and topic first: at 1280 px the columns after the title may be off screen.
    out = pd.DataFrame({
        "Published": df["published"].dt.date if len(df) else [],
        "Tone": df["tone"].round(2),
        "Title": df["title"],
        "Main topic": df["top_topic"].map(lambda t: labels.get(t, t) if isinstance(t, str) else ""),
        "Source": df["source"],
        "Lang": df["lang"],
        "Origin": df["source_country"],
        "Class": df["tone_class"],
    })
    if "low_confidence" in df:
        out["Unsure"] = df["low_confidence"].astype(bool).to_numpy()
    # Search results: why it matched goes next to the title, where it is seen.
    for extra, name, at in (("sentence", "Closest sentence", 3), ("snippet", "Match", 3), ("similarity", "Similarity", 1)):
        if extra in df and df[extra].notna().any():
            out.insert(at, name, df[extra].to_numpy())
    return out.reset_index(drop=True)


def article_table(df: pd.DataFrame, key: str, height: int = 420) -> int | None:
    """Articles as a table; returns the id of the selected row."""
    if df.empty:
        st.caption("No articles.")
        return None
    height = min(height, 38 + 35 * len(df))  # no empty rows under a short result
    event = st.dataframe(
        table_frame(df), key=key, height=height, hide_index=True, width="stretch",
        on_select="rerun", selection_mode="single-row",
        column_config={
            "Tone": st.column_config.NumberColumn(format="%+.2f", help="−1 tense … +1 cooperative"),
            "Title": st.column_config.TextColumn(width="large"),
            "Unsure": st.column_config.CheckboxColumn(help="Low confidence: read the evidence"),
            "Similarity": st.column_config.NumberColumn(format="%.3f"),
        })
    rows = event.selection.rows if event and event.selection else []
    return int(df.iloc[rows[0]]["id"]) if rows else None


def article_view(src: Source | None, article_id: int) -> None:
    """Tone, topics, evidence sentences with scores, all sentences, and the source link."""
    if src is None:
        return
    detail = q(src, "article_detail", int(article_id))
    if detail is None:
        st.warning(f"Article {article_id} is not in the database.")
        return
    a = detail["article"]
    labels, colors = taxonomy()
    text_block(a["title"], a["lang"], size="1.35rem", weight=650)
    meta = " · ".join(str(x) for x in (a.get("published"), a.get("source"), a.get("source_country"),
                                        A.LANG_NAMES.get(a["lang"], a["lang"])) if x)
    st.caption(escape(meta))  # source names come from feeds: never Markdown
    url = a.get("url") or ""
    if url.startswith(("http://", "https://")):
        st.link_button("Open the original article", url)
    cols = st.columns([1, 1.3, 1, 2])  # topic names are long
    cols[0].metric("Tone", "—" if a["tone"] is None else f"{a['tone']:+.2f}")
    cols[1].metric("Class", a.get("tone_class") or "—")
    cols[2].metric("Confidence", "—" if a["confidence"] is None else f"{a['confidence']:.2f}",
                   help="Low confidence: few relevant sentences, disagreement, or tone near a class boundary")
    cols[3].metric("Main topic", labels.get(a.get("top_topic"), a.get("top_topic") or "—"))
    if not a.get("relevant"):
        st.info("Scoring judged this article not about the Morocco–France relationship: "
                "its tone is not counted in any chart.")
    elif detail["shares"]:
        st.caption("Class shares (the class is the largest; tone = cooperative − tense): "
                   + " · ".join(f"{name} {value:.0%}" for name, value in detail["shares"].items()))

    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Evidence: the sentences that weigh most on the tone**")
        if not detail["evidence"]:
            st.caption("No sentence carried a clear tone.")
        for ev in detail["evidence"]:
            with st.container(border=True):
                st.caption(f"tone {ev.get('tone', 0):+.2f} · relevance {ev.get('relevance', 0):.2f} · "
                           f"weight {ev.get('weight', 0):.0%}")
                text_block(ev.get("text", ""), a["lang"])
                if ev.get("neighbours"):
                    with st.expander("Closest labelled statements (they weigh on this sentence's tone)"):
                        for near in ev["neighbours"]:
                            st.caption(f"{near['label']} · similarity {near['similarity']:.2f}")
                            text_block(near["text"], near["lang"], size="0.9rem")
    with right:
        if len(detail["topics"]):
            chart(C.article_topics_chart(detail["topics"], labels, colors), f"article-{article_id}-topics",
                  key=f"topics_{article_id}")
    st.markdown("**Sentences**")
    sentences = detail["sentences"].rename(columns={"position": "#", "text": "Sentence", "relevance": "Relevance",
                                                    "tone": "Tone", "scored": "Scored"})
    sentences["Scored"] = sentences["Scored"].astype(bool)
    st.dataframe(sentences, hide_index=True, width="stretch", key=f"sentences_{article_id}",
                 height=min(38 + 35 * len(sentences), 420),
                 column_config={"Tone": st.column_config.NumberColumn(format="%+.2f"),
                                "Relevance": st.column_config.NumberColumn(format="%.2f"),
                                "Sentence": st.column_config.TextColumn(width="large")})
    with st.expander("Full text"):
        text_block(a["text"], a["lang"])
