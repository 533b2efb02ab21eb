"""Briefings: one period's headline figures, key charts, statements and most influential articles.

Pure functions over a read-only database; no browser, no Streamlit. `monitor.render` turns a
:class:`Briefing` into PNG and PDF files, `to_markdown` into a text summary.

The period is compared with the one just before it: the previous calendar period when the
period is whole months (a month, a quarter, a year), else the same number of days. Every
statement is computed from the same data frames the charts and tables are drawn from, and
carries the figures it rests on (`Statement.figures`), so the page can show "based on: …"
and a test can recompute them. No change is claimed on fewer than `A.FEW` articles a side,
and a difference smaller than its 95% margin is called out as possibly noise.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Mapping

import pandas as pd

from . import analytics as A
from . import charts as C

PRESETS = {"Last week": 7, "Last month": 30, "Last quarter": 91}
STABLE = 0.05  # tone differences below this are "stable" / "about the same"
SECURITY, MIGRATION = "security", "migration"
TITLE = "Morocco–France relations: briefing"


# --- periods ------------------------------------------------------------------------------

def count(n: int, word: str = "article") -> str:
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{n:,} {word if n == 1 else plural}"


def signed(x: float) -> str:
    """+0.41 / −0.32 (typographic minus), as printed in statements and tables."""
    return f"{x:+.2f}".replace("-", "−")


def _month_start(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _whole_months(start: dt.date, end: dt.date) -> int:
    """Number of calendar months the period spans exactly, or 0."""
    if start.day != 1 or (end + dt.timedelta(days=1)).day != 1:
        return 0
    after = end + dt.timedelta(days=1)
    return (after.year - start.year) * 12 + after.month - start.month


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """Q3 → Q2, May → April, a year → the year before; otherwise the same number of days."""
    months = _whole_months(start, end)
    if months:
        return _month_start(start, -months), start - dt.timedelta(days=1)
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)


def _day(d: dt.date, year: bool = True) -> str:
    return f"{d.day} {d:%b}" + (f" {d.year}" if year else "")


def period_name(start: dt.date, end: dt.date) -> str:
    """'Q2 2024', 'May 2024', '2024', 'week of 6 May 2024' or '1 Mar – 31 May 2024'."""
    months = _whole_months(start, end)
    if months == 12 and start.month == 1:
        return str(start.year)
    if months == 3 and start.month in (1, 4, 7, 10):
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if months == 1:
        return f"{start:%B %Y}"
    if months:
        return f"{start:%b}–{end:%b %Y}" if start.year == end.year else f"{start:%b %Y} – {end:%b %Y}"
    if start.weekday() == 0 and (end - start).days == 6:
        return f"week of {_day(start)}"
    if start == end:
        return _day(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{_day(end)}"
    return f"{_day(start, start.year != end.year)} – {_day(end)}"


def default_period(db, filters: A.Filters, days: int = 7) -> tuple[dt.date, dt.date] | None:
    """The `days` days ending on the newest relevant article matching the other filters."""
    where, params = replace(filters, date_from=None, date_to=None).without_topics().where()
    newest = db.execute(f"SELECT MAX(substr(a.published,1,10)) FROM articles a WHERE {where}", params).fetchone()[0]
    if not newest:
        return None
    end = dt.date.fromisoformat(newest[:10])
    if filters.date_to:
        end = min(end, filters.date_to)
    return end - dt.timedelta(days=days - 1), end


def briefing_grain(df: pd.DataFrame, start: dt.date, end: dt.date) -> str:
    """The analytics grain if it gives 4–60 points over the span shown, else the nearest that does."""
    span = (end - start).days + 1
    length = {"day": 1, "week": 7, "month": 30.44, "quarter": 91.3}
    allowed = [g for g in A.GRAINS if 4 <= span / length[g] <= 60] or ["day" if span < 4 else "quarter"]
    wanted = A.suggest_grain(df, per_period=5) if len(df) else "month"
    if wanted in allowed:
        return wanted
    return allowed[0] if A.GRAINS.index(wanted) < A.GRAINS.index(allowed[0]) else allowed[-1]


# --- the briefing -------------------------------------------------------------------------

@dataclass(frozen=True)
class Statement:
    """One generated sentence and the figures it rests on (names → numbers or labels)."""

    key: str
    text: str
    figures: dict
    basis: str


@dataclass
class Influential:
    id: int
    title: str
    lang: str
    source: str | None
    origin: str
    published: str
    tone: float
    confidence: float
    weight: float
    topic: str | None
    url: str | None
    evidence: list[dict]


@dataclass
class Briefing:
    filters: A.Filters  # the analyst's filters with the briefing period as dates
    start: dt.date
    end: dt.date
    prev_start: dt.date
    prev_end: dt.date
    grain: str
    as_of: dt.date
    labels: dict
    context: pd.DataFrame  # previous + current period, all filters
    context_all: pd.DataFrame  # the same without the topic filter: denominators of topic shares
    figures: dict = field(default_factory=dict)
    topics: pd.DataFrame = field(default_factory=pd.DataFrame)
    statements: list[Statement] = field(default_factory=list)
    articles: list[Influential] = field(default_factory=list)

    @property
    def current(self) -> pd.DataFrame:
        return self.context[self.context["published"] >= pd.Timestamp(self.start)]

    @property
    def current_all(self) -> pd.DataFrame:
        return self.context_all[self.context_all["published"] >= pd.Timestamp(self.start)]

    @property
    def previous(self) -> pd.DataFrame:
        return self.context[self.context["published"] < pd.Timestamp(self.start)]

    @property
    def name(self) -> str:
        return period_name(self.start, self.end)

    @property
    def prev_name(self) -> str:
        return period_name(self.prev_start, self.prev_end)

    @property
    def slug(self) -> str:
        return f"briefing-{self.start}-{self.end}"

    def describe(self) -> str:
        """Selection line for every export: what is included, the period, the comparison."""
        return C.describe([self.filters.describe(self.labels), f"{self.start} → {self.end}",
                           f"compared with {self.prev_start} → {self.prev_end}"])


def _period_figures(df: pd.DataFrame) -> dict:
    tone = df["tone"].dropna()
    return {
        "articles": int(len(df)),
        "tone": float(tone.mean()) if len(tone) else None,
        "cooperative": float((df["tone_class"] == "cooperative").mean()) if len(df) else None,
        "tense": float((df["tone_class"] == "tense").mean()) if len(df) else None,
        # Distinct stories, plus one for each article not (yet) grouped into a story.
        "stories": int(df["story_id"].nunique() + df["story_id"].isna().sum()),
    }


def topic_table(prev: pd.DataFrame, cur: pd.DataFrame, prev_all: pd.DataFrame, cur_all: pd.DataFrame,
                topics: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per main topic, previous → current: articles, share of all relevant articles, mean tone, contribution.

    contribution = (topic's share of the selection × its mean tone) now minus before; over all
    topics (and untopiced articles) it adds up exactly to the change in the selection's mean tone.
    """
    rows = []
    keys = sorted(set(prev["top_topic"].dropna()) | set(cur["top_topic"].dropna())
                  | set(prev_all["top_topic"].dropna()) | set(cur_all["top_topic"].dropna()))
    for k in keys:
        if topics and k not in topics:
            continue
        p, c = prev[prev["top_topic"] == k], cur[cur["top_topic"] == k]
        part = [(len(d) / len(whole)) * d["tone"].mean() if len(d) else 0.0 for d, whole in ((p, prev), (c, cur))]
        rows.append({
            "topic": k, "n_prev": len(p), "n": len(c),
            "share_prev": (prev_all["top_topic"] == k).mean() if len(prev_all) else float("nan"),
            "share": (cur_all["top_topic"] == k).mean() if len(cur_all) else float("nan"),
            "tone_prev": p["tone"].mean() if len(p) else float("nan"),
            "tone": c["tone"].mean() if len(c) else float("nan"),
            "contribution": part[1] - part[0] if len(prev) and len(cur) else float("nan"),
        })
    columns = ["topic", "n_prev", "n", "share_prev", "share", "tone_prev", "tone", "contribution"]
    return pd.DataFrame(rows, columns=columns).sort_values(["n", "n_prev"], ascending=False).reset_index(drop=True)


