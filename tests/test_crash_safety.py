"""A real `python -m monitor ingest`, killed with SIGKILL midway, and read while it writes.

The store writes each article with its sentences, topics and search row in one transaction,
in WAL mode: a kill leaves whole articles or none, a rerun completes the work without
duplicates, and a reader on another connection never waits for or sees half an article.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from monitor.store import open_db
from tests.conftest import ROOT

N = 300
TOPICS = ["visas", "migration", "security", "trade", "energy", "Western Sahara", "education", "culture"]
PLACES = ["Rabat", "Paris", "Casablanca", "Marseille", "Tangier", "Lyon", "Agadir", "Bordeaux"]
WORDS = ("agreement talks minister delegation cooperation dispute embassy consulate investment railway port "
         "students farmers exporters customs border summit statement parliament tariff grant loan").split()


def write_corpus(path: Path, n: int = N) -> Path:
    """n distinct English articles about Morocco and France (language given: no detection needed)."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            topic, place = TOPICS[i % len(TOPICS)], PLACES[(i // 8) % len(PLACES)]
            sentences = [f"Morocco and France held talks on {topic} in {place}, report number {i}."]
            sentences += [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + f" in case {i}-{k}."
                          for k in range(6)]
            out.write(json.dumps({"title": f"Morocco and France: {topic} ({i})", "text": " ".join(sentences),
                                  "lang": "en", "published": f"2025-03-{1 + i % 28:02d}",
                                  "url": f"https://crash.test/{i}"}) + "\n")
    return path


@pytest.fixture
def env(tmp_path, hashing_scorer):
    """Environment for the CLI: the hashing model, with the session's trained heads copied in
    so the subprocess spends its time ingesting, not training."""
    hashing_scorer.heads(hashing_scorer.embedder)
    cache = tmp_path / "cache"
    cache.mkdir()
    for pickle in Path(hashing_scorer.settings.cache_dir).glob("heads-hashing-512-*.pkl"):
        shutil.copy(pickle, cache)
    return dict(os.environ, MONITOR_MODEL="hashing-512", MONITOR_SELECTOR="none", MONITOR_CACHE=str(cache))


def ingest(corpus: Path, db: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "monitor", "ingest", str(corpus), "--db", str(db)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def count(db: Path) -> int:
    """Articles visible to a fresh reader (0 before the schema exists)."""
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(db, timeout=10)) as conn:
            return conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise


def partial_articles(conn) -> int:
    return conn.execute(
        "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM sentences s WHERE s.article_id = a.id) "
        "OR NOT EXISTS (SELECT 1 FROM article_topics t WHERE t.article_id = a.id)").fetchone()[0]


def test_killed_ingest_leaves_whole_articles_and_a_rerun_completes(tmp_path, env):
    corpus, db = write_corpus(tmp_path / "corpus.jsonl"), tmp_path / "crash.db"
    proc = ingest(corpus, db, env)
    deadline = time.monotonic() + 180
    try:
        while count(db) < N // 4:  # past a few committed batches, well before the end
            assert proc.poll() is None, f"ingest ended before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "ingest made no progress"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    with closing(sqlite3.connect(db)) as conn:  # the first connection after the kill recovers the WAL
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")  # FTS rows match
        killed_at = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        assert 0 < killed_at < N
        assert partial_articles(conn) == 0
        # The run was cut short: its runs row has no end, and nothing claims otherwise.
        assert conn.execute("SELECT finished_at FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0] is None

    rerun = ingest(corpus, db, env)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"{N - killed_at} ingested" in out and f"{killed_at} already present" in out
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT url), COUNT(DISTINCT content_hash) FROM articles"
                            ).fetchone() == (N, N, N)
        assert partial_articles(conn) == 0
        assert conn.execute("SELECT COUNT(*) FROM articles_fts").fetchone()[0] == N


def test_a_reader_can_query_while_an_ingest_writes(tmp_path, env):
    corpus, db = write_corpus(tmp_path / "corpus.jsonl"), tmp_path / "wal.db"
    proc = ingest(corpus, db, env)
    seen, reads = set(), 0
    try:
        while count(db) == 0:  # the schema is there and the first batch committed
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        while proc.poll() is None:
            # A new connection each time, as a dashboard page load would; read-only, like the dashboard.
            reader = open_db(db, readonly=True)
            try:
                # One read transaction is one snapshot (separate statements may each see a newer one):
                # every article it shows is whole, and the search index agrees.
                reader.execute("BEGIN")
                n = reader.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
                assert partial_articles(reader.conn) == 0
                assert reader.execute("SELECT COUNT(*) FROM articles_fts").fetchone()[0] == n
                reader.execute("SELECT tone_class, COUNT(*) FROM articles WHERE relevant=1 GROUP BY 1").fetchall()
            finally:
                reader.conn.close()
            seen.add(n)
            reads += 1
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert f"{N} ingested" in out
    assert reads >= 3 and any(0 < n < N for n in seen), (reads, sorted(seen))
