"""The dashboard's aggregates from an in-memory column snapshot of the articles.

Every chart aggregates the same few fields (date, relevance, language, source, origin, main
topic, tone, tone class, story). At 100,000 articles each SQL aggregate was a scan of the
covering index (0.15-0.5 s on this machine) and a filter change ran five of them. A
:class:`Facts` snapshot reads those fields once per data version (one query), and every filter,
grouping and period after that is numpy over flat arrays: milliseconds.

The results have the columns and values of the per-article pandas functions in
monitor.analytics (tone_series, topic_share, topic_summary...), which stay the reference: the
tests check both give the same frames.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import pandas as pd

from .analytics import _ORIGIN_SQL, GRAINS, Filters, Headline, _finish_series, _share_frame

_EPOCH = dt.date(1970, 1, 1)
_UNDATED = np.iinfo(np.int32).min
# Categorical fields, stored as codes into a tuple of names (-1: NULL).
_CODED = ("lang", "source", "source_country", "top_topic", "tone_class")
# What a tone series can be split by (the analytics' column names).
_GROUPINGS = ("lang", "source_country", "top_topic")


def _period_starts(day: np.ndarray, grain: str) -> np.ndarray:
    """First day of each day's period (weeks start on Monday), as days since 1970-01-01."""
    if grain == "day":
        return day
    if grain == "week":
        return day - (day + 3) % 7  # 1970-01-01 was a Thursday
    months = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    if grain == "quarter":
        months = months - months % 3
    elif grain != "month":
        raise ValueError(f"unknown grain {grain!r}")
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _day(value: dt.date) -> int:
    return (value - _EPOCH).days