def _compare(a: pd.Series, b: pd.Series) -> dict:
    """Means, counts, difference b − a and its 95% margin (Welch standard error × 1.96)."""
    a, b = a.dropna(), b.dropna()
    out = {"n_a": int(len(a)), "n_b": int(len(b)),
           "mean_a": float(a.mean()) if len(a) else None, "mean_b": float(b.mean()) if len(b) else None}
    if len(a) >= A.FEW and len(b) >= A.FEW:
        out["diff"] = out["mean_b"] - out["mean_a"]
        out["margin"] = 1.96 * math.sqrt(a.var() / len(a) + b.var() / len(b))
    return out


def _noise(c: dict) -> str:
    if abs(c["diff"]) >= STABLE and abs(c["diff"]) < c["margin"]:
        return f" The difference is within its 95% margin (±{c['margin']:.2f}), so it may be noise."
    return ""


def tone_change(b: Briefing) -> Statement:
    c = _compare(b.previous["tone"], b.current["tone"])
    figures = {"tone_prev": c["mean_a"], "tone": c["mean_b"], "n_prev": c["n_a"], "n": c["n_b"]}
    basis = f"mean tone of relevant articles, {b.prev_name} ({c['n_a']}) and {b.name} ({c['n_b']})"
    if "diff" not in c:
        now = (f"Mean tone in {b.name} was {signed(c['mean_b'])} ({count(c['n_b'])}); "
               if c["mean_b"] is not None else f"No relevant articles in {b.name}; ")
        text = now + (f"too few articles to compare with {b.prev_name} ({c['n_a']} and {c['n_b']}; "
                      f"at least {A.FEW} each needed).")
        return Statement("tone_change", text, figures, basis)
    figures.update(delta=c["diff"], margin=c["margin"])
    counts = f"({c['n_a']} and {c['n_b']} articles)"
    if abs(c["diff"]) < STABLE:
        text = (f"Tone was stable between {b.prev_name} and {b.name}: {signed(c['mean_a'])} then "
                f"{signed(c['mean_b'])} {counts}.")
    else:
        verb = "rose" if c["diff"] > 0 else "fell"
        text = (f"Tone {verb} from {signed(c['mean_a'])} to {signed(c['mean_b'])} between {b.prev_name} "
                f"and {b.name} {counts}.")
    return Statement("tone_change", text + _noise(c), figures, basis)


