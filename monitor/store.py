"""SQLite storage through sqlite-utils: the only module that writes SQL.

WAL mode lets the dashboard read while an ingest writes. Each article is written in one
transaction with its sentences, topics and search index, so a run killed at any point
leaves whole articles or none; running it again completes the work without duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import sqlite_utils

from .models import Article, Failure, Score

SCHEMA_VERSION = 1
# (column, type) added to `articles` since the first schema (session 10: the class shares, see scoring.tone_shares).
_ADDED_COLUMNS = [("tone_shares", "TEXT")]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    lang TEXT NOT NULL,
    published TEXT,
    source TEXT,
    source_country TEXT,
    url TEXT,
    origin TEXT,
    demo INTEGER NOT NULL DEFAULT 0,
    story_id INTEGER,
    relevant INTEGER,
    relevance REAL,
    tone REAL,
    tone_class TEXT,
    tone_shares TEXT,
    confidence REAL,
    low_confidence INTEGER,
    top_topic TEXT,
    topics TEXT,
    evidence TEXT,
    model TEXT,
    method TEXT,
    scored_at TEXT,
    ingested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS idx_articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS idx_articles_relevant ON articles(relevant, published);
CREATE INDEX IF NOT EXISTS idx_articles_story ON articles(story_id);
-- Covers every column the dashboard's aggregates read: they scan this small index, never the
-- table's pages, which hold the article texts (10x faster at 100k articles).
CREATE INDEX IF NOT EXISTS idx_articles_dashboard ON articles(published, relevant, lang, source, source_country,
    top_topic, tone, tone_class, confidence, low_confidence, story_id);
CREATE TABLE IF NOT EXISTS article_topics (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (article_id, topic)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_topics_topic ON article_topics(topic);
CREATE TABLE IF NOT EXISTS sentences (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_key TEXT NOT NULL,
    relevance REAL,
    tone REAL,
    scored INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS embeddings (
    model TEXT NOT NULL,
    text_key TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stories (
    id INTEGER PRIMARY KEY,
    first_published TEXT,
    centroid BLOB,
    model TEXT,
    size INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    run_id INTEGER,
    origin TEXT NOT NULL,
    line INTEGER,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    ingested INTEGER DEFAULT 0,
    updated INTEGER DEFAULT 0,
    present INTEGER DEFAULT 0,
    failed INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS records (
    raw_key TEXT PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen_urls (
    url TEXT PRIMARY KEY,
    source TEXT,
    status TEXT NOT NULL,
    at TEXT NOT NULL
) WITHOUT ROWID;
"""


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def open_db(path: str | Path | None = None, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open (and create or migrate) the database. path None or ':memory:' gives a fresh in-memory DB."""
    if path is None or str(path) == ":memory:":
        db = sqlite_utils.Database(memory=True)
    else:
        path = Path(path)
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            return sqlite_utils.Database(conn)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=10000")
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> None:
    db.conn.executescript(_SCHEMA)
    # Columns added after a database may have been created: NULL until the article is re-scored.
    present = {row[1] for row in db.execute("PRAGMA table_info(articles)").fetchall()}
    for column, kind in _ADDED_COLUMNS:
        if column not in present:
            db.execute(f"ALTER TABLE articles ADD COLUMN {column} {kind}")
    if "articles_fts" not in db.table_names():
        db["articles"].enable_fts(["title", "text"], create_triggers=True, tokenize="unicode61 remove_diacritics 2")
    db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('data_version', '0')")
    db.conn.commit()


def data_version(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT value FROM meta WHERE key='data_version'").fetchone()
    return int(row[0]) if row else 0


def _bump_version(db: sqlite_utils.Database) -> None:
    db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='data_version'")


# --- embeddings ---------------------------------------------------------------------------

class VectorCache:
    """Embeddings by (model, sentence text key), so nothing is embedded twice."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(
                f"SELECT text_key, vector FROM embeddings WHERE model=? AND text_key IN ({marks})",
                [model, *chunk],
            ):
                found[key] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        return found

    def put_many(self, model: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO embeddings(model, text_key, vector) VALUES (?, ?, ?)",
            [(model, key, np.asarray(vec, dtype=np.float16).tobytes()) for key, vec in items],
        )


# --- articles -----------------------------------------------------------------------------

