"""`python -m monitor bench`: ingest + score throughput, model throughput, memory, re-ingest, overview.

The corpus recombines the demo sentences within each language into ~400-word articles (and
adds the real articles of ../shared/corpus when present); it is written to JSONL files and
streamed through the same ingest path users run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .pipeline import Scorer, ingest_articles, read_all
from .readers import read_path
from .settings import PROJECT_DIR, Settings
from . import store
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


def rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def overview_figures(db_path: Path) -> dict:
    """The overview's data and figures as the dashboard builds them, without Streamlit's cache:
    the column snapshot read once (cold), then the aggregates and figures (warm, filter change)."""
    from . import analytics, charts
    from .facts import Facts

    db = open_db(db_path, readonly=True)
    started = time.perf_counter()
    facts = Facts.load(db)
    loaded = time.perf_counter() - started

    def once(filters):
        facts.headline(filters, 365)
        grain = facts.suggest_grain(filters)
        as_of = analytics.coverage_end(db, filters)
        charts.tone_timeline(facts.tone_series(filters, grain, as_of=as_of), grain=grain)
        charts.topic_share_chart(facts.topic_share(filters, grain, as_of=as_of), grain=grain)

    cold = loaded + _timed(lambda: once(analytics.Filters()))
    warm = _timed(lambda: once(analytics.Filters()))
    changed = _timed(lambda: once(analytics.Filters(langs=("fr",))))
    db.conn.close()
    return {"facts_load_s": round(loaded, 3), "overview_cold_s": round(cold, 3), "overview_s": round(warm, 3),
            "overview_filter_change_s": round(changed, 3)}


def open_page(app, url_path: str):
    """Run a st.navigation page of an AppTest by its URL path ("" is the Overview).

    AppTest.switch_page only accepts page files; our pages are functions, so the page hash
    registered by st.navigation on the previous run is requested directly.
    """
    if not app._tree:
        app.run()
    matches = [h for h, info in app._registered_pages.items() if info.get("url_pathname") == url_path]
    if not matches:
        raise LookupError(f"no page {url_path!r} in {app._registered_pages}")
    app._page_hash = matches[0]
    return app.run()


# Filter changes the benchmark makes, each a selection not seen before (nothing cached).
_SELECTIONS = (["fr"], ["ar"], ["en"], ["fr", "ar"], ["ar", "en"])


def dashboard_figures(db_path: Path) -> dict:
    """Dashboard pages run by Streamlit's AppTest: the Overview cold (empty cache), warm (rerun)
    and after filter changes; then the Tone and Topics pages on their first visit, warm, and
    after filter changes. Warm and filter-change figures are medians of five runs (one run
    alone varies by ±50% on a shared machine)."""
    import os
    import statistics

    from streamlit.testing.v1 import AppTest

    os.environ["MONITOR_DB"] = str(db_path)
    app = AppTest.from_file(str(PROJECT_DIR / "dashboard.py"), default_timeout=120)

    def warm() -> float:
        return statistics.median(_timed(app.run) for _ in range(len(_SELECTIONS)))  # as many runs as changes

    def changes() -> float:
        times = []
        for selection in _SELECTIONS:
            app.multiselect(key="f_langs").set_value(selection)  # looked up anew: each run rebuilds the tree
            times.append(_timed(app.run))
        app.multiselect(key="f_langs").set_value([])
        app.run()
        return statistics.median(times)

    out = {"dashboard_cold_s": _timed(app.run), "dashboard_warm_s": warm(), "dashboard_filter_change_s": changes()}
    for page in ("tone", "topics"):
        out[f"{page}_first_s"] = _timed(lambda: open_page(app, page))
        out[f"{page}_warm_s"] = warm()
        out[f"{page}_filter_change_s"] = changes()
    if app.exception:
        raise RuntimeError(f"the dashboard failed: {app.exception[0].message}")
    return {key: round(value, 2) for key, value in out.items()}


@contextlib.contextmanager
def dashboard_server(db_path: Path, env: dict | None = None, timeout: float = 300):
    """`streamlit run dashboard.py` on `db_path` (as `make run` starts it); yields its URL once healthy.

    Raises RuntimeError with the end of the server's log when it does not come up.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tempfile.TemporaryFile("w+")
    # No file watcher: the project folder (with its .venv) is large and nothing is edited meanwhile.
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(PROJECT_DIR / "dashboard.py"), "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=PROJECT_DIR, env={**os.environ, **(env or {}), "MONITOR_DB": str(db_path)},
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise RuntimeError(f"streamlit did not start:\n{log.read()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Language filter changes made in the browser, one click each, every selection new to the session.
_CLICKS = (("add", "French", ("fr",)), ("add", "Arabic", ("ar", "fr")), ("remove", "French", ("ar",)),
           ("add", "English", ("ar", "en")), ("remove", "Arabic", ("en",)))


def browser_figures(db_path: Path, chromium: str = "/usr/bin/chromium") -> dict:
    """The Overview in Chromium as an analyst sees it: from a click on a language in the sidebar to
    both charts redrawn for the new selection (the server's rerun, the transfer and plotly.js).

    Empty when Chromium or Playwright is missing. Times are medians over the clicks of _CLICKS.
    """
    import statistics

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if not Path(chromium).exists():
        return {}
    from .analytics import Filters

    def redrawn(langs) -> str:
        """JS condition: both Overview charts carry the subtitle of this language selection."""
        text = Filters(langs=langs).describe() + " · "  # the subtitle goes on with the dates
        return ("() => { const plots = document.querySelectorAll('.js-plotly-plot');"
                f" return plots.length === 2 && [...plots].every(p => p.textContent.includes({json.dumps(text)})); }}")

    with dashboard_server(db_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 1400})
        tab.set_default_timeout(300_000)
        tab.goto(url)  # first visit: imports and the column snapshot, not timed
        tab.wait_for_function(redrawn(()), polling=50)
        started = time.perf_counter()
        tab.reload()
        tab.wait_for_function(redrawn(()), polling=50)
        opened = time.perf_counter() - started
        languages = tab.locator('[data-testid="stMultiSelect"]').filter(has_text="Languages")
        times = []
        for action, name, langs in _CLICKS:
            if action == "add":
                languages.locator("input").click()
                option = tab.get_by_role("option", name=name)
                option.wait_for()
                started = time.perf_counter()
                option.click()
            else:
                started = time.perf_counter()
                languages.get_by_role("button", name=f"Remove {name}").click()
            tab.wait_for_function(redrawn(langs), polling=50)
            times.append(time.perf_counter() - started)
            tab.keyboard.press("Escape")
        browser.close()
    return {"browser_open_s": round(opened, 2), "browser_filter_change_s": round(statistics.median(times), 2),
            "browser_filter_changes_s": [round(t, 2) for t in times]}


