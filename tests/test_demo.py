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


class NoModel:
    """An embedder that must not be asked: everything should come from the shipped vectors."""

    def __init__(self, name: str, dim: int):
        self.name, self.dim = name, dim

    def encode(self, texts):
        raise AssertionError(f"embedded {len(texts)} sentences instead of using the shipped vectors")


def test_demo_vectors_ship_and_spare_the_model(settings, hashing_scorer, tmp_path):
    """`demo --save-vectors` bundles every demo sentence; a fresh build then embeds nothing
    and stores the same scores."""
    import shutil

    from monitor.demo import save_demo_vectors
    from monitor.pipeline import Scorer

    demo = tmp_path / "demo"
    demo.mkdir()
    shutil.copy(settings.demo_dir / "articles_en_a.jsonl", demo)
    first = settings.with_(demo_dir=demo, db_path=tmp_path / "first.db")
    build_demo(first, scorer=hashing_scorer)
    [bundle] = save_demo_vectors(first, hashing_scorer)
    assert bundle == demo / "vectors" / "hashing-512.npz"

    offline = Scorer(first, embedder=NoModel("hashing-512", 512), use_selector=False)
    offline._heads = hashing_scorer._heads  # trained heads, as a fresh install gets from its cache
    second = first.with_(db_path=tmp_path / "second.db")
    report = build_demo(second, scorer=offline)
    assert report.failed == 0 and report.ingested >= 40 and report.sentences_embedded == 0
    query = "SELECT title, tone, top_topic FROM articles ORDER BY title"
    rows, expected = (open_db(s.db_path).execute(query).fetchall() for s in (second, first))
    assert [(t, k) for t, _, k in rows] == [(t, k) for t, _, k in expected]
    # Bundles are float16, as stored: scores agree to rounding (a fresh embedding is float32; the tone
    # memory's weights, exp(cosine / 0.05), magnify that rounding to ~2e-3 at most here).
    assert all(abs(a[1] - b[1]) < 5e-3 for a, b in zip(rows, expected))