def drivers(b: Briefing, change: Statement) -> Statement | None:
    """The topics whose contribution went the way of the change and made up most of it."""
    delta = change.figures.get("delta")
    if delta is None or abs(delta) < STABLE or b.topics.empty:
        return None
    contrib = b.topics.dropna(subset=["contribution"])
    contrib = contrib.assign(size=contrib["contribution"].abs())
    same, against = contrib[contrib["contribution"] * delta > 0], contrib[contrib["contribution"] * delta < 0]
    top = same[same["size"] >= 0.25 * abs(delta)].nlargest(2, "size")
    if top.empty:
        top = same.nlargest(1, "size")
    if top.empty:
        return None
    label = lambda rows: " and ".join(f"{b.labels.get(t, t)} ({signed(v)})"  # noqa: E731
                                      for t, v in zip(rows["topic"], rows["contribution"]))
    text = f"{label(top)} contributed most to the {'rise' if delta > 0 else 'fall'} of {signed(delta)}"
    offset = against[against["size"] >= 0.25 * abs(delta)].nlargest(1, "size")
    text += f", partly offset by {label(offset)}." if len(offset) else "."
    figures = {"delta": delta, "contributions": dict(zip(top["topic"], top["contribution"].astype(float))),
               "offset": dict(zip(offset["topic"], offset["contribution"].astype(float)))}
    return Statement("drivers", text, figures,
                     "topic table: contribution = share of the selection × mean tone, now minus before")


