"""Plotly figures for the dashboard, in one house style.

Every figure says what it shows (title), for what selection (subtitle), how many articles it
rests on and where it comes from (note under the plot), so a screenshot or an exported PNG
stands on its own. Topic colours come from data/taxonomy.json and are the same everywhere.
Tone axes are fixed to the whole scale [-1, 1] with the class bands drawn, so two charts
can be compared by eye and a small wobble never looks like a swing.

Honesty marks: a period resting on fewer than 3 articles has a hollow marker; a period that
is still running (or cut by the date filter) is drawn dotted and hatched, and named in the
legend and hover, rather than shown as a drop in volume or tone; a line or band never bridges
periods without articles.

Figures are composed as plain dicts (:class:`Canvas`) and made into a plotly Figure once, at
the end: plotly's object model re-validates on every update and was the slowest part of the
dashboard at 100k articles.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import math
import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .analytics import FEW, LANG_NAMES, ORIGIN_NAMES
from .settings import Settings

FONT = "Inter, 'Segoe UI', 'Noto Sans', 'Noto Sans Arabic', 'DejaVu Sans', Arial, sans-serif"
INK = "#1f2430"
MUTED = "#6b7280"
ACCENT = "#23395d"  # overall tone line: dark navy, distinct from every topic colour
SOURCE_NOTE = "Source: Relations Monitor"

# Shading of the tone axis, a reading guide for a period's mean tone. An article's class comes from its
# shares (monitor/scoring.py); in cross-validation 93% of the statements classed cooperative had a tone
# above +0.25, 93% of those classed tense one below −0.25, and 80% of those classed mixed one between.
COOPERATIVE_AT, TENSE_AT = 0.25, -0.25
BANDS = [
    (-1.0, TENSE_AT, "Tense", "#fbe3e1", "#b42318"),
    (TENSE_AT, COOPERATIVE_AT, "Mixed", "#f2f3f5", "#6b7280"),
    (COOPERATIVE_AT, 1.0, "Cooperative", "#e3f4e6", "#1e7b34"),
]
LANG_COLORS = {"ar": "#0f766e", "fr": "#4f46e5", "en": "#d97706"}
# Press origin: Moroccan red, French blue, grey for international.
ORIGIN_COLORS = {"MA": "#c1272d", "FR": "#1d4ed8", "INT": "#4b5563", "unknown": "#a3a3a3"}
EVENT_COLORS = {"cooperative": "#1e7b34", "tense": "#b42318", "context": "#6b7280"}
MARGIN_TOP, MARGIN_BOTTOM = 136, 86  # room for title, subtitle and a two-row legend; the note
STRIP_PX = 140  # event strip: fits a 24-character label at 10 px
FALLBACK = ["#0ea5e9", "#a855f7", "#84cc16", "#f43f5e", "#14b8a6", "#f59e0b"]

_TEMPLATE = go.layout.Template(layout=dict(
    font=dict(family=FONT, size=13, color=INK),
    title=dict(font=dict(size=19, color=INK), x=0.01, xanchor="left", y=0.97, yanchor="top",
               subtitle=dict(font=dict(size=13, color=MUTED))),
    paper_bgcolor="white", plot_bgcolor="white",
    colorway=["#23395d", "#c1272d", "#1d4ed8", "#d97706", "#0f766e", "#7c3aed"],
    xaxis=dict(showgrid=False, linecolor="#c9ced6", ticks="outside", tickcolor="#c9ced6", zeroline=False),
    yaxis=dict(gridcolor="#eceef1", zeroline=False, linecolor="#c9ced6"),
    # traceorder "normal": with legend groups plotly would stack ungrouped keys in a column.
    legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom", font=dict(size=12),
                bgcolor="rgba(255,255,255,0)", traceorder="normal"),
    hoverlabel=dict(font=dict(family=FONT, size=13), bgcolor="white"),
    margin=dict(l=64, r=24, t=MARGIN_TOP, b=MARGIN_BOTTOM),
    hovermode="closest",
))


# --- shared pieces ------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _taxonomy(path: str):
    from .taxonomy import load_taxonomy

    return load_taxonomy(Path(path))


def topic_colors(path: Path | None = None) -> dict[str, str]:
    return _taxonomy(str(path or Settings().taxonomy_path)).colors()


def topic_labels(path: Path | None = None, lang: str = "en") -> dict[str, str]:
    return _taxonomy(str(path or Settings().taxonomy_path)).labels(lang)


def plain(text) -> str:
    """Data text (source names) for plotly labels, which understand a little HTML: make it inert."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rgba(color: str, alpha: float) -> str:
    color = color.lstrip("#")
    r, g, b = (int(color[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# Chart data goes to plotly as numpy arrays: plotly deep-copies every trace, and copying a list
# of Timestamps or of small lists costs ~100x more than copying one array (measured: the topic
# mix at 100k articles took 1.6 s to build, 0.3 s with arrays).

def columns(df: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Columns of a period series as numpy arrays, oldest period first.

    Traces are built from arrays: pandas indexing costs milliseconds a call on this machine,
    and a chart makes hundreds of them.
    """
    df = df.sort_values("period", kind="stable")
    return {name: df[name].to_numpy() for name in names}


def midpoints(cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """Middle of each period: a quarter's point and bar sit over the quarter, not at its first day."""
    start, end = cols["period"], cols["period_end"]
    return start + (end + np.timedelta64(1, "D") - start) / 2


def widths_ms(cols: Mapping[str, np.ndarray], share: float = 0.86) -> np.ndarray:
    """Bar widths on a date axis (milliseconds): the period's length, with a small gap."""
    days = (cols["period_end"] - cols["period"]) / np.timedelta64(1, "D") + 1
    return share * days * 86_400_000.0


def _iso_days(dates: np.ndarray) -> list[str]:
    return np.datetime_as_string(dates.astype("datetime64[D]"), unit="D").tolist()


def table(*columns) -> np.ndarray:
    """Per-point customdata as one object array (see above), one column per argument (a scalar fills its column)."""
    size = max((len(c) for c in columns if isinstance(c, (list, np.ndarray))), default=0)
    out = np.empty((size, len(columns)), dtype=object)
    for j, values in enumerate(columns):
        if isinstance(values, np.ndarray) and values.dtype != object:
            values = values.tolist()  # Python ints and strs, not numpy scalars, as before
        out[:, j] = values if isinstance(values, (list, np.ndarray)) else [values] * size
    return out


def period_label(ts, grain: str) -> str:
    return _label(pd.Timestamp(ts).strftime("%Y-%m-%d"), grain)


def period_labels(periods: np.ndarray, grain: str) -> list[str]:
    """period_label of each period of a datetime64 array (charts label hundreds of points a rerun)."""
    return [_label(day, grain) for day in _iso_days(periods)]


@functools.lru_cache(maxsize=8192)
def _label(day: str, grain: str) -> str:
    date = dt.date.fromisoformat(day)
    if grain == "quarter":
        return f"Q{(date.month - 1) // 3 + 1} {date.year}"
    if grain == "month":
        return date.strftime("%b %Y")
    if grain == "week":
        return "week of " + date.strftime("%d %b %Y").lstrip("0")
    return date.strftime("%d %b %Y").lstrip("0")


# --- figures as plain dicts ---------------------------------------------------------------
#
# Figures are composed as plain dicts and handed to plotly once: building them through
# plotly's object model (add_trace, update_layout, update_yaxes...) re-validated every
# property on every call and took 0.5-2 s a chart here; one go.Figure(spec) takes 5-120 ms.


@functools.lru_cache(maxsize=32)
def _grid(rows: int, cols: int, options: tuple) -> tuple[dict, dict]:
    """Axis layout and per-cell axis references of make_subplots(rows, cols, **options)."""
    fig = make_subplots(rows=rows, cols=cols, **dict(options))
    layout = fig.to_dict()["layout"]
    layout.pop("template", None)
    refs = {}
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            sub = fig.get_subplot(r, c)
            refs[(r, c)] = (sub.xaxis.plotly_name.replace("axis", ""), sub.yaxis.plotly_name.replace("axis", ""))
    return layout, refs


def _merge(target: dict, updates: dict) -> dict:
    """Nested update, as plotly's update_* does: dicts merge, anything else replaces."""
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
    return target


class Canvas:
    """A figure being composed: traces, layout, shapes and annotations as plain dicts."""

    def __init__(self, rows: int | None = None, cols: int = 1, **subplots):
        if rows is None:
            self.layout, self.refs = {}, {}
        else:
            layout, self.refs = _grid(rows, cols, tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                                                               for k, v in subplots.items())))
            self.layout = copy.deepcopy(layout)
        self.data: list[dict] = []
        self.shapes: list[dict] = []
        self.annotations: list[dict] = self.layout.pop("annotations", [])

    def add(self, trace: dict, row: int | None = None, col: int | None = None) -> None:
        if row is not None:
            x, y = self.refs[(row, col)]
            trace = {**trace, "xaxis": x, "yaxis": y}
        self.data.append(trace)

    def ref(self, axis: str, row: int, col: int) -> str:
        """'x3' style reference of the axis in subplot (row, col)."""
        return self.refs[(row, col)][0 if axis == "x" else 1]

    def axis(self, axis: str, row: int | None = None, col: int | None = None, **updates) -> None:
        """Update the axis of one cell, or every axis of that letter (row None)."""
        if row is None:
            names = [k for k in self.layout if re.fullmatch(f"{axis}axis\\d*", k)] or [f"{axis}axis"]
        else:
            names = [f"{axis}axis{self.ref(axis, row, col)[1:]}"]
        for name in names:
            _merge(self.layout.setdefault(name, {}), copy.deepcopy(updates))

    def domain(self, axis_ref: str) -> list[float]:
        return self.layout[axis_ref[0] + "axis" + axis_ref[1:]]["domain"]


def finish(canvas: Canvas, title: str, subtitle: str = "", n: int | None = None, note: str = "",
           height: int = 460, source_note: bool = True) -> go.Figure:
    """Apply the house style (title, subtitle, the article-count and source note); make the figure."""
    if source_note:
        parts = []
        if n is not None:
            parts.append(f"{n:,} article{'s' if n != 1 else ''}")
        if note:
            parts.append(note)
        parts.append(SOURCE_NOTE)
        # yshift in pixels keeps the note clear of tick labels at any figure height.
        canvas.annotations.append(dict(text=" · ".join(parts), xref="paper", yref="paper", x=0, y=0,
                                       xanchor="left", yanchor="top", yshift=-42, showarrow=False,
                                       font=dict(size=11, color=MUTED), align="left"))
    layout = dict(canvas.layout, template=_TEMPLATE, height=height,
                  title=dict(text=f"<b>{title}</b>", subtitle=dict(text=subtitle)))
    if canvas.shapes:
        layout["shapes"] = canvas.shapes
    if canvas.annotations:
        layout["annotations"] = canvas.annotations
    # Not validated here (40-120 ms a chart on this machine): tests build every chart through
    # plotly's validation (tests/test_dashboard.py::test_every_chart_is_valid_plotly).
    return go.Figure(dict(data=canvas.data, layout=layout), _validate=False)


def _tone_axis(canvas: Canvas, row: int, col: int, labels: bool = True, title: str = "Tone") -> None:
    """Fixed [-1, 1] axis with the three class bands and, once per plot, their names."""
    x, y = canvas.ref("x", row, col), canvas.ref("y", row, col)
    for lo, hi, name, fill, ink in BANDS:
        canvas.shapes.append(dict(type="rect", xref=f"{x} domain", x0=0, x1=1, yref=y, y0=lo, y1=hi,
                                  fillcolor=fill, line=dict(width=0), layer="below"))
        if labels:
            canvas.annotations.append(dict(text=name, x=1, xanchor="right", y=(lo + hi) / 2, yanchor="middle",
                                           xref=f"{x} domain", yref=y, showarrow=False,
                                           font=dict(size=11, color=ink), opacity=0.9))
    ticks = [-1, -0.5, TENSE_AT, 0, COOPERATIVE_AT, 0.5, 1]
    canvas.axis("y", row, col, range=[-1, 1], tickvals=ticks,
                ticktext=[f"{t:+g}".replace("-", "−") if t else "0" for t in ticks], gridcolor="rgba(0,0,0,0)",
                title=dict(text=title), fixedrange=True)


# --- events -------------------------------------------------------------------------------

def load_events(path: Path | None = None) -> pd.DataFrame:
    """data/events.csv (date,label,kind); empty frame when the file is missing or broken."""
    path = Path(path or Settings().events_path)
    try:
        events = pd.read_csv(path, dtype=str).dropna(subset=["date", "label"])
    except (OSError, ValueError, KeyError, pd.errors.ParserError):
        return pd.DataFrame(columns=["date", "label", "kind"])
    events["date"] = pd.to_datetime(events["date"], errors="coerce")
    events["kind"] = events.get("kind", "context").fillna("context")
    return events.dropna(subset=["date"]).sort_values("date").reset_index(drop=True)


def _cluster_events(events: pd.DataFrame, span_days: float) -> list[dict]:
    """Events closer than ~1/70 of the visible span share one line and label (no overprinting)."""
    gap = max(span_days / 70, 1)
    groups: list[list] = []
    for row in events.itertuples():
        if groups and (row.date - groups[-1][-1].date).days <= gap:
            groups[-1].append(row)
        else:
            groups.append([row])
    out = []
    for group in groups:
        first = group[0]
        label = first.label if len(group) == 1 else f"{first.label} (+{len(group) - 1})"
        out.append({"date": first.date, "label": label, "kind": first.kind,
                    "hover": "<br>".join(f"{r.date:%d %b %Y}: {r.label}" for r in group)})
    return out


def add_events(canvas: Canvas, events: pd.DataFrame | None, x_min, x_max, strip_row: int = 1,
               strip_px: float = 110) -> None:
    """Events in a strip above the plot: a dotted line down through the chart, a rotated label.

    Labels sit in their own row so they never cover data; the full text is in the hover.
    """
    if events is None or events.empty or x_min is None or pd.isna(x_min):
        return
    x_min, x_max = pd.Timestamp(x_min), pd.Timestamp(x_max)
    visible = events[(events["date"] >= x_min) & (events["date"] <= x_max)]
    if visible.empty:
        return
    yref = canvas.ref("y", strip_row, 1)
    top = canvas.domain(yref)[1]
    # Position on the data row's x axis: the strip's own axis has no data and is not a date axis.
    xref = canvas.ref("x", strip_row + 1, 1)
    max_label = max(12, int(strip_px / 5.6))  # ~5.5 px per character at 10 px font
    for event in _cluster_events(visible, max((x_max - x_min).days, 1)):
        color = EVENT_COLORS.get(str(event["kind"]), MUTED)
        canvas.shapes.append(dict(type="line", x0=event["date"], x1=event["date"], xref=xref, yref="paper", y0=0,
                                  y1=top, line=dict(color=_rgba(color, 0.6), width=1, dash="dot"), layer="below"))
        label = event["label"] if len(event["label"]) <= max_label else event["label"][:max_label - 1] + "…"
        canvas.annotations.append(dict(x=event["date"], xref=xref, y=0.02, yref=yref + " domain", text=label,
                                       textangle=-90, xanchor="center", yanchor="bottom", showarrow=False,
                                       hovertext=event["hover"], font=dict(size=10, color=color),
                                       bgcolor="rgba(255,255,255,0.85)", borderpad=1))


def _time_canvas(events: pd.DataFrame | None, x0, x1, height: int, counts: bool) -> tuple[Canvas, int, bool]:
    """Subplots sharing the time axis: [event strip], tone, [counts]. Returns (canvas, tone_row, has_events)."""
    has_events = events is not None and not events.empty and x0 is not None and not (
        events[(events["date"] >= pd.Timestamp(x0)) & (events["date"] <= pd.Timestamp(x1))].empty)
    plot_px = height - MARGIN_TOP - MARGIN_BOTTOM
    strip = STRIP_PX / plot_px if has_events else 0.0
    count_share = 0.18 if counts else 0.0
    heights = ([strip] if has_events else []) + [1 - strip - count_share] + ([count_share] if counts else [])
    canvas = Canvas(len(heights), 1, shared_xaxes=True, row_heights=heights, vertical_spacing=0.025)
    if has_events:
        canvas.axis("y", 1, 1, visible=False, fixedrange=True, range=[0, 1])
        canvas.axis("x", 1, 1, showline=False, ticks="", type="date")
    return canvas, (2 if has_events else 1), has_events


# --- tone ---------------------------------------------------------------------------------

_SERIES = ("period", "period_end", "n", "tone", "ci_low", "ci_high", "few", "partial")


def _point_data(cols: Mapping[str, np.ndarray], grain: str, group) -> np.ndarray:
    low, high = cols["ci_low"].astype(float), cols["ci_high"].astype(float)
    ci = ["no band: one article" if math.isnan(lo) else f"{lo:+.2f} to {hi:+.2f}" for lo, hi in zip(low, high)]
    few, partial = cols["few"].astype(bool), cols["partial"].astype(bool)
    warn = np.where(partial, "<br><i>partial period: still running or cut by the date filter</i>", "").astype(object)
    warn = warn + np.where(few, f"<br><i>fewer than {FEW} articles: read with care</i>", "").astype(object)
    return table(_iso_days(cols["period"]), group, period_labels(cols["period"], grain), ci,
                 cols["n"].astype(int), warn)


_TONE_HOVER = ("<b>%{customdata[2]}</b><br>Tone %{y:+.2f} (95% CI %{customdata[3]})"
               "<br>%{customdata[4]} articles%{customdata[5]}<extra>%{fullData.name}</extra>")


def _band(canvas: Canvas, cols: Mapping[str, np.ndarray], color: str, name: str, row: int, col: int) -> None:
    """95% band: filled polygons over runs of periods with at least FEW articles.

    Below FEW the interval spans most of the scale and would drown the line; those points are
    hollow instead. A period standing alone gets a whisker (a box that wide reads as a selection).
    """
    ok = ~cols["few"].astype(bool) & ~pd.isna(cols["ci_low"])
    if not ok.any():
        return
    x, tone = midpoints(cols), cols["tone"].astype(float)
    hi, lo = cols["ci_high"].astype(float), cols["ci_low"].astype(float)
    # Runs of ok periods that follow each other (no period without articles in between).
    linked = ok[:-1] & ok[1:] & _follows(cols)
    starts = ok & ~np.concatenate([[False], linked])
    stops = ok & ~np.concatenate([linked, [False]])
    xs, ys, lone = [], [], []
    for start, stop in zip(np.flatnonzero(starts), np.flatnonzero(stops) + 1):
        if stop - start == 1:
            lone.append(start)
            continue
        run_x, run_hi, run_lo = list(x[start:stop]), list(hi[start:stop]), list(lo[start:stop])
        xs += run_x + run_x[::-1] + [None]
        ys += run_hi + run_lo[::-1] + [None]
    if xs:
        canvas.add(dict(type="scatter", x=xs, y=ys, mode="lines", fill="toself", fillcolor=_rgba(color, 0.14),
                        line=dict(width=0), hoverinfo="skip", showlegend=False, legendgroup=name), row, col)
    if lone:
        canvas.add(dict(
            type="scatter", x=x[lone], y=tone[lone], mode="markers", marker=dict(size=1, opacity=0),
            hoverinfo="skip", showlegend=False, legendgroup=name,
            error_y=dict(type="data", symmetric=False, array=(hi[lone] - tone[lone]).tolist(),
                         arrayminus=(tone[lone] - lo[lone]).tolist(), color=_rgba(color, 0.3),
                         thickness=8, width=0)), row, col)


def _follows(cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """For each period after the first: does it start the day after the previous one ends?"""
    return cols["period"][1:] == cols["period_end"][:-1] + np.timedelta64(1, "D")


def _take(cols: Mapping[str, np.ndarray], rows) -> dict[str, np.ndarray]:
    return {name: values[rows] for name, values in cols.items()}


def _tone_traces(canvas: Canvas, cols: Mapping[str, np.ndarray], *, name: str, color: str, grain: str, row: int,
                 col: int, group=None, band: bool = True, showlegend: bool = True) -> None:
    """Band, line with per-point markers (hollow when few) and a dashed partial tail.

    cols: the series' columns (see :func:`columns`), oldest first.
    """
    partial = cols["partial"].astype(bool)
    whole = _take(cols, ~partial)
    if band:
        _band(canvas, whole, color, name, row, col)
    few = whole["few"].astype(bool)
    x, y, data = midpoints(whole), whole["tone"].astype(float), _point_data(whole, grain, group)
    colors, sizes = np.where(few, "white", color).astype(object), np.where(few, 9, 7)
    # A line must not bridge periods without articles: a blank point (y NaN) mid-gap breaks it.
    gaps = np.flatnonzero(~_follows(whole)) + 1
    if len(gaps):
        mid = whole["period_end"][gaps - 1] + (whole["period"][gaps] - whole["period_end"][gaps - 1]) / 2
        x, y = np.insert(x, gaps, mid), np.insert(y, gaps, np.nan)
        data = np.insert(data, gaps, None, axis=0)
        colors, sizes = np.insert(colors, gaps, color), np.insert(sizes, gaps, 7)
    canvas.add(dict(
        type="scatter", x=x, y=y, mode="lines+markers", name=name, legendgroup=name, showlegend=showlegend,
        line=dict(color=color, width=2.4),
        marker=dict(color=colors.tolist(), size=sizes.tolist(), symbol="circle", line=dict(color=color, width=2)),
        customdata=data, hovertemplate=_TONE_HOVER), row, col)
    if partial.any():
        # Dashed from the last whole period to the running one, hollow: "not finished", not "fell".
        last_whole = np.flatnonzero(~partial)[-1:]
        tail = _take(cols, np.concatenate([last_whole, np.flatnonzero(partial)]))
        canvas.add(dict(
            type="scatter", x=midpoints(tail), y=tail["tone"], mode="lines+markers",
            name=f"{name} (partial)", legendgroup=name, showlegend=False, line=dict(color=color, width=2, dash="dot"),
            marker=dict(color="white", size=9, symbol="circle", line=dict(color=color, width=2)),
            customdata=_point_data(tail, grain, group), hovertemplate=_TONE_HOVER), row, col)


def _legend_keys(canvas: Canvas, has_few: bool, has_partial: bool) -> None:
    """Legend entries that explain the hollow and dashed marks."""
    if has_few:
        canvas.add(dict(type="scatter", x=[None], y=[None], mode="markers", name=f"Fewer than {FEW} articles",
                        marker=dict(color="white", size=9, line=dict(color=MUTED, width=2))))
    if has_partial:
        canvas.add(dict(type="scatter", x=[None], y=[None], mode="lines", name="Partial period",
                        line=dict(color=MUTED, width=2, dash="dot")))


def _x_bounds(series: pd.DataFrame):
    if series.empty:
        return None, None
    return pd.Timestamp(series["period"].to_numpy().min()), pd.Timestamp(series["period_end"].to_numpy().max())


def _time_range(canvas: Canvas, series: pd.DataFrame) -> None:
    """The x axis spans the periods shown: one period alone must not zoom in to milliseconds."""
    x0, x1 = _x_bounds(series)
    if x0 is not None:
        canvas.axis("x", range=[x0, x1 + pd.Timedelta(days=1)])


def _shade(canvas: Canvas, shade: tuple | None) -> None:
    """Grey a comparison period (x0, x1, label) behind the data, its name at the top left.

    On subplots sharing the time axis, x is the first row's axis; every row matches it.
    """
    if not shade:
        return
    x0, x1, label = shade
    canvas.shapes.append(dict(type="rect", xref="x", x0=pd.Timestamp(x0), x1=pd.Timestamp(x1), yref="paper",
                              y0=0, y1=1, fillcolor="rgba(107,114,128,0.13)", line=dict(width=0), layer="below"))
    canvas.annotations.append(dict(text=plain(label), x=pd.Timestamp(x0), xref="x", xanchor="left", y=1,
                                   yref="paper", yanchor="top", showarrow=False, font=dict(size=11, color=MUTED),
                                   bgcolor="rgba(255,255,255,0.8)"))


def _integer_ticks(canvas: Canvas, top: float, axis: str = "x", row: int | None = None, col: int | None = None) -> None:
    """Counts get whole-number ticks (plotly would label 0.5 articles on a short axis)."""
    if top <= 8:
        canvas.axis(axis, row, col, dtick=1, tick0=0)


def empty_figure(title: str, subtitle: str = "", message: str = "No articles match these filters.") -> go.Figure:
    canvas = Canvas()
    canvas.annotations.append(dict(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                                   font=dict(size=15, color=MUTED)))
    canvas.axis("x", visible=False)
    canvas.axis("y", visible=False)
    return finish(canvas, title, subtitle, 0, height=320)


def tone_timeline(series: pd.DataFrame, *, grain: str = "month", title: str = "Tone of Morocco–France relations",
                  subtitle: str = "", events: pd.DataFrame | None = None, color: str = ACCENT,
                  height: int = 720, shade: tuple | None = None) -> go.Figure:
    """Mean tone per period with its 95% band, the article count per period below, events above.

    shade: (start, end, label) of a period to grey, e.g. the one a briefing compares with.
    """
    if series.empty:
        return empty_figure(title, subtitle)
    x0, x1 = _x_bounds(series)
    canvas, row, has_events = _time_canvas(events, x0, x1, height, counts=True)
    cols = columns(series, _SERIES)
    _tone_traces(canvas, cols, name="Mean tone", color=color, grain=grain, row=row, col=1)
    part = cols["partial"].astype(bool)
    canvas.add(dict(
        type="bar", x=midpoints(cols), y=cols["n"], name="Articles", showlegend=False, width=widths_ms(cols),
        marker=dict(color=[_rgba(ACCENT, 0.25) if p else _rgba(ACCENT, 0.55) for p in part],
                    pattern=dict(shape=["/" if p else "" for p in part], fgcolor=ACCENT)),
        customdata=table(_iso_days(cols["period"]), None, period_labels(cols["period"], grain)),
        hovertemplate="<b>%{customdata[2]}</b><br>%{y} articles<extra></extra>"), row + 1, 1)
    _tone_axis(canvas, row, 1)
    canvas.axis("y", row + 1, 1, title=dict(text="Articles"), rangemode="tozero", fixedrange=True)
    _integer_ticks(canvas, series["n"].max(), "y", row + 1, 1)
    _time_range(canvas, series)
    _legend_keys(canvas, bool(series["few"].any()), bool(part.any()))
    if (~series["few"].astype(bool)).any():
        canvas.add(dict(type="scatter", x=[None], y=[None], mode="lines", name="95% confidence band",
                        line=dict(color=_rgba(color, 0.3), width=10)))
    if has_events:
        add_events(canvas, events, x0, x1, strip_row=1, strip_px=STRIP_PX)
    _shade(canvas, shade)
    return finish(canvas, title, subtitle, int(series["n"].sum()), height=height)


def tone_by_group(series: pd.DataFrame, by: str, *, grain: str = "month", title: str = "", subtitle: str = "",
                  names: Mapping[str, str] | None = None, colors: Mapping[str, str] | None = None,
                  events: pd.DataFrame | None = None, height: int = 620, shade: tuple | None = None) -> go.Figure:
    """One tone line per group (language or press origin); the 95% band is in the hover."""
    if series.empty:
        return empty_figure(title, subtitle)
    names = names or (LANG_NAMES if by == "lang" else ORIGIN_NAMES if by == "source_country" else {})
    colors = colors or (LANG_COLORS if by == "lang" else ORIGIN_COLORS if by == "source_country" else {})
    x0, x1 = _x_bounds(series)
    canvas, row, has_events = _time_canvas(events, x0, x1, height, counts=False)
    for i, (group, s) in enumerate(series.groupby(by, sort=True)):
        total = int(s["n"].sum())
        _tone_traces(canvas, columns(s, _SERIES), name=f"{plain(names.get(group, group))} ({total:,})", row=row, col=1,
                     color=colors.get(group, FALLBACK[i % len(FALLBACK)]), grain=grain, group=group, band=False)
    _tone_axis(canvas, row, 1)
    _time_range(canvas, series)
    _legend_keys(canvas, bool(series["few"].any()), bool(series["partial"].any()))
    if has_events:
        add_events(canvas, events, x0, x1, strip_row=1, strip_px=STRIP_PX)
    _shade(canvas, shade)
    return finish(canvas, title, subtitle, int(series["n"].sum()), height=height, note="95% band in the hover")


# --- topics -------------------------------------------------------------------------------

def topic_share_chart(share: pd.DataFrame, *, grain: str = "month", title: str = "What the coverage is about",
                      subtitle: str = "", labels: Mapping[str, str] | None = None,
                      colors: Mapping[str, str] | None = None, height: int = 480,
                      shade: tuple | None = None) -> go.Figure:
    """Stacked bars: share of the period's relevant articles whose main topic is each topic."""
    if share.empty:
        return empty_figure(title, subtitle)
    labels, colors = labels or topic_labels(), colors or topic_colors()
    cols = columns(share, ("period", "period_end", "topic", "n", "total", "share", "few", "partial"))
    present = set(cols["topic"])
    order = list(colors) + sorted(present - set(colors))
    canvas = Canvas()
    days, names = _iso_days(cols["period"]), period_labels(cols["period"], grain)
    for i, topic in enumerate(t for t in order if t in present):
        rows = np.flatnonzero(cols["topic"] == topic)
        s = _take(cols, rows)
        color = colors.get(topic, FALLBACK[i % len(FALLBACK)])
        few, part = s["few"].astype(bool), s["partial"].astype(bool)
        label = labels.get(topic, topic)
        canvas.add(dict(
            type="bar", x=midpoints(s), y=s["share"], width=widths_ms(s, 0.9), name=label,
            customdata=table([days[r] for r in rows], topic, [names[r] for r in rows], s["n"].astype(int),
                             s["total"].astype(int), label, np.where(part, " (partial period)", "").astype(object)),
            marker=dict(color=color, opacity=np.where(few, 0.45, 1.0),
                        pattern=dict(shape=np.where(part, "/", "").tolist(), fgcolor="white")),
            hovertemplate="<b>%{customdata[5]}</b> · %{customdata[2]}%{customdata[6]}<br>"
                          "%{y:.0%} of relevant articles (%{customdata[3]} of %{customdata[4]})<extra></extra>"))
    canvas.layout.update(barmode="stack", bargap=0.08)
    _time_range(canvas, share)
    canvas.axis("y", tickformat=".0%", range=[0, 1], title=dict(text="Share of relevant articles"), fixedrange=True)
    total = int(share.drop_duplicates("period")["total"].sum())
    _shade(canvas, shade)
    return finish(canvas, title, subtitle, total, height=height,
                  note=f"Denominator: all relevant articles of the period · faded: fewer than {FEW} articles"
                       " · hatched: partial period")


def _panel_titles(canvas: Canvas, titles: Sequence[str], cols: int) -> None:
    """Panel titles centred over each cell, as make_subplots(subplot_titles=...) places them."""
    for i, text in enumerate(titles):
        x_ref, y_ref = canvas.refs[(i // cols + 1, i % cols + 1)]
        x_domain, y_domain = canvas.domain(x_ref), canvas.domain(y_ref)
        canvas.annotations.append(dict(font=dict(size=13, color=INK), showarrow=False, text=text,
                                       x=(x_domain[0] + x_domain[1]) / 2, xanchor="center", xref="paper",
                                       y=y_domain[1], yanchor="bottom", yref="paper"))


def topic_tone_grid(series: pd.DataFrame, *, grain: str = "month", title: str = "Tone by topic",
                    subtitle: str = "", labels: Mapping[str, str] | None = None,
                    colors: Mapping[str, str] | None = None, cols: int = 4) -> go.Figure:
    """Small multiples: tone over time for each main topic, on the same axes."""
    if series.empty:
        return empty_figure(title, subtitle)
    labels, colors = labels or topic_labels(), colors or topic_colors()
    topics = [t for t in colors if t in set(series["topic"])] + sorted(set(series["topic"]) - set(colors))
    rows = math.ceil(len(topics) / cols)
    counts = series.groupby("topic")["n"].sum()
    canvas = Canvas(rows, cols, shared_xaxes=True, shared_yaxes=True, vertical_spacing=0.16,
                    horizontal_spacing=0.025)
    _panel_titles(canvas, [f"{labels.get(t, t)} ({int(counts[t]):,})" for t in topics], cols)
    by_topic = dict(list(series.groupby("topic", sort=False)))
    for i, topic in enumerate(topics):
        r, c = i // cols + 1, i % cols + 1
        # No bands here: per-topic periods are small, and wide bands in small panels read as noise.
        _tone_traces(canvas, columns(by_topic[topic], _SERIES), name=labels.get(topic, topic),
                     color=colors.get(topic, FALLBACK[i % len(FALLBACK)]), grain=grain, group=topic,
                     row=r, col=c, showlegend=False, band=False)
        _tone_axis(canvas, r, c, labels=(c == cols), title="Tone" if c == 1 else "")
    _legend_keys(canvas, bool(series["few"].any()), bool(series["partial"].any()))
    _time_range(canvas, series)
    # Panels are ~200 px wide: few ticks, labels level and on two lines, none past its panel
    # (rotated or edge labels ran into the next panel), the format following the tick spacing.
    canvas.axis("x", nticks=4, tickangle=0, ticklabeloverflow="hide past domain", tickformatstops=[
        dict(dtickrange=[None, "M1"], value="%d %b<br>%Y"), dict(dtickrange=["M1", "M12"], value="%b<br>%Y"),
        dict(dtickrange=["M12", None], value="%Y")])
    height = MARGIN_TOP + MARGIN_BOTTOM + 250 * rows
    # Legend above the panel titles (34 px higher than the plot area's top).
    canvas.layout["legend"] = dict(orientation="h", y=1 + 34 / (height - MARGIN_TOP - MARGIN_BOTTOM))
    return finish(canvas, title, subtitle, int(series["n"].sum()), height=height,
                  note="Each panel: articles whose main topic it is · 95% band in the hover")


def topic_bars(summary: pd.DataFrame, *, title: str = "Articles by main topic", subtitle: str = "",
               labels: Mapping[str, str] | None = None, colors: Mapping[str, str] | None = None) -> go.Figure:
    """Horizontal bars: articles per main topic, labelled with their mean tone."""
    if summary.empty:
        return empty_figure(title, subtitle)
    labels, colors = labels or topic_labels(), colors or topic_colors()
    s = summary.sort_values("n")
    canvas = Canvas()
    canvas.add(dict(
        type="bar", y=[labels.get(t, t) for t in s["topic"]], x=s["n"].to_numpy(), orientation="h",
        marker=dict(color=[colors.get(t, MUTED) for t in s["topic"]]),
        text=[f"{sh:.0%} · tone {tn:+.2f}" for sh, tn in zip(s["share"], s["tone"])], textposition="auto",
        customdata=s["topic"].to_numpy(), hovertemplate="%{y}: %{x} articles<extra></extra>"))
    canvas.axis("y", automargin=True)  # long topic names must not be cut
    _integer_ticks(canvas, s["n"].max())
    return finish(canvas, title, subtitle, int(s["n"].sum()), height=MARGIN_TOP + MARGIN_BOTTOM + 34 * len(s) + 30)


def article_topics_chart(topics: pd.DataFrame, labels: Mapping[str, str] | None = None,
                         colors: Mapping[str, str] | None = None, title: str = "Topic scores") -> go.Figure:
    labels, colors = labels or topic_labels(), colors or topic_colors()
    s = topics.sort_values("score")
    canvas = Canvas()
    canvas.add(dict(type="bar", y=[labels.get(t, t) for t in s["topic"]], x=s["score"].to_numpy(), orientation="h",
                    marker=dict(color=[colors.get(t, MUTED) for t in s["topic"]]),
                    hovertemplate="%{y}: %{x:.2f}<extra></extra>"))
    canvas.axis("x", range=[0, 1], title=dict(text="Score (0–1)"))
    canvas.axis("y", automargin=True)
    # One article: no count or source note needed inside a detail view.
    canvas.layout["margin"] = dict(t=80, b=50)
    return finish(canvas, title, "Fit of the relevant sentences to each topic", None, height=380, source_note=False)


# --- data status --------------------------------------------------------------------------

def count_bars(counts: pd.DataFrame, key: str, *, title: str, subtitle: str = "",
               names: Mapping[str, str] | None = None, horizontal: bool = True) -> go.Figure:
    """Articles per source/language/month: relevant in the accent colour, the rest light."""
    if counts.empty:
        return empty_figure(title, subtitle, "No articles yet.")
    names = names or {}
    s = counts.iloc[::-1] if horizontal else counts
    cats = [plain(names.get(k, k)) for k in s[key]]
    other = (s["articles"] - s["relevant"]).to_numpy()
    canvas = Canvas()
    for label, values, color in (("Relevant", s["relevant"].to_numpy(), ACCENT), ("Not relevant", other, "#c9ced6")):
        canvas.add(dict(type="bar", x=values if horizontal else cats, y=cats if horizontal else values, name=label,
                        orientation="h" if horizontal else "v", marker=dict(color=color),
                        hovertemplate="%{" + ("y" if horizontal else "x") + "}: %{"
                                      + ("x" if horizontal else "y") + "} articles<extra>" + label + "</extra>"))
    canvas.layout["barmode"] = "stack"
    canvas.axis("y", automargin=True)  # source names are long: never cut them
    _integer_ticks(canvas, counts["articles"].max(), "x" if horizontal else "y")
    height = max(300, MARGIN_TOP + MARGIN_BOTTOM + 24 * len(s)) if horizontal else 440
    return finish(canvas, title, subtitle, int(counts["articles"].sum()), height=height)


def config_for(filename: str) -> dict:
    """st.plotly_chart config: PNG export at dashboard size with a descriptive file name."""
    slug = re.sub(r"[^\w\-]+", "-", filename.strip().lower(), flags=re.ASCII).strip("-") or "relations-monitor"
    return {
        "displaylogo": False,
        "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
        "toImageButtonOptions": {"format": "png", "filename": slug, "width": 1280, "height": 720, "scale": 2},
    }


def describe(subtitle_parts: Sequence[str]) -> str:
    """Join subtitle parts with a middle dot, dropping empties."""
    return " · ".join(p for p in subtitle_parts if p)
