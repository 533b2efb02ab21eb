from monitor.cli import _progress
from monitor.demo import build_demo
from monitor.store import open_db


def test_demo_corpus_builds(settings, hashing_scorer):
    report = build_demo(settings, scorer=hashing_scorer, progress_factory=_progress)
    assert report.failed == 0 and report.ingested >= 240
    db = open_db(settings.db_path)
    langs = dict(db.execute("SELECT lang, COUNT(*) FROM articles GROUP BY lang").fetchall())
    assert set(langs) == {"ar", "fr", "en"} and min(langs.values()) >= 80
    years = {r[0] for r in db.execute("SELECT substr(published, 1, 4) FROM articles")}
    assert {str(y) for y in range(2019, 2027)} <= years
    assert db.execute("SELECT COUNT(*) FROM articles WHERE demo = 0").fetchone()[0] == 0
    assert {r[0] for r in db.execute("SELECT DISTINCT source_country FROM articles")} == {"MA", "FR", "INT"}
    # The scraped footers written into some demo articles are gone.
    for marker in ("شاهد أيضاً", "اترك تعليقاً", "Laisser un commentaire", "Leave a Reply"):
        assert db.execute("SELECT COUNT(*) FROM articles WHERE text LIKE ?", [f"%{marker}%"]).fetchone()[0] == 0