def rising_topic(b: Briefing) -> Statement | None:
    t = b.topics.dropna(subset=["share", "share_prev"])
    n_prev, n = len(b.context_all) - len(b.current_all), len(b.current_all)
    if t.empty or n_prev < A.FEW or n < A.FEW:
        return None
    row = t.assign(gain=t["share"] - t["share_prev"]).sort_values("gain", ascending=False).iloc[0]
    cur_n = int((b.current_all["top_topic"] == row["topic"]).sum())
    prev_n = int((b.context_all["top_topic"] == row["topic"]).sum()) - cur_n
    name = b.labels.get(row["topic"], row["topic"])
    figures = {"topic": row["topic"], "share_prev": float(row["share_prev"]), "share": float(row["share"]),
               "n_prev": prev_n, "n": cur_n, "total_prev": n_prev, "total": n}
    basis = "topic mix: share of all relevant articles whose main topic it is"
    if row["gain"] <= 0:
        return Statement("rising_topic", f"No topic gained share of coverage between {b.prev_name} and {b.name}.",
                         figures, basis)
    text = (f"{name} gained the most ground: {row['share']:.0%} of relevant articles in {b.name} "
            f"({cur_n} of {n}), up from {row['share_prev']:.0%} ({prev_n} of {n_prev}).")
    return Statement("rising_topic", text, figures, basis)


def compare_groups(df: pd.DataFrame, column: str, a: str, b: str, names: Mapping[str, str], key: str,
                   period: str) -> Statement:
    """Mean tone of group a against group b (press origins, topics) within the period."""
    c = _compare(df.loc[df[column] == a, "tone"], df.loc[df[column] == b, "tone"])
    na, nb = names.get(a, a), names.get(b, b)
    figures = {"group_a": a, "group_b": b, "tone_a": c["mean_a"], "tone_b": c["mean_b"],
               "n_a": c["n_a"], "n_b": c["n_b"]}
    basis = f"mean tone of relevant articles in {period}: {na} ({c['n_a']}), {nb} ({c['n_b']})"
    if "diff" not in c:
        text = (f"Too few articles to compare {na} ({c['n_a']}) and {nb} ({c['n_b']}) in {period}; "
                f"at least {A.FEW} each needed.")
        return Statement(key, text, figures, basis)
    gap = -c["diff"]  # a − b
    figures["gap"] = gap
    pair = f"{signed(c['mean_a'])} vs {signed(c['mean_b'])}; {c['n_a']} and {c['n_b']} articles"
    if abs(gap) < STABLE:
        text = f"{na} and {nb} were about as cooperative in tone as each other in {period} ({pair})."
    else:
        text = f"{na} was more {'cooperative' if gap > 0 else 'tense'} in tone than {nb} in {period} ({pair})."
    return Statement(key, text + _noise(c), figures, basis)


