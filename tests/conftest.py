"""Shared fixtures: settings pointing at temporary folders and a fast deterministic embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.embed import HashingEmbedder
from monitor.pipeline import Scorer
from monitor.settings import Settings
from monitor.store import open_db

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seeds" / "000_0558d5d4db476b75.txt"
CORPUS = SHARED / "corpus" / "articles.jsonl"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(db_path=tmp_path / "monitor.db", cache_dir=tmp_path / "cache", model="hashing-512",
                    selector_model=None)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One cache for the whole session: the hashing heads are trained once, also for CLI runs."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def hashing_scorer(shared_cache) -> Scorer:
    cache = shared_cache
    scorer = Scorer(Settings(cache_dir=cache, model="hashing-512", selector_model=None),
                  embedder=HashingEmbedder(), use_selector=False)
    scorer.heads(scorer.embedder)  # writes the heads pickle that CLI subprocesses reuse
    return scorer


@pytest.fixture
def fresh_db():
    return open_db(":memory:")


@pytest.fixture
def write_jsonl(tmp_path):
    def write(name: str, records: list[dict]) -> Path:
        path = tmp_path / name
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
        return path

    return write
