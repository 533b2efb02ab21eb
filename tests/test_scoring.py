"""Scoring: the selector's predictions are blended into the main model's, sentence by sentence."""

import numpy as np
import pytest

from monitor.embed import HashingEmbedder
from monitor.models import Article
from monitor.pipeline import Scorer, article_sentences
from monitor.settings import Settings

ARTICLE = Article(
    title="Paris et Rabat relancent leur coopération sécuritaire",
    text="Les deux ministres ont signé un accord contre les réseaux de passeurs. "
         "Ils ont promis de renforcer l'échange de renseignements. Le temps était pluvieux à Rabat.",
    lang="fr",
)


@pytest.fixture(scope="module")
def scorers(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")

    def make(weight):
        settings = Settings(cache_dir=cache, model="hashing-512", selector_model="hashing-256",
                            selector_weight=weight, max_scored_sentences=6)
        return Scorer(settings, embedder=HashingEmbedder(512), selector=HashingEmbedder(256))

    return make(0.0), make(0.4)


def test_blend_is_the_weighted_mean_of_both_heads(scorers):
    plain, blended = scorers
    sentences = article_sentences(ARTICLE)
    main, fast = plain.embedder, plain.selector
    p1 = plain.heads(main).predict(main.encode(sentences), "fr")
    p2 = plain.heads(fast).predict(fast.encode(sentences), "fr")

    alone = plain.score_one(ARTICLE).score
    mixed = blended.score_one(ARTICLE).score
    tones = lambda s: np.array([e["tone"] for e in sorted(s.sentence_scores, key=lambda e: e["position"])])  # noqa: E731
    np.testing.assert_allclose(tones(alone), p1.tone, atol=1e-3)
    np.testing.assert_allclose(tones(mixed), 0.6 * p1.tone + 0.4 * p2.tone, atol=1e-3)
    assert not np.allclose(p1.tone, p2.tone, atol=1e-2)  # the two models disagree: the blend shows
    assert alone.method.endswith("/hashing-512")
    assert mixed.method.endswith("/hashing-512+hashing-256:0.4")
