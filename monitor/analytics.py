"""Read-only queries behind the dashboard: a sqlite_utils Database in, pandas DataFrames out.

Article lists, search and details are SQL queries; the per-period statistics are pandas
functions over one row per article (briefings, notebooks, tests). The dashboard computes the
same statistics from an in-memory column snapshot (monitor.facts), tested equal to these.
Nothing here imports Streamlit.

Conventions used throughout:
- "relevant" articles are those scoring says are about the Morocco–France relationship;
  tone is only meaningful for them, so every tone figure uses relevant articles only.
- Press origin is the source's country: MA, FR, INT (international) or "unknown".
- Periods are labelled by their first day (weeks start on Monday).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .scoring import METHOD_VERSION

ORIGINS = ("MA", "FR", "INT", "unknown")
GRAINS = ("day", "week", "month", "quarter")
# Fewer articles than this in a period: the mean is drawn but flagged as resting on little.
FEW = 3

# Anything that is not one of the three known origins counts as unknown, NULL included.
_ORIGIN_SQL = ("CASE WHEN a.source_country IN ('MA','FR','INT') THEN a.source_country "
               "ELSE 'unknown' END")
_ARTICLE_COLUMNS = f"""
    a.id, substr(a.published, 1, 10) AS published, a.lang, a.source, {_ORIGIN_SQL} AS source_country,
    a.tone, a.tone_class, a.confidence, a.low_confidence, a.top_topic, a.story_id, a.title"""
ARTICLE_COLUMNS = ["id", "published", "lang", "source", "source_country", "tone", "tone_class",
                   "confidence", "low_confidence", "top_topic", "story_id", "title"]


class NoEmbeddings(LookupError):
    """The database holds no sentence embeddings for the requested model."""


# --- filters ------------------------------------------------------------------------------

def _as_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None  # a hand-edited URL must not break the page


def _as_tuple(values: Any) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    # Sorted so equal selections give equal cache keys and equal URLs.
    return tuple(sorted({str(v) for v in values if str(v)}))


@dataclass(frozen=True)
class Filters:
    """What the analyst selected. Empty tuples mean "all". Hashable, so usable as a cache key."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    langs: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    relevant_only: bool = True

    def __post_init__(self):
        # Accept lists and strings from callers; store normalised values (frozen: use object API).
        object.__setattr__(self, "date_from", _as_date(self.date_from))
        object.__setattr__(self, "date_to", _as_date(self.date_to))
        for name in ("langs", "origins", "sources", "topics"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))

    # URL round trip: short keys, lists as repeated parameters (st.query_params accepts lists).
    def to_query_params(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        for key, values in (("lang", self.langs), ("origin", self.origins), ("source", self.sources),
                            ("topic", self.topics)):
            if values:
                out[key] = list(values)
        if not self.relevant_only:
            out["all"] = "1"
        return out

    @classmethod
    def from_query_params(cls, params: Mapping[str, Any]) -> "Filters":
        def many(key):
            return _as_tuple(params.get(key))

        def last(key):
            value = params.get(key)
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else None
            return value

        return cls(
            date_from=_as_date(last("from")),
            date_to=_as_date(last("to")),
            langs=many("lang"),
            origins=tuple(o for o in many("origin") if o in ORIGINS),
            sources=many("source"),
            topics=many("topic"),
            relevant_only=str(last("all") or "") not in ("1", "true", "yes"),
        )

    QUERY_KEYS = ("from", "to", "lang", "origin", "source", "topic", "all")

    def without_topics(self) -> "Filters":
        return replace(self, topics=())

    def where(self) -> tuple[str, list]:
        """SQL condition on `articles a` and its parameters."""
        clauses, params = ["1=1"], []
        if self.relevant_only:
            # Unary + keeps SQLite off the (relevant, published) index: nearly every row is
            # relevant, and walking that index with a lookup per row is ~10x slower than a scan.
            # A date range still uses the index on published.
            clauses.append("+a.relevant = 1")
        # Plain string comparison keeps the index on published usable; the upper bound is
        # exclusive on the next day so timestamps on the last day are included.
        if self.date_from:
            clauses.append("a.published >= ?")
            params.append(self.date_from.isoformat())
        if self.date_to:
            clauses.append("a.published < ?")
            params.append((self.date_to + dt.timedelta(days=1)).isoformat())
        for column, values in (("a.lang", self.langs), ("a.source", self.sources),
                               ("a.top_topic", self.topics), (_ORIGIN_SQL, self.origins)):
            if values:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        return " AND ".join(clauses), params

    def describe(self, topic_labels: Mapping[str, str] | None = None) -> str:
        """One line for chart subtitles: what is included (dates are added by the caller)."""
        labels = topic_labels or {}
        parts = ["Relevant articles" if self.relevant_only else "All articles"]
        parts.append(", ".join(LANG_NAMES.get(x, x) for x in self.langs) if self.langs else "all languages")
        parts.append(", ".join(ORIGIN_NAMES.get(x, x) for x in self.origins) if self.origins
                     else "all press origins")
        if self.sources:
            parts.append(f"{len(self.sources)} source{'s' if len(self.sources) > 1 else ''}"
                         if len(self.sources) > 2 else ", ".join(self.sources))
        if self.topics:
            parts.append("topics: " + ", ".join(labels.get(t, t) for t in self.topics))
        return " · ".join(parts)


LANG_NAMES = {"ar": "Arabic", "fr": "French", "en": "English"}
ORIGIN_NAMES = {"MA": "Moroccan press", "FR": "French press", "INT": "International press",
                "unknown": "Origin unknown"}


def date_span(filters: Filters, first: dt.date | None = None, last: dt.date | None = None) -> str:
    """'2019-01-15 → 2026-11-18': the filter's dates, else the data's first and last."""
    start, end = filters.date_from or first, filters.date_to or last
    if not start and not end:
        return "all dates"
    return f"{start or '…'} → {end or '…'}"


# --- loading ------------------------------------------------------------------------------

def _frame(db, sql: str, params: Sequence = ()) -> pd.DataFrame:
    cursor = db.execute(sql, list(params))
    columns = [c[0] for c in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    df["published"] = pd.to_datetime(df["published"], format="%Y-%m-%d", errors="coerce")
    for column in ("tone", "confidence"):
        df[column] = pd.to_numeric(df[column], errors="coerce").astype(float)
    df["low_confidence"] = df["low_confidence"].fillna(0).astype(bool)
    df["story_id"] = pd.to_numeric(df["story_id"], errors="coerce").astype("Int64")
    return df


def load_articles(db, filters: Filters = Filters(), with_topics: bool = False) -> pd.DataFrame:
    """One row per article passing the filters, oldest first.

    with_topics adds one column per topic, `score_<key>`, with the article's topic score.
    """
    where, params = filters.where()
    # Sorted in pandas: ORDER BY would pull SQLite onto the published index for the whole table.
    df = _typed(_frame(db, f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE {where}", params))
    df = df.sort_values(["published", "id"], kind="stable", na_position="last").reset_index(drop=True)
    if with_topics and len(df):
        scores = _frame(db, f"SELECT t.article_id AS id, t.topic, t.score FROM article_topics t "
                            f"JOIN articles a ON a.id = t.article_id WHERE {where}", params)
        if len(scores):
            wide = scores.pivot_table(index="id", columns="topic", values="score", aggfunc="first")
            wide.columns = [f"score_{c}" for c in wide.columns]
            df = df.merge(wide, left_on="id", right_index=True, how="left")
    return df


def coverage_end(db, filters: Filters = Filters(), today: dt.date | None = None) -> dt.date:
    """Last day the data can be complete for: the filter's end, the last ingest, or today.

    A period ending after this day is partial: its count is incomplete and its mean rests
    on part of the period, so charts mark it instead of showing it as a drop.
    """
    today = today or dt.date.today()
    row = db.execute("SELECT MAX(COALESCE(finished_at, started_at)) FROM runs").fetchone()
    end = _as_date(row[0]) if row and row[0] else today
    end = min(end, today)
    if filters.date_to:
        end = min(end, filters.date_to)
    return end


# --- periods and tone series --------------------------------------------------------------

def period_start(dates: pd.Series, grain: str) -> pd.Series:
    if grain == "day":
        return dates.dt.normalize()
    if grain == "week":
        return dates.dt.to_period("W-SUN").dt.start_time  # ISO weeks: Monday to Sunday
    if grain == "month":
        return dates.dt.to_period("M").dt.start_time
    if grain == "quarter":
        return dates.dt.to_period("Q").dt.start_time
    raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")


def period_end(starts: pd.Series, grain: str) -> pd.Series:
    """Last day (inclusive) of the periods starting at `starts` (numpy: pandas offsets are slow here)."""
    starts = pd.Series(starts)
    days = _period_end_days(starts.to_numpy(), grain)
    return pd.Series(days.astype(starts.dtype), index=starts.index, name=starts.name)


def _period_end_days(starts: np.ndarray, grain: str) -> np.ndarray:
    """period_end on a datetime64 array: the last days, as datetime64[D]."""
    days = starts.astype("datetime64[D]")
    if grain == "week":
        return days + 6
    if grain in ("month", "quarter"):
        return (days.astype("datetime64[M]") + (3 if grain == "quarter" else 1)).astype("datetime64[D]") - 1
    return days


def suggest_grain(df: pd.DataFrame, per_period: int = 10, max_periods: int = 200) -> str:
    """The finest grain whose typical period holds `per_period` articles, in a readable number of points.

    Sparse data (a few articles a month) gets quarters; a busy feed gets weeks or days.
    """
    dates = df["published"].dropna() if "published" in df else pd.Series(dtype="datetime64[us]")
    if dates.empty:
        return "month"
    for grain in GRAINS:
        counts = period_start(dates, grain).value_counts()
        if len(counts) <= max_periods and counts.median() >= per_period:
            return grain
    return GRAINS[-1]


# 97.5% Student-t quantiles for 1..30 degrees of freedom. A table, not scipy.stats: importing
# that takes seconds, and small periods are exactly where t differs from 1.96.
_T975 = np.array([np.nan, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                  2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080,
                  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042])


def _t975(n: np.ndarray) -> np.ndarray:
    """t quantile for n articles (n-1 degrees of freedom); NaN for a single article."""
    df = np.asarray(n, dtype=int) - 1
    far = 1.96 + 2.4 / np.maximum(df, 1)  # within 0.002 of the exact value beyond 30
    return np.where(df < 1, np.nan, np.where(df <= 30, _T975[np.clip(df, 0, 30)], far))


def tone_series(df: pd.DataFrame, grain: str = "month", by: str | None = None,
                as_of: dt.date | None = None) -> pd.DataFrame:
    """Mean tone per period (and per group `by`), with a 95% confidence band.

    Columns: [by], period, period_end, n, tone, sd, ci_low, ci_high, few, partial.
    The band is mean ± t·sd/√n (no band for a single article), clipped to the tone scale.
    few: n < 3. partial: the period ends after `as_of` (see :func:`coverage_end`).
    """
    keys = ([by] if by else []) + ["period"]
    columns = keys + ["period_end", "n", "tone", "sd", "ci_low", "ci_high", "few", "partial"]
    data = df.dropna(subset=["published", "tone"])
    if by:
        data = data.dropna(subset=[by])
    if data.empty:
        return pd.DataFrame(columns=columns)
    data = data.assign(period=period_start(data["published"], grain))
    out = data.groupby(keys, sort=True)["tone"].agg(n="count", tone="mean", sd="std").reset_index()
    return _finish_series(out, grain, as_of, columns)


def _finish_series(out: Mapping[str, Any], grain: str, as_of: dt.date | None, columns: list[str]) -> pd.DataFrame:
    """The series frame from its keys, period, n, tone and sd (a frame or a dict of arrays), built
    in one go: adding columns to a frame one at a time cost more than the aggregate itself here."""
    data = {name: np.asarray(out[name]) for name in columns if name in out}
    n = data["n"]
    half = _t975(n) * data["sd"].astype(float) / np.sqrt(n)
    data["ci_low"] = np.clip(data["tone"] - half, -1, 1)
    data["ci_high"] = np.clip(data["tone"] + half, -1, 1)
    end = _period_end_days(data["period"], grain)
    data["period_end"] = end.astype(data["period"].dtype)
    data["few"] = n < FEW
    data["partial"] = end > np.datetime64(as_of, "D") if as_of else np.zeros(len(n), dtype=bool)
    return pd.DataFrame({name: data[name] for name in columns})


def articles_in_period(df: pd.DataFrame, period: Any, grain: str, by: str | None = None,
                       group: Any = None) -> pd.DataFrame:
    """The articles behind one point of a tone or topic chart (newest first)."""
    start = pd.Timestamp(period)
    data = df.dropna(subset=["published"])
    mask = period_start(data["published"], grain) == start
    if by and group is not None:
        mask &= data[by] == group
    return data[mask].sort_values("published", ascending=False)


# --- articles behind a point, from the database ------------------------------------------

_BY_SQL = {None: "NULL", "lang": "a.lang", "source_country": _ORIGIN_SQL, "top_topic": "a.top_topic"}


def articles_in_period_db(db, filters: Filters, period: Any, grain: str, by: str | None = None,
                          group: Any = None, limit: int = 500) -> pd.DataFrame:
    """:func:`articles_in_period` straight from the database (newest first)."""
    start = pd.Timestamp(period)
    end = period_end(pd.Series([start]), grain).iloc[0]
    narrowed = replace(filters, date_from=max(filters.date_from or start.date(), start.date()),
                       date_to=min(filters.date_to or end.date(), end.date()))
    where, params = narrowed.where()
    if by and group is not None:
        where += f" AND {_BY_SQL[by]} = ?"
        params = [*params, group]
    df = _typed(_frame(db, f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE {where} "
                           f"ORDER BY a.published DESC, a.id LIMIT {int(limit)}", params))
    return df


# --- topics -------------------------------------------------------------------------------

def topic_share(df: pd.DataFrame, grain: str = "month", topics: Sequence[str] | None = None,
                as_of: dt.date | None = None) -> pd.DataFrame:
    """Share of the period's relevant articles whose main topic (top_topic) is k.

    Denominator: every article in `df` with a date in that period, so pass a frame loaded
    without a topic filter; `topics` only chooses which numerators to return.
    Columns: period, period_end, topic, n, total, share, few, partial.
    """
    columns = ["period", "period_end", "topic", "n", "total", "share", "few", "partial"]
    data = df.dropna(subset=["published"])
    if data.empty:
        return pd.DataFrame(columns=columns)
    data = data.assign(period=period_start(data["published"], grain))
    counts = pd.crosstab(data["period"], data["top_topic"].fillna("(none)"))
    return _finish_share(counts, grain, topics, as_of)


def _finish_share(counts: pd.DataFrame, grain: str, topics: Sequence[str] | None,
                  as_of: dt.date | None) -> pd.DataFrame:
    """From a period × topic count table (all topics, '(none)' included) to shares, one row per
    period and wanted topic (zero rows kept: stacked bars need them), sorted by period and topic."""
    counts = counts.sort_index()
    return _share_frame(counts.index.to_numpy(), list(counts.columns), counts.to_numpy(), grain, topics, as_of)


def _share_frame(periods: np.ndarray, names: Sequence[str], table: np.ndarray, grain: str,
                 topics: Sequence[str] | None, as_of: dt.date | None) -> pd.DataFrame:
    """:func:`_finish_share` on arrays: periods (sorted), topic names and the period × topic counts."""
    total = table.sum(axis=1)
    wanted = sorted(topics) if topics else sorted(c for c in names if c != "(none)")
    column = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(periods), len(wanted)), dtype=np.int64)
    for j, topic in enumerate(wanted):
        if topic in column:
            matrix[:, j] = table[:, column[topic]]
    period = np.repeat(periods, len(wanted))
    end = _period_end_days(period, grain)
    n, totals = matrix.ravel(), np.repeat(total, len(wanted))
    return pd.DataFrame({
        "period": period, "period_end": end.astype(period.dtype),
        "topic": np.tile(np.array(wanted, dtype=object), len(periods)), "n": n, "total": totals,
        "share": n / totals, "few": totals < FEW,
        "partial": end > np.datetime64(as_of, "D") if as_of else np.zeros(len(n), dtype=bool)})


def topic_tone_series(df: pd.DataFrame, grain: str = "month", as_of: dt.date | None = None) -> pd.DataFrame:
    """Tone over time per main topic: :func:`tone_series` grouped by top_topic, column `topic`."""
    return tone_series(df, grain, by="top_topic", as_of=as_of).rename(columns={"top_topic": "topic"})


def topic_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per main topic: articles, share of all, mean tone, share tense/cooperative."""
    columns = ["topic", "n", "share", "tone", "tense", "cooperative"]
    data = df.dropna(subset=["top_topic"])
    if data.empty:
        return pd.DataFrame(columns=columns)
    out = data.groupby("top_topic").agg(
        n=("id", "count"), tone=("tone", "mean"),
        tense=("tone_class", lambda s: (s == "tense").mean()),
        cooperative=("tone_class", lambda s: (s == "cooperative").mean()),
    ).reset_index().rename(columns={"top_topic": "topic"})
    out["share"] = out["n"] / len(df)
    return out[columns].sort_values(["n", "topic"], ascending=[False, True]).reset_index(drop=True)


# --- headline figures ---------------------------------------------------------------------

@dataclass
class Headline:
    """Overview figures for a period and the previous period of the same length (see Facts.headline)."""

    start: dt.date | None
    end: dt.date | None
    prev_start: dt.date | None
    prev_end: dt.date | None
    articles: int = 0
    articles_prev: int = 0
    tone: float | None = None
    tone_prev: float | None = None
    stories: int = 0
    stories_prev: int = 0
    rising_topic: str | None = None
    rising_share: float | None = None
    rising_delta: float | None = None  # change in share, in share points (0.1 = 10 points)
    topic_shares: dict = field(default_factory=dict)

    @property
    def tone_delta(self) -> float | None:
        if self.tone is None or self.tone_prev is None:
            return None
        return self.tone - self.tone_prev


# --- search and article detail ------------------------------------------------------------

def fts_query(text: str) -> str:
    """User text to a safe FTS5 query: every word must occur; `word*` is a prefix search.

    Quoting each token means quotes, hyphens or FTS keywords typed by a user never raise
    a syntax error.
    """
    terms = []
    for word, star in re.findall(r"(\w+)(\*?)", text or ""):
        terms.append(f'"{word}"' + ("*" if star else ""))
    return " ".join(terms)


def list_articles(db, filters: Filters = Filters(), query: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Articles for the table: full-text matches (best first) or, without a query, newest first.

    Adds `snippet` (matched words in [brackets]) when searching.
    """
    where, params = filters.where()
    match = fts_query(query or "")
    if match:
        sql = (f"SELECT {_ARTICLE_COLUMNS}, snippet(articles_fts, -1, '[', ']', '…', 14) AS snippet "
               f"FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
               f"WHERE articles_fts MATCH ? AND {where} ORDER BY articles_fts.rank LIMIT ?")
        df = _frame(db, sql, [match, *params, limit])
    else:
        df = _frame(db, f"SELECT {_ARTICLE_COLUMNS}, NULL AS snippet FROM articles a WHERE {where} "
                        "ORDER BY a.published DESC, a.id DESC LIMIT ?", [*params, limit])
    if df.empty:
        df = pd.DataFrame(columns=ARTICLE_COLUMNS + ["snippet"])
    return _typed(df)


def count_articles(db, filters: Filters = Filters(), query: str | None = None) -> int:
    where, params = filters.where()
    match = fts_query(query or "")
    if match:
        return db.execute(f"SELECT COUNT(*) FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
                          f"WHERE articles_fts MATCH ? AND {where}", [match, *params]).fetchone()[0]
    return db.execute(f"SELECT COUNT(*) FROM articles a WHERE {where}", params).fetchone()[0]


def article_detail(db, article_id: int) -> dict | None:
    """Everything about one article: row, topic scores, evidence, sentences, and the cooperative /
    mixed / tense shares its class was chosen from (None when scored before they were stored)."""
    rows = list(db.query("SELECT * FROM articles WHERE id = ?", [int(article_id)]))
    if not rows:
        return None
    article = rows[0]
    topics = _frame(db, "SELECT topic, score FROM article_topics WHERE article_id = ? ORDER BY score DESC",
                    [int(article_id)])
    sentences = _frame(db, "SELECT position, text, relevance, tone, scored FROM sentences "
                           "WHERE article_id = ? ORDER BY position", [int(article_id)])
    return {"article": article, "topics": topics, "evidence": _json_or(article.get("evidence"), []),
            "sentences": sentences, "shares": _json_or(article.get("tone_shares"), None)}


def _json_or(value: str | None, default):
    """A stored JSON column, or default when it is empty or unreadable (a damaged row still displays)."""
    try:
        return json.loads(value) if value else default
    except json.JSONDecodeError:
        return default


def semantic_search(db, query: str, embedder, k: int = 20, filters: Filters | None = None,
                    chunk: int = 50_000) -> pd.DataFrame:
    """Articles whose stored sentences are closest in meaning to `query`, in any language.

    The query is embedded with `embedder` and compared (cosine) with the sentence embeddings
    stored for the same model (table embeddings, float16). Each article counts once, by its
    best sentence. Raises NoEmbeddings when the database has none for embedder.name.
    Columns: article columns + sentence, similarity.
    """
    name = embedder.name
    if not db.execute("SELECT 1 FROM embeddings WHERE model = ? LIMIT 1", [name]).fetchone():
        models = [r[0] for r in db.execute("SELECT DISTINCT model FROM embeddings")]
        have = ", ".join(models) if models else "none"
        raise NoEmbeddings(f"no sentence embeddings stored for model {name!r} (stored: {have})")
    vector = np.asarray(embedder.encode([query]), dtype=np.float32)[0]
    vector /= np.linalg.norm(vector) or 1.0
    where, params = (filters or Filters()).where()
    cursor = db.execute(
        f"SELECT s.article_id, s.position, e.vector FROM sentences s "
        f"JOIN embeddings e ON e.model = ? AND e.text_key = s.text_key "
        f"JOIN articles a ON a.id = s.article_id WHERE {where}", [name, *params])
    ids, positions, sims = [], [], []
    # Chunks keep memory flat on large databases: float16 blobs become one matrix per chunk.
    while rows := cursor.fetchmany(chunk):
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float16).reshape(len(rows), -1)
        if matrix.shape[1] != vector.shape[0]:
            raise NoEmbeddings(f"stored vectors for {name!r} have {matrix.shape[1]} dimensions, "
                               f"the model gives {vector.shape[0]}")
        sims.append(matrix.astype(np.float32) @ vector)
        ids.extend(r[0] for r in rows)
        positions.extend(r[1] for r in rows)
    columns = ARTICLE_COLUMNS + ["sentence", "similarity"]
    if not ids:
        return pd.DataFrame(columns=columns)
    hits = pd.DataFrame({"id": ids, "position": positions, "similarity": np.concatenate(sims)})
    best = hits.sort_values("similarity", ascending=False).drop_duplicates("id").head(k)
    marks = ",".join("?" * len(best))
    meta = _frame(db, f"SELECT {_ARTICLE_COLUMNS} FROM articles a WHERE a.id IN ({marks})", best["id"].tolist())
    texts = _frame(db, "SELECT article_id AS id, position, text AS sentence FROM sentences WHERE "
                       + " OR ".join(["(article_id = ? AND position = ?)"] * len(best)),
                   [v for pair in zip(best["id"].tolist(), best["position"].tolist()) for v in pair])
    out = best.merge(texts, on=["id", "position"]).merge(meta, on="id")
    out["similarity"] = out["similarity"].astype(float).round(3)
    return _typed(out)[columns].reset_index(drop=True)


# --- database status ----------------------------------------------------------------------

def summary(db) -> dict:
    row = db.execute("SELECT COUNT(*), SUM(relevant = 1), COUNT(DISTINCT source), COUNT(DISTINCT lang), "
                     "MIN(substr(published,1,10)), MAX(substr(published,1,10)) FROM articles").fetchone()
    return {"articles": row[0] or 0, "relevant": row[1] or 0, "sources": row[2] or 0, "langs": row[3] or 0,
            "date_min": _as_date(row[4]), "date_max": _as_date(row[5])}


def scored_with_older_method(db, current: str = METHOD_VERSION) -> int:
    """Articles whose stored scores come from another scoring method than `current` (by default the
    installed one): their classes and topics may mean something else until `monitor rescore`."""
    row = db.execute("SELECT COUNT(*) FROM articles WHERE method IS NOT NULL AND method != ? AND method NOT LIKE ?",
                     [current, f"{current}/%"]).fetchone()
    return row[0] or 0


_COUNT_KEYS = {
    "source": "COALESCE(a.source, '(unknown)')",
    "lang": "a.lang",
    "origin": _ORIGIN_SQL,
    "month": "COALESCE(substr(a.published, 1, 7), '(no date)')",
}


def counts_by(db, key: str) -> pd.DataFrame:
    """Articles per source, lang, origin or month (whole database): columns key, articles, relevant."""
    expr = _COUNT_KEYS[key]
    order = "1" if key == "month" else "2 DESC, 1"
    return _frame(db, f"SELECT {expr} AS {key}, COUNT(*) AS articles, COALESCE(SUM(a.relevant = 1), 0) AS relevant "
                      f"FROM articles a GROUP BY 1 ORDER BY {order}")


def runs(db, limit: int = 50) -> pd.DataFrame:
    return _frame(db, "SELECT id, command, started_at, finished_at, ingested, updated, present, failed "
                      "FROM runs ORDER BY id DESC LIMIT ?", [limit])


def last_run(db) -> dict | None:
    df = runs(db, 1)
    return df.iloc[0].to_dict() if len(df) else None


def failures(db, limit: int = 1000) -> pd.DataFrame:
    """Records that could not be read, newest first, with the reason."""
    return _frame(db, "SELECT at, run_id, origin, line, reason FROM failures ORDER BY id DESC LIMIT ?", [limit])


def failure_reasons(db) -> pd.DataFrame:
    """Failures grouped by reason (the part before the first colon, so similar ones group)."""
    df = failures(db, 100_000)
    if df.empty:
        return pd.DataFrame(columns=["reason", "count"])
    kind = df["reason"].astype(str).str.split(":").str[0].str.slice(0, 80)
    return kind.value_counts().rename_axis("reason").reset_index(name="count")
