import json
import os
import subprocess
import sys

import pytest

from monitor.pipeline import ingest_articles, read_all
from monitor.store import open_db
from tests.conftest import ROOT, SEED

FR_ARTICLE = {
    "title": "Paris et Rabat renforcent leur coopération sécuritaire",
    "text": "Les ministres de l'Intérieur du Maroc et de la France ont signé à Rabat un accord pour "
            "lutter contre les réseaux de passeurs. Ils ont promis de renforcer l'échange de renseignements.",
    "published": "2025-04-14", "source": "Le Quotidien (test)", "url": "https://example.test/a1",
}
EN_ARTICLE = {
    "title": "France halves visas for Moroccans",
    "text": "Paris said it would halve the number of visas granted to Moroccan citizens. Rabat called the "
            "decision unjustified and summoned the French chargé d'affaires.",
    "published": "2021-09-28", "source": "Wire (test)",
}


def counts(db):
    return {t: db[t].count for t in ("articles", "sentences", "article_topics", "failures")}


def test_ingest_batch_with_bad_files_keeps_going(tmp_path, settings, hashing_scorer, write_jsonl):
    batch = tmp_path / "batch"
    batch.mkdir()
    write_jsonl("batch/good.jsonl", [FR_ARTICLE, EN_ARTICLE])
    (batch / "empty.txt").write_bytes(b"")
    (batch / "image.txt").write_bytes(b"\x00\x01\x02PNG" * 100)
    (batch / "broken.jsonl").write_text('{"title": "x", "text": "y"\n', encoding="utf-8")
    (batch / "page.html").write_text(
        "<html><body><script>document.write('x')</script><article><h1>Visite</h1><p>Le ministre français des "
        "Affaires étrangères est arrivé à Rabat pour relancer le partenariat avec le Maroc, a annoncé le Quai "
        "d'Orsay.</p></article></body></html>", encoding="utf-8")
    db = open_db(settings.db_path)
    report = ingest_articles(read_all([batch], settings), db, hashing_scorer)
    assert report.ingested == 3
    reasons = {os.path.basename(f.origin.split(":")[0]): f.reason for f in report.failures}
    assert set(reasons) == {"empty.txt", "image.txt", "broken.jsonl"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["image.txt"]
    assert "broken JSON" in reasons["broken.jsonl"]
    assert db["failures"].count == 3
    assert "<" not in db.execute("SELECT text FROM articles WHERE title='Visite'").fetchone()[0]

    before = counts(db)
    again = ingest_articles(read_all([batch], settings), db, hashing_scorer)
    assert again.ingested == 0 and again.present == 3
    after = counts(db)
    assert after["articles"] == before["articles"] and after["sentences"] == before["sentences"]


def test_reingest_skips_unchanged_records_unparsed(settings, hashing_scorer, write_jsonl, monkeypatch):
    from monitor import readers

    path = write_jsonl("a.jsonl", [FR_ARTICLE, EN_ARTICLE])
    db = open_db(settings.db_path)
    assert ingest_articles(read_all([path], settings, db), db, hashing_scorer).ingested == 2
    before = counts(db)
    built = []
    real = readers.record_to_article
    monkeypatch.setattr(readers, "record_to_article", lambda *a, **k: built.append(a) or real(*a, **k))
    again = ingest_articles(read_all([path], settings, db), db, hashing_scorer)
    assert (again.ingested, again.present, built) == (0, 2, [])  # nothing parsed again
    assert counts(db) == before

    # One record edited: only that one is parsed, and it updates its article in place.
    write_jsonl("a.jsonl", [FR_ARTICLE, {**EN_ARTICLE, "text": EN_ARTICLE["text"] + " Talks resumed later."}])
    third = ingest_articles(read_all([path], settings, db), db, hashing_scorer)
    assert (third.ingested, third.present, len(built)) == (1, 1, 1)
    assert counts(db)["articles"] == before["articles"] + 1  # EN has no URL: its identity is its content


def test_changed_article_is_updated_not_duplicated(settings, hashing_scorer, write_jsonl):
    db = open_db(settings.db_path)
    first = write_jsonl("v1.jsonl", [FR_ARTICLE])
    ingest_articles(read_all([first], settings), db, hashing_scorer)
    changed = dict(FR_ARTICLE, text=FR_ARTICLE["text"] + " Une nouvelle réunion est prévue à Paris.")
    second = write_jsonl("v2.jsonl", [changed])
    report = ingest_articles(read_all([second], settings), db, hashing_scorer)
    assert report.updated == 1 and report.ingested == 0
    assert db["articles"].count == 1
    assert "nouvelle réunion" in db.execute("SELECT text FROM articles").fetchone()[0]


def test_same_text_under_another_name_is_stored_once(settings, hashing_scorer, write_jsonl):
    db = open_db(settings.db_path)
    copy = dict(EN_ARTICLE, source="Another outlet", url="https://other.test/x")
    path = write_jsonl("dups.jsonl", [EN_ARTICLE, copy])
    report = ingest_articles(read_all([path], settings), db, hashing_scorer)
    assert report.ingested == 1 and report.duplicates == 1 and db["articles"].count == 1


def test_undated_article_stays_undated(settings, hashing_scorer, write_jsonl):
    db = open_db(settings.db_path)
    path = write_jsonl("undated.jsonl", [dict(EN_ARTICLE, published=None)])
    ingest_articles(read_all([path], settings), db, hashing_scorer)
    assert db.execute("SELECT published FROM articles").fetchone()[0] is None


@pytest.mark.skipif(not SEED.exists(), reason="shared seed not present")
def test_seed_ingests_once(settings, hashing_scorer):
    db = open_db(settings.db_path)
    report = ingest_articles(read_all([SEED], settings), db, hashing_scorer)
    assert report.ingested == 1
    row = db.execute("SELECT lang, text FROM articles").fetchone()
    assert row[0] == "ar" and "اترك تعليقاً" not in row[1] and "شاهد أيضاً" not in row[1]
    again = ingest_articles(read_all([SEED], settings), db, hashing_scorer)
    assert again.present == 1 and db["articles"].count == 1


def test_wal_mode_and_fts(settings, hashing_scorer, write_jsonl):
    db = open_db(settings.db_path)
    ingest_articles(read_all([write_jsonl("a.jsonl", [FR_ARTICLE, EN_ARTICLE])], settings), db, hashing_scorer)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    hits = db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH 'passeurs'").fetchall()
    assert len(hits) == 1


def test_database_from_before_stored_shares_gains_the_column(settings, hashing_scorer, write_jsonl):
    """A database made before tone_shares existed opens with the column added; its rows are kept (shares
    empty until re-scored), and a newly scored article stores and exports its shares."""
    import io

    from monitor import store
    from monitor.exporting import export_articles

    db = open_db(settings.db_path)
    ingest_articles(read_all([write_jsonl("a.jsonl", [FR_ARTICLE])], settings), db, hashing_scorer)
    db.execute("ALTER TABLE articles DROP COLUMN tone_shares")  # as the first schema made it
    db.conn.commit()
    db.conn.close()
    db = open_db(settings.db_path)
    assert "tone_shares" in db["articles"].columns_dict
    assert db.execute("SELECT count(*), max(tone_shares) FROM articles").fetchone() == (1, None)
    ingest_articles(read_all([write_jsonl("b.jsonl", [EN_ARTICLE])], settings), db, hashing_scorer)
    out = io.StringIO()
    assert export_articles(db, out) == 2
    shares = {row["lang"]: row["tone_shares"] for row in map(json.loads, out.getvalue().splitlines())}
    assert shares["fr"] is None and set(shares["en"]) == {"cooperative", "mixed", "tense"}
    assert store.SCHEMA_VERSION == 1  # columns are added in place; the version marks incompatible changes


def run_cli(*args, env=None, stdin=None, cwd=ROOT):
    full_env = dict(os.environ, MONITOR_MODEL="hashing-512", MONITOR_SELECTOR="none", **(env or {}))
    return subprocess.run([sys.executable, "-m", "monitor", *args], capture_output=True, text=True,
                          env=full_env, input=stdin, cwd=cwd, timeout=300)


def test_cli_ingest_export_and_exit_codes(tmp_path, write_jsonl, hashing_scorer, shared_cache):
    env = {"MONITOR_CACHE": str(shared_cache)}
    good = write_jsonl("good.jsonl", [FR_ARTICLE])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"")
    db = tmp_path / "cli.db"
    result = run_cli("ingest", str(good), str(bad), "--db", str(db), env=env)
    assert result.returncode == 1, result.stderr
    assert "1 ingested" in result.stdout and "1 failed" in result.stdout and "bad.txt: empty file" in result.stdout
    result = run_cli("ingest", str(good), "--db", str(db), env=env)
    assert result.returncode == 0 and "1 already present" in result.stdout
    out = run_cli("export", "--db", str(db), "--format", "jsonl", env=env)
    [row] = [json.loads(l) for l in out.stdout.splitlines()]
    for key in ("id", "lang", "relevant", "tone", "topics", "top_topic", "evidence", "title", "text",
                "published", "source", "url"):
        assert key in row
    assert row["published"] == "2025-04-14" and row["lang"] == "fr"
    csv_out = run_cli("export", "--db", str(db), "--format", "csv", env=env)
    assert csv_out.stdout.splitlines()[0].startswith("id,lang,relevant,relevance,tone")


def test_cli_score_reads_stdin(tmp_path, hashing_scorer, shared_cache):
    lines = "\n".join([json.dumps({"id": "a", **EN_ARTICLE}), "{not json", json.dumps({"id": "b", "text": ""})])
    result = run_cli("score", env={"MONITOR_CACHE": str(shared_cache)}, stdin=lines)
    assert result.returncode == 1
    [row] = [json.loads(l) for l in result.stdout.splitlines()]
    assert row["id"] == "a" and row["lang"] == "en" and isinstance(row["relevant"], bool)
    assert -1 <= row["tone"] <= 1 and set(row["topics"]) >= {"security", "migration", "visas"}
    assert all({"text", "tone"} <= set(e) for e in row["evidence"])
    assert "<stdin>:2: broken JSON line" in result.stderr and "<stdin>:3" in result.stderr


def test_cli_export_without_database(tmp_path):
    result = run_cli("export", "--db", str(tmp_path / "none.db"))
    assert result.returncode == 2 and "python -m monitor demo" in result.stderr
