"""The bundled demo database, built from data/demo (articles written for the demo).

The demo's sentence embeddings ship in data/demo/vectors for the default models, so a fresh
install builds the demo database in about a minute instead of running the models over every
sentence (several minutes on a slow laptop). Other models embed as usual.
"""

from __future__ import annotations

from pathlib import Path

from .models import Article
from .pipeline import IngestReport, Scorer, ingest_articles, read_all, save_article_vectors, seed_cache
from .settings import Settings
from .store import VectorCache, open_db


def _files(settings: Settings) -> list[Path]:
    return sorted(settings.demo_dir.glob("*.jsonl"))


def build_demo(settings: Settings, scorer: Scorer | None = None, progress_factory=None) -> IngestReport:
    db = open_db(settings.db_path)
    scorer = scorer or Scorer(settings)
    seed_cache(settings.demo_dir / "vectors", scorer.models, VectorCache(db))
    bar = progress_factory(None, "demo") if progress_factory else None
    report = ingest_articles(read_all(_files(settings), settings, db), db, scorer,
                             progress=bar.update if bar is not None else None, command="demo")
    if bar is not None:
        bar.close()
    return report


def save_demo_vectors(settings: Settings, scorer: Scorer) -> list[Path]:
    """Bundle the demo sentences' embeddings from a database built with `build_demo`."""
    articles = [a for a in read_all(_files(settings), settings) if isinstance(a, Article)]
    return save_article_vectors(settings.demo_dir / "vectors", scorer.models, VectorCache(open_db(settings.db_path)),
                                articles, settings.max_sentences)
