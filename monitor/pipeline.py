"""The scoring pipeline (split → select → embed → score) and ingestion into the store."""

from __future__ import annotations

import logging
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from . import store
from .embed import Embedder, load_embedder
from .models import Article, Failure, Score, Seen
from .readers import iter_paths, read_path
from .scoring import (DEFAULT_NETWORK_BUDGET, METHOD_VERSION, RELEVANCE_CONSISTENCY, SECOND_TOPIC_TARGET,
                      TOPIC_CONSISTENCY, TOPIC_POSITIVE_WEIGHT, TRANSLATION_CONSISTENCY, Heads, SentencePredictions,
                      bilateral_sentences, cap_to_bilateral, score_sentences, select_sentences)
from .settings import Settings
from .taxonomy import Taxonomy, load_taxonomy, load_training, training_fingerprint
from .text import SUPPORTED_LANGUAGES, split_sentences, state_names, text_key

log = logging.getLogger(__name__)
HEADS_FORMAT = "np6"  # bump when the pickled Heads layout changes


def article_sentences(article: Article, limit: int = 80) -> list[str]:
    """Title first (when there is one), then the body's sentences, at most `limit`."""
    body = split_sentences(article.text)
    head = [article.title] if article.title.strip() else []
    return (head + body)[:limit]


def embed_cached(embedder: Embedder, texts: list[str], cache: store.VectorCache | None) -> np.ndarray:
    """Embeddings for texts, computing only those the cache does not hold."""
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    keys = [text_key(t) for t in texts]
    found = cache.get_many(embedder.name, keys) if cache else {}
    missing = list(dict.fromkeys(k for k in keys if k not in found))
    if missing:
        first_text = {}
        for key, text in zip(keys, texts):
            first_text.setdefault(key, text)
        vectors = embedder.encode([first_text[k] for k in missing])
        new = dict(zip(missing, vectors))
        if cache:
            cache.put_many(embedder.name, new.items())
        found.update(new)
    return np.stack([found[k] for k in keys]).astype(np.float32)


@dataclass
class Scored:
    article: Article
    sentences: list[str]
    score: Score
    scored_positions: set[int]


def network_budget(embedder: Embedder) -> tuple[int, int]:
    return tuple(getattr(embedder, "network_budget", DEFAULT_NETWORK_BUDGET))


def heads_version(training, budget: tuple[int, int] = DEFAULT_NETWORK_BUDGET) -> str:
    """What trained heads depend on besides the model: training data, method, layout, budget, pull."""
    return (f"{training_fingerprint(training)}-{METHOD_VERSION}-{HEADS_FORMAT}-{budget[0]}x{budget[1]}"
            f"-c{TRANSLATION_CONSISTENCY:g}-r{RELEVANCE_CONSISTENCY:g}-t{TOPIC_CONSISTENCY:g}w{TOPIC_POSITIVE_WEIGHT:g}"
            f"s{SECOND_TOPIC_TARGET:g}")


def bundle_path(folder: Path, model_name: str) -> Path:
    return folder / f"{model_name.replace('/', '_')}.npz"


def load_bundle(path: Path, model_name: str, cache: store.VectorCache) -> None:
    """Put a shipped bundle of sentence embeddings (text key → float16 vector) into a cache."""
    if not path.exists():
        return
    bundle = np.load(path)
    cache.put_many(model_name, zip(bundle["keys"].tolist(), bundle["vectors"]))
    cache.db.conn.commit()


def save_bundle(path: Path, vectors: dict[str, np.ndarray]) -> None:
    """The inverse of :func:`load_bundle`: float16, as the cache stores them, so nothing is lost."""
    keys = sorted(vectors)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, keys=np.array(keys), vectors=np.stack([vectors[k] for k in keys]).astype(np.float16))


def seed_cache(folder: Path, models, cache: store.VectorCache) -> None:
    """Load the shipped bundles in `folder` for each of `models` (embedders) into a cache."""
    for embedder in models:
        load_bundle(bundle_path(folder, embedder.name), embedder.name, cache)


def save_article_vectors(folder: Path, models, cache: store.VectorCache, articles, limit: int) -> list[Path]:
    """Bundle, per model, the cached vectors of every sentence of `articles` (those it holds)."""
    keys = sorted({text_key(s) for a in articles for s in article_sentences(a, limit)})
    paths = []
    for embedder in models:
        path = bundle_path(folder, embedder.name)
        save_bundle(path, cache.get_many(embedder.name, keys))
        paths.append(path)
    return paths