def influential(db, df: pd.DataFrame, k: int = 5) -> list[Influential]:
    """The articles that weigh most on the period's tone, one per story.

    Weight = |tone| × confidence: an article far from neutral pulls the period mean hardest
    (each article adds tone/n to it), and confidence discounts articles whose evidence is weak
    or contradictory. Copies of one story would say the same thing, so each story counts once
    (its heaviest article). Ties go to the newer article.
    """
    if df.empty:
        return []
    data = df.assign(weight=df["tone"].abs() * df["confidence"].fillna(0))
    data = data.sort_values(["weight", "published"], ascending=False)
    data = pd.concat([data[data["story_id"].isna()],
                      data[data["story_id"].notna()].drop_duplicates("story_id")])
    out = []
    for row in data.sort_values(["weight", "published"], ascending=False).head(k).itertuples():
        detail = A.article_detail(db, int(row.id)) or {"article": {}, "evidence": []}
        evidence = sorted(detail["evidence"], key=lambda e: -abs(e.get("weight", 0)))[:3]
        out.append(Influential(
            id=int(row.id), title=row.title or "", lang=row.lang, source=row.source, origin=row.source_country,
            published=row.published.date().isoformat() if pd.notna(row.published) else "",
            tone=float(row.tone), confidence=float(row.confidence), weight=float(row.weight),
            topic=row.top_topic, url=detail["article"].get("url"),
            evidence=[{"text": e.get("text", ""), "tone": float(e.get("tone", 0))} for e in evidence]))
    return out


def build_briefing(db, filters: A.Filters, labels: Mapping[str, str] | None = None, grain: str | None = None,
                   top: int = 5, days: int = 7) -> Briefing | None:
    """The briefing for the filters' date range.

    Without dates: the `days` days ending on the newest relevant article (or ending on date_to,
    or from date_from to the newest article). None when no relevant article dates the briefing.
    """
    labels = dict(labels or C.topic_labels())
    if filters.date_to:
        end = filters.date_to
        start = filters.date_from or end - dt.timedelta(days=days - 1)
    else:
        period = default_period(db, filters, days)
        if period is None:
            return None
        start = filters.date_from or period[0]
        end = max(period[1], start)
    prev_start, prev_end = previous_period(start, end)
    chosen = replace(filters, date_from=start, date_to=end)
    shown = replace(filters, date_from=prev_start, date_to=end)
    context = A.load_articles(db, shown)
    context_all = A.load_articles(db, shown.without_topics())
    b = Briefing(chosen, start, end, prev_start, prev_end, grain or briefing_grain(context_all, prev_start, end),
                 A.coverage_end(db, chosen), labels, context, context_all)
    prev_all = context_all[context_all["published"] < pd.Timestamp(start)]
    b.figures = {"current": _period_figures(b.current), "previous": _period_figures(b.previous)}
    b.topics = topic_table(b.previous, b.current, prev_all, b.current_all, filters.topics)
    change = tone_change(b)
    b.statements = [s for s in (
        change, drivers(b, change), rising_topic(b),
        compare_groups(b.current, "source_country", "MA", "FR", A.ORIGIN_NAMES, "origin_gap", b.name),
        compare_groups(b.current, "top_topic", SECURITY, MIGRATION, {k: f"{v} coverage" for k, v in labels.items()},
                       "security_migration", b.name),
    ) if s is not None]
    b.articles = influential(db, b.current, top)
    return b


# --- charts -------------------------------------------------------------------------------

@dataclass
class Chart:
    name: str  # file name part: tone, security-migration, topic-mix, press-origin
    fig: object


def charts(b: Briefing, events: pd.DataFrame | None = None, colors: Mapping[str, str] | None = None) -> list[Chart]:
    """The four key charts over the previous and the current period (the previous one shaded)."""
    colors = dict(colors or C.topic_colors())
    step = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly"}[b.grain]
    sub = C.describe([b.filters.describe(b.labels), f"{b.name} vs {b.prev_name} ({b.prev_start} → {b.end})", step])
    ctx, grain, as_of = b.context, b.grain, b.as_of
    shade = (b.prev_start, b.start, f"Previous period ({b.prev_name})")
    sec_mig = ctx[ctx["top_topic"].isin([SECURITY, MIGRATION])]
    out = [
        Chart("tone", C.tone_timeline(A.tone_series(ctx, grain, as_of=as_of), grain=grain, subtitle=sub,
                                      events=events, shade=shade)),
        Chart("press-origin", C.tone_by_group(A.tone_series(ctx, grain, by="source_country", as_of=as_of),
                                              "source_country", grain=grain, subtitle=sub, shade=shade,
                                              title="Perception gap: tone by press origin")),
        Chart("security-migration", C.tone_by_group(
            A.tone_series(sec_mig, grain, by="top_topic", as_of=as_of), "top_topic", grain=grain, subtitle=sub,
            shade=shade, names=b.labels, colors=colors,
            title=f"{b.labels.get(SECURITY, SECURITY)} vs {b.labels.get(MIGRATION, MIGRATION)}: tone")),
        Chart("topic-mix", C.topic_share_chart(A.topic_share(b.context_all, grain, b.filters.topics or None,
                                                             as_of=as_of),
                                               grain=grain, subtitle=sub, labels=b.labels, colors=colors,
                                               shade=shade)),
    ]
    for chart in out:  # the whole comparison span, even where a period has no article
        chart.fig.update_xaxes(range=[pd.Timestamp(b.prev_start), pd.Timestamp(b.end + dt.timedelta(days=1))])
    return out


