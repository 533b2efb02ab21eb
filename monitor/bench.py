"""`python -m monitor bench`: ingest + score throughput, model throughput, memory, re-ingest, overview.

The corpus recombines the demo sentences within each language into ~400-word articles (and
adds the real articles of ../shared/corpus when present); it is written to JSONL files and
streamed through the same ingest path users run.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import random
import resource
import tempfile
import time
from pathlib import Path

from .pipeline import Scorer, ingest_articles, read_all
from .readers import read_path
from .settings import PROJECT_DIR, Settings
from .store import open_db
from .text import split_sentences

SHARED_CORPUS = PROJECT_DIR.parent / "shared" / "corpus" / "articles.jsonl"


def build_corpus(settings: Settings, n: int, out_dir: Path, words: int = 400, seed: int = 7,
                 per_file: int = 2000) -> list[Path]:
    rng = random.Random(seed)
    pools: dict[str, list[str]] = {}
    bases: list[dict] = []
    for path in sorted(settings.demo_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            bases.append(rec)
            pools.setdefault(rec["lang"], []).extend(split_sentences(rec["text"]))
    real = []
    if SHARED_CORPUS.exists():
        real = [json.loads(l) for l in SHARED_CORPUS.read_text(encoding="utf-8").splitlines()][: n // 10]
    records = []
    for rec in real:
        records.append({k: rec.get(k) for k in ("title", "text", "lang", "published", "source", "url")})
    start = dt.date(2019, 1, 1)
    for i in range(n - len(records)):
        base = bases[i % len(bases)]
        pool = pools[base["lang"]]
        sentences = split_sentences(base["text"])
        while sum(len(s.split()) for s in sentences) < words:
            sentences.append(rng.choice(pool))
        rng.shuffle(sentences)
        records.append({
            "id": f"bench-{i}", "title": base["title"], "text": " ".join(sentences), "lang": base["lang"],
            "source": base["source"], "source_country": base["source_country"],
            "published": (start + dt.timedelta(days=rng.randrange(2900))).isoformat(),
        })
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for k in range(0, len(records), per_file):
        path = out_dir / f"bench-{k // per_file:04d}.jsonl"
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records[k:k + per_file]) + "\n",
                        encoding="utf-8")
        files.append(path)
    return files


class CountingEmbedder:
    """Wraps an embedder to count sentences and time spent inside the model."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.sentences, self.seconds, self.texts = 0, 0.0, []

    def encode(self, texts):
        started = time.perf_counter()
        out = self.inner.encode(texts)
        self.seconds += time.perf_counter() - started
        self.sentences += len(texts)
        if len(self.texts) < 2000:
            self.texts.extend(texts[: 2000 - len(self.texts)])
        return out


def overview_seconds(db_path: Path) -> float:
    """The dashboard overview's queries and figures, warm (second call)."""
    from . import analytics, charts

    db = open_db(db_path, readonly=True)

    def once():
        filters = analytics.Filters()
        df = analytics.load_articles(db, filters, with_topics=True)
        analytics.headline(db, filters)
        grain = analytics.suggest_grain(df)
        series = analytics.tone_series(df, grain)
        charts.tone_timeline(series, grain=grain)
        share = analytics.topic_share(df, grain)
        charts.topic_share_chart(share, grain=grain)

    once()
    started = time.perf_counter()
    once()
    return time.perf_counter() - started


def run_bench(settings: Settings, n: int, workdir: Path | None = None) -> dict:
    workdir = Path(workdir or tempfile.mkdtemp(prefix="monitor-bench-"))
    files = build_corpus(settings, n, workdir / "corpus")
    settings = settings.with_(db_path=workdir / "bench.db")
    base = Scorer(settings)
    for embedder in filter(None, (base.embedder, base.selector)):
        base.heads(embedder)  # train before timing: a fixed start-up cost, not throughput
    main = CountingEmbedder(base.embedder)
    scorer = Scorer(settings, embedder=main, selector=base.selector, use_selector=base.selector is not None)
    scorer._heads = base._heads
    db = open_db(settings.db_path)
    words = sum(len(a.text.split()) for p in files[:1] for a in read_path(p) if hasattr(a, "text"))
    started = time.perf_counter()
    report = ingest_articles(read_all(files, settings, db), db, scorer, batch_size=32)
    elapsed = time.perf_counter() - started
    # The model alone on the same kind of sentences (a sample of those the pipeline embedded).
    sample = main.texts
    t0 = time.perf_counter()
    base.embedder.encode(sample)
    model_rate = len(sample) / (time.perf_counter() - t0) if sample else float("nan")
    started = time.perf_counter()
    again = ingest_articles(read_all(files, settings, db), db, scorer, batch_size=32)
    reingest = time.perf_counter() - started
    return {
        "model": scorer.embedder.name,
        "selector": base.selector.name if base.selector else None,
        "articles": report.ingested,
        "words_per_article": round(words / max(1, min(n, 2000))),
        "articles_per_s": round(report.ingested / elapsed, 2),
        "pipeline_sentences_per_s": round(main.sentences / elapsed, 1),
        "model_sentences_per_s": round(model_rate, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "reingest_s": round(reingest, 2),
        "reingest_present": again.present + again.duplicates,
        "overview_s": round(overview_seconds(settings.db_path), 3),
        "machine": f"{platform.machine()} {platform.processor() or ''} {__import__('os').cpu_count()} cores".strip(),
    }