class Scorer:
    """Holds the embedders and their trained heads; scores batches of articles.

    Embedders are injected (tests pass a small deterministic one); by default they are
    loaded by name from the settings.
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 selector: Embedder | None = None, use_selector: bool | None = None):
        self.settings = settings
        self.taxonomy: Taxonomy = load_taxonomy(settings.taxonomy_path)
        self.embedder = embedder or load_embedder(settings.model, settings.batch_size)
        want_selector = settings.selector_model is not None if use_selector is None else use_selector
        if selector is not None:
            self.selector = selector
        elif want_selector and settings.selector_model and settings.selector_model != settings.model:
            self.selector = load_embedder(settings.selector_model, settings.batch_size)
        else:
            self.selector = None
        self._heads: dict[str, Heads] = {}
        self.training = load_training(settings.training_dir, self.taxonomy)
        self._training_cache_db = None

    @property
    def model_name(self) -> str:
        return self.embedder.name

    def _training_cache(self) -> store.VectorCache:
        if self._training_cache_db is None:
            path = self.settings.cache_dir / "training-vectors.db"
            self._training_cache_db = store.open_db(path)
        return store.VectorCache(self._training_cache_db)

    @property
    def models(self) -> list[Embedder]:
        return [e for e in (self.embedder, self.selector) if e is not None]

    def bundle_path(self, embedder: Embedder) -> Path:
        """Training-statement embeddings shipped with the project, so a fresh install starts fast."""
        return bundle_path(self.settings.training_dir / "vectors", embedder.name)

    def write_bundle(self, embedder: Embedder) -> Path:
        """Embed the training statements and save them as the shipped bundle."""
        cache = self._training_cache()
        texts = [it.text for it in self.training]
        X = embed_cached(embedder, texts, cache)
        index = {text_key(t): i for i, t in enumerate(texts)}
        path = self.bundle_path(embedder)
        save_bundle(path, {key: X[i] for key, i in index.items()})
        return path

    def heads_version(self, embedder: Embedder) -> str:
        return heads_version(self.training, network_budget(embedder))

    def shipped_heads_path(self, embedder: Embedder) -> Path:
        """Heads trained for the bundled models, shipped so a fresh install does not train them
        (the tone networks take a minute or two on a slow laptop)."""
        return bundle_path(self.settings.training_dir / "heads", embedder.name)

    def shipped_heads(self, embedder: Embedder) -> Heads | None:
        """The shipped heads of this model, if they were trained on the current data and method."""
        path = self.shipped_heads_path(embedder)
        if not path.exists():
            return None
        with np.load(path) as arrays:
            if str(arrays["version"]) != self.heads_version(embedder):
                return None
            return Heads.from_arrays(arrays)

    def write_shipped_heads(self, embedder: Embedder) -> Path:
        path = self.shipped_heads_path(embedder)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, version=np.array(self.heads_version(embedder)), **self.heads(embedder).to_arrays())
        return path

    def heads(self, embedder: Embedder) -> Heads:
        if embedder.name in self._heads:
            return self._heads[embedder.name]
        safe = embedder.name.replace("/", "_")
        path = self.settings.cache_dir / f"heads-{safe}-{self.heads_version(embedder)}.pkl"
        heads = None
        if path.exists():
            try:
                heads = pickle.loads(path.read_bytes())
            except Exception:  # stale or foreign pickle: retrain
                heads = None
        heads = heads or self.shipped_heads(embedder)
        if heads is None:
            cache = self._training_cache()
            load_bundle(self.bundle_path(embedder), embedder.name, cache)
            X = embed_cached(embedder, [it.text for it in self.training], cache)
            self._training_cache_db.conn.commit()
            heads = Heads.fit(X, self.training, self.taxonomy.keys, embedder.name, network_budget=network_budget(embedder))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(pickle.dumps(heads))
        self._heads[embedder.name] = heads
        return heads

    def score_articles(self, articles: list[Article], cache: store.VectorCache | None = None) -> list[Scored]:
        """Score a batch; sentences of the whole batch are embedded together."""
        limit = self.settings.max_sentences
        per_article = [article_sentences(a, limit) for a in articles]
        k = self.settings.max_scored_sentences
        weight = self.settings.selector_weight if self.selector is not None else 0.0
        chosen = [list(range(len(s))) for s in per_article]
        bilateral = [bilateral_sentences([state_names(s, a.lang) for s in sents])
                     for a, sents in zip(articles, per_article)]
        priors: list[np.ndarray | None] = [None] * len(articles)
        selector_rows: dict[int, np.ndarray] = {}  # article -> the selector's vectors of its sentences
        if self.selector is not None:
            # The selector reads long articles (to pick sentences) and, when blended, every article:
            # one embedding call for the batch, reused for both.
            read = [i for i, s in enumerate(per_article) if weight > 0 or len(s) > k]
            flat = [s for i in read for s in per_article[i]]
            V = embed_cached(self.selector, flat, cache)
            start = 0
            for i in read:
                selector_rows[i] = V[start:start + len(per_article[i])]
                start += len(per_article[i])
            for i, sents in enumerate(per_article):
                if len(sents) > k:
                    prior = self.heads(self.selector).relevance_only(selector_rows[i], articles[i].lang)
                    priors[i] = cap_to_bilateral(prior, bilateral[i])
                    chosen[i] = select_sentences(priors[i], k)

        texts = [per_article[i][j] for i in range(len(articles)) for j in chosen[i]]
        X = embed_cached(self.embedder, texts, cache)
        heads = self.heads(self.embedder)
        X2 = np.concatenate([selector_rows[i][chosen[i]] for i in range(len(articles))]) if weight > 0 and texts \
            else None
        heads2 = self.heads(self.selector) if weight > 0 else None
        out: list[Scored] = []
        start = 0
        for i, article in enumerate(articles):
            idx = chosen[i]
            sub = X[start:start + len(idx)]
            second = (X2[start:start + len(idx)], heads2, weight) if X2 is not None else None
            start += len(idx)
            unscored = None
            if priors[i] is not None:  # a long article: the selector has read its other sentences
                rest = sorted(set(range(len(per_article[i]))) - set(idx))
                # they count for the topics only: their relevance is the capped prior already computed, and
                # their tone is not read (score_sentences)
                none = np.zeros(len(rest))
                unscored = SentencePredictions(priors[i][rest], none, none, self.heads(self.selector).topics_only(
                    selector_rows[i][rest], article.lang))
            score = score_sentences([per_article[i][j] for j in idx], sub, heads, article.lang, second, unscored,
                                    bilateral[i][idx])
            if article.lang not in SUPPORTED_LANGUAGES:
                score.low_confidence = True  # stored and flagged: the heads never saw this language
            # positions inside the article, not inside the chosen subset
            for entry in score.sentence_scores:
                entry["position"] = idx[entry["position"]]
            if priors[i] is not None:
                scored = {e["position"] for e in score.sentence_scores}
                score.sentence_scores += [
                    {"position": p, "relevance": round(float(priors[i][p]), 4), "tone": None}
                    for p in range(len(per_article[i])) if p not in scored
                ]
            out.append(Scored(article, per_article[i], score, set(idx)))
        return out

    def score_one(self, article: Article) -> Scored:
        return self.score_articles([article])[0]


@dataclass
class IngestReport:
    ingested: int = 0
    updated: int = 0
    present: int = 0
    duplicates: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    sentences_embedded: int = 0

    @property
    def failed(self) -> int:
        return len(self.failures)

    def as_dict(self) -> dict:
        return {"ingested": self.ingested, "updated": self.updated, "present": self.present,
                "duplicates": self.duplicates, "failed": self.failed, "seconds": round(self.seconds, 2)}

    def summary(self) -> str:
        lines = [f"{self.ingested} ingested, {self.updated} updated, {self.present + self.duplicates} already "
                 f"present ({self.duplicates} of them the same text under another name), "
                 f"{self.failed} failed, in {self.seconds:.1f} s"]
        lines += [f"  failed: {f}" for f in self.failures]
        return "\n".join(lines)


def ingest_articles(items: Iterable[Article | Failure | Seen], db, scorer: Scorer, *, batch_size: int = 32,
                    progress: Callable[[int], None] | None = None, command: str = "ingest") -> IngestReport:
    """Store what is new or changed, skip what is already there, record every failure."""
    report = IngestReport()
    started = time.perf_counter()
    run_id = store.start_run(db, command)
    cache = store.VectorCache(db)
    batch: list[tuple[Article, str, int | None]] = []
    seen_hashes: set[str] = set()

    def flush():
        if not batch:
            return
        try:
            scored = scorer.score_articles([a for a, _, _ in batch], cache)
        except Exception as exc:  # an engine error on one batch must not end the run
            log.exception("scoring failed")
            for article, _, _ in batch:
                fail(Failure(article.origin or "?", f"scoring failed: {exc}"))
            batch.clear()
            return
        store.save_batch(db, [(r.article, r.score, r.sentences, r.scored_positions) for r in scored])
        for _, status, _ in batch:
            if status == "changed":
                report.updated += 1
            else:
                report.ingested += 1
        if progress:
            progress(len(batch))
        batch.clear()

    def fail(failure: Failure):
        report.failures.append(failure)
        store.record_failure(db, run_id, failure)
        log.warning("%s", failure)

    for item in items:
        if isinstance(item, Seen):
            report.present += 1
            if progress:
                progress(1)
            continue
        if isinstance(item, Failure):
            fail(item)
            if progress:
                progress(1)
            continue
        status, article_id = store.find_existing(db, item.identity, item.content_hash)
        if status == "new" and item.content_hash in seen_hashes:
            status = "duplicate"
        if status in ("present", "duplicate"):
            if status == "present":
                report.present += 1
                store.mark_present(db, article_id, item)
            else:
                report.duplicates += 1
            if progress:
                progress(1)
            continue
        seen_hashes.add(item.content_hash)
        batch.append((item, status, article_id))
        if len(batch) >= batch_size:
            flush()
    flush()
    report.seconds = time.perf_counter() - started
    store.finish_run(db, run_id, {**report.as_dict(), "present": report.present + report.duplicates})
    return report


def read_all(paths: Iterable[str | Path], settings: Settings, db=None) -> Iterator[Article | Failure | Seen]:
    """Every record under paths; with the target db, records it already holds come back as Seen."""
    known = store.RecordIndex(db) if db is not None else None
    for path in iter_paths(paths):
        yield from read_path(path, settings.max_file_bytes, known)
