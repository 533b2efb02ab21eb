"""The bundled demo database, built from data/demo (articles written for the demo)."""

from __future__ import annotations

from .pipeline import IngestReport, Scorer, ingest_articles, read_all
from .settings import Settings
from .store import open_db


def build_demo(settings: Settings, scorer: Scorer | None = None, progress_factory=None) -> IngestReport:
    files = sorted(settings.demo_dir.glob("*.jsonl"))
    db = open_db(settings.db_path)
    scorer = scorer or Scorer(settings)
    bar = progress_factory(None, "demo") if progress_factory else None
    report = ingest_articles(read_all(files, settings, db), db, scorer, progress=bar.update if bar is not None else None,
                             command="demo")
    if bar is not None:
        bar.close()
    return report