# --- Markdown -----------------------------------------------------------------------------

def md(text) -> str:
    """Data text for Markdown: markup characters escaped, so a title can never become a link or a tag."""
    out = str(text if text is not None else "").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_[]#|!":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def fmt_tone(value) -> str:
    return "—" if value is None or pd.isna(value) else signed(value)


def to_markdown(b: Briefing, images: Mapping[str, str] | None = None) -> str:
    """The briefing as Markdown: figures, statements with their basis, topics, articles, chart files."""
    cur, prev = b.figures["current"], b.figures["previous"]
    pct = lambda v: "—" if v is None else f"{v:.0%}"  # noqa: E731
    lines = [f"# {TITLE}: {b.name}", "", f"{md(b.describe())}", "",
             "| | " + f"{md(b.name)} | {md(b.prev_name)} |", "|---|---|---|",
             f"| Mean tone (−1 tense … +1 cooperative) | {fmt_tone(cur['tone'])} | {fmt_tone(prev['tone'])} |",
             f"| Relevant articles | {cur['articles']} | {prev['articles']} |",
             f"| Stories | {cur['stories']} | {prev['stories']} |",
             f"| Cooperative | {pct(cur['cooperative'])} | {pct(prev['cooperative'])} |",
             f"| Tense | {pct(cur['tense'])} | {pct(prev['tense'])} |", "", "## Key points", ""]
    lines += [f"- {md(s.text)}  \n  *based on: {md(s.basis)}*" for s in b.statements]
    if len(b.topics):
        lines += ["", "## Topics", "", "| Topic | Articles | Share | Mean tone | Contribution |",
                  "|---|---|---|---|---|"]
        for r in b.topics.itertuples():
            lines.append(f"| {md(b.labels.get(r.topic, r.topic))} | {r.n_prev} → {r.n} | "
                         f"{pct(None if pd.isna(r.share_prev) else r.share_prev)} → "
                         f"{pct(None if pd.isna(r.share) else r.share)} | "
                         f"{fmt_tone(r.tone_prev)} → {fmt_tone(r.tone)} | {fmt_tone(r.contribution)} |")
    lines += ["", "## Most influential articles", "",
              "*Weight = |tone| × confidence; one article per story. Evidence in the original language.*", ""]
    for a in b.articles:
        origin = md(A.ORIGIN_NAMES.get(a.origin, a.origin))
        lines.append(f"- **{md(a.title)}** — {a.published} · {md(a.source)} · {origin} · "
                     f"tone {signed(a.tone)}, confidence {a.confidence:.2f}")
        lines += [f"  > {md(e['text'])} ({signed(e['tone'])})" for e in a.evidence]
    if not b.articles:
        lines.append("No relevant articles in this period.")
    if images:
        lines += ["", "## Charts", ""] + [f"- [{md(title)}]({path})" for title, path in images.items()]
    lines += ["", f"Source: Relations Monitor · data up to {b.as_of}", ""]
    return "\n".join(lines)