def scale_figures(settings: Settings, workdir: Path, reingest_n: int = 10_000, total: int = 100_000) -> dict:
    """Re-ingest of reingest_n unchanged articles, memory over a streamed ingest, overview at `total`.

    The scale database is filled with a model-free embedder (these figures measure the pipeline
    and the dashboard, not the model) and then grown by copying scored articles.
    """
    settings = settings.with_(db_path=workdir / "scale.db", model="hashing-512", selector_model=None)
    files = build_corpus(settings, reingest_n, workdir / "scale-corpus")
    scorer = Scorer(settings)
    scorer.heads(scorer.embedder)
    db = open_db(settings.db_path)
    before = rss_mb()
    first = _timed(lambda: ingest_articles(read_all(files, settings, db), db, scorer))
    grown = rss_mb() - before
    again = {}
    reingest = _timed(lambda: again.setdefault("r", ingest_articles(read_all(files, settings, db), db, scorer)))
    store.replicate_articles(db, total)
    db.conn.close()
    return {
        "scale_ingest_articles_per_s": round(reingest_n / first, 1),
        "rss_growth_mb": round(grown),
        "reingest_n": reingest_n,
        "reingest_10k_s": round(reingest * 10_000 / reingest_n, 2),
        "reingest_skipped": again["r"].present,
        "scale_articles": total,
        **overview_figures(settings.db_path),
        **dashboard_figures(settings.db_path),
        **browser_figures(settings.db_path),
    }


def run_bench(settings: Settings, n: int, workdir: Path | None = None, scale: int | None = 100_000,
              reingest_n: int = 10_000) -> dict:
    workdir = Path(workdir or tempfile.mkdtemp(prefix="monitor-bench-"))
    files = build_corpus(settings, n, workdir / "corpus")
    settings = settings.with_(db_path=workdir / "bench.db")
    base = Scorer(settings)
    for embedder in base.models:
        base.heads(embedder)  # train before timing: a fixed start-up cost, not throughput
    main = CountingEmbedder(base.embedder)
    selector = CountingEmbedder(base.selector) if base.selector else None
    scorer = Scorer(settings, embedder=main, selector=selector, use_selector=selector is not None)
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
    db.conn.close()
    peak_scoring = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    scaled = scale_figures(settings, workdir, reingest_n, scale) if scale else {}
    return {
        "model": scorer.embedder.name,
        "selector": base.selector.name if base.selector else None,
        "articles": report.ingested,
        "words_per_article": round(words / max(1, min(n, 2000))),
        "articles_per_s": round(report.ingested / elapsed, 2),
        "pipeline_sentences_per_s": round(main.sentences / elapsed, 1),
        "model_sentences_per_s": round(model_rate, 1),
        "share_of_time_in_models": round((main.seconds + (selector.seconds if selector else 0)) / elapsed, 3),
        "peak_rss_scoring_mb": peak_scoring,
        "reingest_s": round(reingest, 2),
        "reingest_present": again.present + again.duplicates,
        **scaled,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": f"{platform.machine()} {platform.processor() or ''} {__import__('os').cpu_count()} cores".strip(),
    }