def _codes(values: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes into the distinct values; the empty string (NULL in the database) is -1."""
    codes, names = pd.factorize(np.array(values, dtype=object))
    names = [str(n) for n in names]
    if "" in names:
        empty = names.index("")
        codes = np.where(codes == empty, -1, codes - (codes > empty))
        names.pop(empty)
    return codes.astype(np.int32), tuple(names)


@dataclass(frozen=True, eq=False)
class Facts:
    """One row per article: day (days since 1970-01-01, _UNDATED if none), relevant, tone (NaN if
    unscored), story (-1 if none) and codes into `names` for the categorical fields."""

    day: np.ndarray
    relevant: np.ndarray
    tone: np.ndarray
    story: np.ndarray
    codes: dict[str, np.ndarray]
    names: dict[str, tuple[str, ...]]
    _periods: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # by grain, computed once

    def __post_init__(self):
        # Shared between sessions by the dashboard's cache: nothing may change it in place.
        for array in (self.day, self.relevant, self.tone, self.story, *self.codes.values()):
            array.flags.writeable = False

    @classmethod
    def load(cls, db) -> "Facts":
        # Each field comes back as one string (group_concat), split and parsed by numpy: fetching
        # 100,000 rows as Python tuples took 2 s here and turning them into arrays 4 s more; this
        # takes ~1.5 s. All aggregates of one query walk the rows in the same order.
        texts = [f"COALESCE(replace({sql}, char(31), ' '), '')" for sql in
                 ("a.lang", "a.source", _ORIGIN_SQL, "a.top_topic", "a.tone_class")]
        row = db.execute(
            "SELECT COUNT(*), group_concat(COALESCE(CAST(julianday(substr(a.published, 1, 10)) - 2440587.5 "
            f"AS INTEGER), {_UNDATED}), ','), group_concat(COALESCE(a.relevant = 1, 0), ','), "
            "group_concat(COALESCE(a.tone, 'nan'), ','), group_concat(COALESCE(a.story_id, -1), ','), "
            + ", ".join(f"group_concat({sql}, char(31))" for sql in texts) + " FROM articles a").fetchone()
        count = row[0]

        def numbers(text, dtype):
            return np.array(text.split(","), dtype=dtype) if count else np.zeros(0, dtype=dtype)

        codes, names = {}, {}
        for column, text in zip(_CODED, row[5:]):
            codes[column], names[column] = _codes(text.split("\x1f") if count else [])
        return cls(day=numbers(row[1], np.int32), relevant=numbers(row[2], np.int8).astype(bool),
                   tone=numbers(row[3], float), story=numbers(row[4], np.int64), codes=codes, names=names)

    def __len__(self) -> int:
        return len(self.day)

    # --- selection ----------------------------------------------------------------------

    def _is(self, column: str, values: Sequence[str]) -> np.ndarray:
        # A lookup table indexed by code (its last slot, for code -1, stays False): one pass.
        wanted = set(values)
        table = np.array([name in wanted for name in self.names[column]] + [False])
        return table[self.codes[column]]

    def select(self, filters: Filters) -> np.ndarray:
        """Rows passing the filters (the same rows as Filters.where() in SQL)."""
        keep = self.relevant.copy() if filters.relevant_only else np.ones(len(self), dtype=bool)
        dated = self.day != _UNDATED
        if filters.date_from:
            keep &= dated & (self.day >= _day(filters.date_from))
        if filters.date_to:
            keep &= dated & (self.day <= _day(filters.date_to))
        for column, values in (("lang", filters.langs), ("source", filters.sources), ("top_topic", filters.topics),
                              ("source_country", filters.origins)):
            if values:
                keep &= self._is(column, values)
        return keep

    def _dated(self, filters: Filters) -> np.ndarray:
        """Rows passing the filters that have a date (every per-period figure needs one)."""
        return self.select(filters) & (self.day != _UNDATED)

    def _period(self, grain: str) -> np.ndarray:
        """First day of each row's period (weeks start on Monday), as days since 1970-01-01."""
        if grain not in self._periods:
            self._periods[grain] = _period_starts(self.day, grain)
        return self._periods[grain]

    # --- aggregates ---------------------------------------------------------------------

    def suggest_grain(self, filters: Filters = Filters(), per_period: int = 10, max_periods: int = 200) -> str:
        """The finest grain whose typical period holds `per_period` articles, in a readable number
        of points (as :func:`monitor.analytics.suggest_grain`)."""
        days, per_day = np.unique(self.day[self._dated(filters)], return_counts=True)
        if not len(days):
            return "month"
        for grain in GRAINS:
            _, period = np.unique(_period_starts(days, grain), return_inverse=True)
            counts = np.bincount(period, per_day)
            if len(counts) <= max_periods and np.median(counts) >= per_period:
                return grain
        return GRAINS[-1]

    def date_span(self, filters: Filters = Filters()) -> tuple[dt.date | None, dt.date | None]:
        days = self.day[self._dated(filters)]
        if not len(days):
            return None, None
        return _EPOCH + dt.timedelta(days=int(days.min())), _EPOCH + dt.timedelta(days=int(days.max()))

    def tone_series(self, filters: Filters = Filters(), grain: str = "month", by: str | None = None,
                    as_of: dt.date | None = None) -> pd.DataFrame:
        """Same frame as :func:`monitor.analytics.tone_series` on the selected articles."""
        keys = ([by] if by else []) + ["period"]
        columns = keys + ["period_end", "n", "tone", "sd", "ci_low", "ci_high", "few", "partial"]
        keep = self._dated(filters) & ~np.isnan(self.tone)
        if by is not None and by not in _GROUPINGS:
            raise ValueError(f"tone series can be split by {_GROUPINGS}, not {by!r}")
        group = self.codes[by] if by else np.zeros(len(self), dtype=np.int32)
        keep &= group >= 0
        if not keep.any():
            return pd.DataFrame(columns=columns)
        period, group, tone = self._period(grain)[keep], group[keep], self.tone[keep]
        # One integer key per (group, period); sums by bincount over the key range (no sort).
        low = int(period.min())
        span = int(period.max()) - low + 1
        key = group.astype(np.int64) * span + (period - low)
        size = (int(group.max()) + 1) * span
        n = np.bincount(key, minlength=size)
        unique = np.flatnonzero(n)
        n = n[unique].astype(float)
        mean = np.bincount(key, tone, minlength=size)[unique] / n
        variance = (np.bincount(key, tone * tone, minlength=size)[unique] - n * mean ** 2) / np.maximum(n - 1, 1)
        data = {"period": pd.to_datetime((unique % span + low).astype("datetime64[D]")).to_numpy(),
                "n": n.astype(int), "tone": mean,
                "sd": np.where(n > 1, np.sqrt(np.clip(variance, 0, None)), np.nan)}
        if by:
            # Sorted by group name, then period, as a groupby would.
            names = np.array(self.names[by], dtype=object)
            rank = np.argsort(np.argsort(names, kind="stable"))
            order = np.lexsort((unique % span, rank[unique // span]))
            data = {name: values[order] for name, values in data.items()}
            data[by] = names[unique[order] // span]
        return _finish_series(data, grain, as_of, columns)

    def topic_tone_series(self, filters: Filters = Filters(), grain: str = "month",
                          as_of: dt.date | None = None) -> pd.DataFrame:
        return self.tone_series(filters, grain, by="top_topic", as_of=as_of).rename(columns={"top_topic": "topic"})

    def topic_share(self, filters: Filters = Filters(), grain: str = "month", topics: Sequence[str] | None = None,
                    as_of: dt.date | None = None) -> pd.DataFrame:
        """Same frame as :func:`monitor.analytics.topic_share`; pass filters without a topic filter."""
        keep = self._dated(filters)
        if not keep.any():
            return pd.DataFrame(columns=["period", "period_end", "topic", "n", "total", "share", "few", "partial"])
        topic_names = [*self.names["top_topic"], "(none)"]
        topic = self.codes["top_topic"][keep].copy()
        topic[topic < 0] = len(topic_names) - 1
        periods, row = np.unique(self._period(grain)[keep], return_inverse=True)
        table = np.bincount(row * len(topic_names) + topic, minlength=len(periods) * len(topic_names))
        table = table.reshape(len(periods), len(topic_names))
        present = table.sum(axis=0) > 0
        return _share_frame(pd.to_datetime(periods.astype("datetime64[D]")).to_numpy(),
                            list(np.array(topic_names, dtype=object)[present]), table[:, present], grain, topics, as_of)

    def topic_summary(self, filters: Filters = Filters()) -> pd.DataFrame:
        """Same frame as :func:`monitor.analytics.topic_summary`: the share's denominator is every selected article."""
        columns = ["topic", "n", "share", "tone", "tense", "cooperative"]
        keep = self.select(filters)
        topic = self.codes["top_topic"][keep]
        total = int(keep.sum())
        if not (topic >= 0).any():
            return pd.DataFrame(columns=columns)
        named = topic >= 0
        topic, tone = topic[named], self.tone[keep][named]
        tone_class = np.array(self.names["tone_class"] + ("",), dtype=object)[self.codes["tone_class"][keep][named]]
        size = len(self.names["top_topic"])
        n = np.bincount(topic, minlength=size)
        scored = ~np.isnan(tone)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(topic[scored], tone[scored], minlength=size) / np.bincount(topic[scored], minlength=size)
        present = n > 0
        out = pd.DataFrame({
            "topic": np.array(self.names["top_topic"], dtype=object)[present], "n": n[present],
            "share": n[present] / total, "tone": mean[present],
            "tense": (np.bincount(topic, tone_class == "tense", minlength=size) / np.maximum(n, 1))[present],
            "cooperative": (np.bincount(topic, tone_class == "cooperative", minlength=size) / np.maximum(n, 1))[present],
        })
        return out[columns].sort_values(["n", "topic"], ascending=[False, True]).reset_index(drop=True)

    def _period_figures(self, filters: Filters) -> tuple[int, float | None, int, dict[str, float]]:
        keep = self.select(filters)
        tone = self.tone[keep]
        scored = tone[~np.isnan(tone)]
        story = self.story[keep]
        # Stories: distinct story ids, plus one per article that has none (not yet clustered).
        stories = len(np.unique(story[story >= 0])) + int((story < 0).sum())
        topic = self.codes["top_topic"][self.select(filters.without_topics())]
        total = len(topic)
        counts = np.bincount(topic[topic >= 0], minlength=len(self.names["top_topic"]))
        shares = {name: int(c) / total for name, c in zip(self.names["top_topic"], counts) if c} if total else {}
        return int(keep.sum()), (float(scored.mean()) if len(scored) else None), stories, shares

    def headline(self, filters: Filters = Filters(), window_days: int | None = None) -> Headline:
        """Figures for the selected period against the previous period of the same length.

        The period is the filter's date range; with window_days, the last `window_days` of it
        (ending at the filter's end date, or at the newest article).
        """
        lo, hi = self.date_span(filters.without_topics())
        end, start = filters.date_to or hi, filters.date_from or lo
        if end is None or start is None:
            return Headline(None, None, None, None)
        if window_days:
            start = max(start, end - dt.timedelta(days=window_days - 1))
        length = (end - start).days + 1
        prev_end = start - dt.timedelta(days=1)
        prev_start = prev_end - dt.timedelta(days=length - 1)
        n, tone, stories, shares = self._period_figures(replace(filters, date_from=start, date_to=end))
        n0, tone0, stories0, shares0 = self._period_figures(replace(filters, date_from=prev_start, date_to=prev_end))
        result = Headline(start, end, prev_start, prev_end, n, n0, tone, tone0, stories, stories0,
                          topic_shares=shares)
        candidates = [k for k in shares if not filters.topics or k in filters.topics]
        if candidates and n0:
            # Rising most: the largest gain in share of articles, not in raw count (volume varies).
            best = max(candidates, key=lambda k: shares[k] - shares0.get(k, 0.0))
            result.rising_topic, result.rising_share = best, shares[best]
            result.rising_delta = shares[best] - shares0.get(best, 0.0)
        return result

    def filter_options(self) -> dict:
        """What the sidebar can offer: languages (most articles first), sources with their origin,
        topics, date bounds over every article."""
        def by_count(column: str) -> list[str]:
            codes = self.codes[column]
            counts = np.bincount(codes[codes >= 0], minlength=len(self.names[column]))
            return [self.names[column][i] for i in np.argsort(-counts, kind="stable") if counts[i]]

        # Articles per (source, origin) in one pass; each source is listed with its commonest origin.
        # Every article has an origin (unknown included: see _ORIGIN_SQL), so there is one whenever
        # there is a source.
        rows = []
        if self.names["source"]:
            origins = self.names["source_country"]
            named = self.codes["source"] >= 0
            pairs = np.bincount(self.codes["source"][named] * len(origins) + self.codes["source_country"][named],
                                minlength=len(self.names["source"]) * len(origins))
            pairs = pairs.reshape(len(self.names["source"]), len(origins))
            rows = [(name, origins[pairs[i].argmax()], int(pairs[i].sum())) for i, name in enumerate(self.names["source"])]
        sources = pd.DataFrame(sorted(rows), columns=["source", "origin", "n"])
        lo, hi = self.date_span(Filters(relevant_only=False))
        return {"langs": by_count("lang"), "sources": sources, "topics": sorted(self.names["top_topic"]),
                "date_min": lo, "date_max": hi}