def find_existing(db: sqlite_utils.Database, identity: str, content_hash: str) -> tuple[str, int | None]:
    """'new', 'present' (same identity, same content), 'changed' or 'duplicate' (same text elsewhere)."""
    row = db.execute("SELECT id, content_hash FROM articles WHERE identity=?", [identity]).fetchone()
    if row:
        return ("present" if row[1] == content_hash else "changed"), row[0]
    row = db.execute("SELECT id FROM articles WHERE content_hash=? LIMIT 1", [content_hash]).fetchone()
    if row:
        return "duplicate", row[0]
    return "new", None


def _upsert(db: sqlite_utils.Database, table: str, key: str, record: dict) -> int:
    """Insert or update by a unique column with plain SQL (no implicit commits inside)."""
    row = db.execute(f"SELECT id FROM {table} WHERE {key}=?", [record[key]]).fetchone()
    cols = list(record)
    if row:
        db.execute(f"UPDATE {table} SET " + ", ".join(f"{c}=?" for c in cols) + " WHERE id=?",
                   [record[c] for c in cols] + [row[0]])
        return row[0]
    cur = db.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     [record[c] for c in cols])
    return cur.lastrowid


def save_article(db: sqlite_utils.Database, article: Article, score: Score, sentences: list[str],
                 scored_positions: set[int], story_id: int | None = None) -> int:
    """Insert or update one article with its scores, sentences and topics (no commit: see save_batch)."""
    stamp = now()
    record = {
        "identity": article.identity,
        "content_hash": article.content_hash,
        "title": article.title,
        "text": article.text,
        "lang": article.lang,
        "published": article.published.isoformat() if article.published else None,
        "source": article.source,
        "source_country": article.source_country,
        "url": article.url,
        "origin": article.origin,
        "demo": int(article.demo),
        "updated_at": stamp,
        **score_columns(score),
    }
    exists = db.execute("SELECT 1 FROM articles WHERE identity=?", [record["identity"]]).fetchone()
    if not exists:
        record["ingested_at"] = stamp
    article_id = _upsert(db, "articles", "identity", record)
    _write_details(db, article_id, score, sentences, scored_positions)
    remember_record(db, article, article_id)
    return article_id


def remember_record(db: sqlite_utils.Database, article: Article, article_id: int) -> None:
    """Note the raw record behind a stored article, so reading it again costs one lookup."""
    if article.raw_key:
        db.execute("INSERT OR REPLACE INTO records(raw_key, article_id) VALUES (?, ?)", [article.raw_key, article_id])


class RecordIndex:
    """`key in index`: is this raw record (readers.record_key) already stored?"""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def __call__(self, raw_key: str) -> bool:
        return self.db.execute("SELECT 1 FROM records WHERE raw_key=?", [raw_key]).fetchone() is not None


def save_batch(db: sqlite_utils.Database, items: list[tuple[Article, Score, list[str], set[int]]]) -> list[int]:
    """Save a batch in ONE transaction: a crash leaves whole batches or nothing of them."""
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        ids = [save_article(db, *item) for item in items]
        _bump_version(db)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ids


def score_columns(score: Score) -> dict:
    return {
        "relevant": int(score.relevant),
        "relevance": score.relevance,
        "tone": score.tone,
        "tone_class": score.tone_class,
        "tone_shares": json.dumps(score.shares),
        "confidence": score.confidence,
        "low_confidence": int(score.low_confidence),
        "top_topic": score.top_topic,
        "topics": json.dumps(score.topics),
        "evidence": json.dumps([e.__dict__ for e in score.evidence], ensure_ascii=False),
        "model": score.model,
        "method": score.method,
        "scored_at": now(),
    }


def _write_details(db, article_id: int, score: Score, sentences: list[str], scored_positions: set[int]) -> None:
    from .text import text_key

    db.execute("DELETE FROM article_topics WHERE article_id=?", [article_id])
    db.conn.executemany(
        "INSERT INTO article_topics(article_id, topic, score) VALUES (?, ?, ?)",
        [(article_id, k, v) for k, v in score.topics.items()],
    )
    by_position = {s["position"]: s for s in score.sentence_scores}
    db.execute("DELETE FROM sentences WHERE article_id=?", [article_id])
    db.conn.executemany(
        "INSERT INTO sentences(article_id, position, text, text_key, relevance, tone, scored) VALUES (?,?,?,?,?,?,?)",
        [
            (article_id, pos, sent, text_key(sent), by_position.get(pos, {}).get("relevance"),
             by_position.get(pos, {}).get("tone"), int(pos in scored_positions))
            for pos, sent in enumerate(sentences)
        ],
    )


def update_scores(db: sqlite_utils.Database, article_id: int, score: Score, sentences: list[str],
                  scored_positions: set[int]) -> None:
    with db.conn:
        cols = score_columns(score)
        db.execute("UPDATE articles SET " + ", ".join(f"{c}=?" for c in cols) + " WHERE id=?",
                   [*cols.values(), article_id])
        _write_details(db, article_id, score, sentences, scored_positions)
        _bump_version(db)


def article_sentences(db: sqlite_utils.Database, article_id: int) -> list[dict]:
    return list(db.query("SELECT * FROM sentences WHERE article_id=? ORDER BY position", [article_id]))


def iter_article_ids(db: sqlite_utils.Database) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM articles ORDER BY id")]


def get_article(db: sqlite_utils.Database, article_id: int) -> dict | None:
    rows = list(db.query("SELECT * FROM articles WHERE id=?", [article_id]))
    return rows[0] if rows else None


def mark_present(db: sqlite_utils.Database, article_id: int, article: Article) -> None:
    """A re-read article: fill in metadata it lacked, change nothing else."""
    updates = {}
    found = db.execute("SELECT source, source_country, url, published FROM articles WHERE id=?",
                       [article_id]).fetchone()
    if found is None:
        return
    row = dict(zip(("source", "source_country", "url", "published"), found))
    for field in ("source", "source_country", "url"):
        if not row.get(field) and getattr(article, field):
            updates[field] = getattr(article, field)
    if not row.get("published") and article.published:
        updates["published"] = article.published.isoformat()
    with db.conn:
        if updates:
            db.execute("UPDATE articles SET " + ", ".join(f"{c}=?" for c in updates) + " WHERE id=?",
                       [*updates.values(), article_id])
            _bump_version(db)
        remember_record(db, article, article_id)


# --- runs and failures --------------------------------------------------------------------

def start_run(db: sqlite_utils.Database, command: str) -> int:
    with db.conn:
        return db["runs"].insert({"command": command, "started_at": now()}).last_pk


def finish_run(db: sqlite_utils.Database, run_id: int, counts: dict) -> None:
    with db.conn:
        db["runs"].update(run_id, {"finished_at": now(), **{k: counts.get(k, 0) for k in
                                                             ("ingested", "updated", "present", "failed")}})
        _bump_version(db)


def record_failure(db: sqlite_utils.Database, run_id: int | None, failure: Failure) -> None:
    with db.conn:
        db["failures"].insert({"run_id": run_id, "origin": failure.origin, "line": failure.line,
                               "reason": failure.reason, "at": now()})


# --- benchmarks ---------------------------------------------------------------------------

def replicate_articles(db: sqlite_utils.Database, total: int, seed: int = 7,
                       first: str = "2019-01-01", days: int = 2900) -> int:
    """Grow the table to `total` articles by copying scored ones under new identities and dates.

    For the dashboard benchmark only: the copies keep real titles, texts and scores (and
    topic scores), spread over `days` days from `first`; sentences are not copied.
    """
    have = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    ids = [r[0] for r in db.execute("SELECT id FROM articles WHERE tone IS NOT NULL ORDER BY id")]
    if not ids or have >= total:
        return have
    columns = [c for c in db["articles"].columns_dict if c not in ("id", "identity", "content_hash", "published")]
    cols = ", ".join(columns)
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TEMP TABLE plan (n INTEGER PRIMARY KEY, src INTEGER, day INTEGER)")
        rng = random.Random(seed)
        conn.executemany("INSERT INTO plan VALUES (?, ?, ?)",
                         [(n, ids[n % len(ids)], rng.randrange(days)) for n in range(have, total)])
        conn.execute(
            f"INSERT INTO articles (identity, content_hash, published, {cols}) "
            f"SELECT 'bench:' || p.n, 'bench:' || p.n, date(?, '+' || p.day || ' days'), "
            + ", ".join(f"a.{c}" for c in columns) + " FROM plan p JOIN articles a ON a.id = p.src", [first])
        conn.execute(
            "INSERT INTO article_topics (article_id, topic, score) "
            "SELECT c.id, t.topic, t.score FROM plan p JOIN articles c ON c.identity = 'bench:' || p.n "
            "JOIN article_topics t ON t.article_id = p.src")
        conn.execute("DROP TABLE plan")
        _bump_version(db)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
