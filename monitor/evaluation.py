"""The evaluation: labelled ar/fr/en items in tests/evaluation, scored by the production path.

A fixed part of the items (by group, so a translation triple stays together) is kept out
of any tuning: the report and the quality gate use that held-out part.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .baseline import wordlist_tone
from .models import Article
from .pipeline import Scorer, read_all, save_article_vectors, seed_cache
from .scoring import tone_class

EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "evaluation"
VECTORS_DIR = EVAL_DIR / "vectors"
LANGS = ("ar", "fr", "en")
TONE_VALUE = {"cooperative": 1, "neutral": 0, "tense": -1}
CLASS_OF_LABEL = {"cooperative": "cooperative", "neutral": "mixed", "tense": "tense"}


def split_of(group: str) -> str:
    """'tune' for 30% of groups, 'heldout' for the rest; stable across runs and machines."""
    return "tune" if int(hashlib.sha1(group.encode()).hexdigest(), 16) % 10 < 3 else "heldout"


def load_items(eval_dir: Path = EVAL_DIR) -> list[dict]:
    items = []
    for path in sorted(eval_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                item["split"] = split_of(item["group"])
                items.append(item)
    return items


@dataclass
class ItemResult:
    item: dict
    relevant: bool
    tone: float
    tone_class: str
    top_topic: str | None
    baseline: float


def _eval_cache(scorer: Scorer):
    """The evaluation sentences' embeddings: cached, and seeded from the bundles shipped in
    tests/evaluation/vectors, so the gate re-runs the scoring method, not the slow models
    (the real models are exercised on their own by the seed-article test)."""
    from . import store

    cache = store.VectorCache(store.open_db(scorer.settings.cache_dir / "eval-vectors.db"))
    seed_cache(VECTORS_DIR, scorer.models, cache)
    return cache


def _articles(items: list[dict]) -> list[Article]:
    return [Article(title=it.get("title", ""), text=it["text"], lang=it["lang"]) for it in items]


def save_vectors(scorer: Scorer) -> list[Path]:
    """Write the bundles of every evaluation sentence's embeddings for the scorer's models."""
    items = load_items()
    score_items(items, scorer)  # embeds whatever is missing
    return save_article_vectors(VECTORS_DIR, scorer.models, _eval_cache(scorer), _articles(items),
                                scorer.settings.max_sentences)


def score_items(items: list[dict], scorer: Scorer) -> list[ItemResult]:
    # Embeddings of the evaluation sentences are cached, so re-running after a change to the
    # heads or the aggregation costs seconds, not minutes.
    results = []
    for it, scored in zip(items, _score_in_batches(scorer, _articles(items), _eval_cache(scorer))):
        s = scored.score
        full = f"{it.get('title', '')}\n{it['text']}"
        results.append(ItemResult(it, s.relevant, s.tone, tone_class(s.shares), s.top_topic,
                                  wordlist_tone(full, it["lang"])))
    return results


def _score_in_batches(scorer: Scorer, articles: list[Article], cache, size: int = 64):
    """Scored articles in order, a batch at a time, committing the embedding cache after each."""
    for start in range(0, len(articles), size):
        batch = list(scorer.score_articles(articles[start:start + size], cache))
        # Commit before yielding: a consumer that stops at its last item (zip) never resumes
        # the generator, which left the last batch's embeddings uncommitted and the cache locked.
        cache.db.conn.commit()
        yield from batch


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _direction(results, key="tone") -> float:
    polar = [r for r in results if r.item["relevant"] and r.item["tone"] in ("cooperative", "tense")]
    if not polar:
        return float("nan")
    right = sum((getattr(r, key) > 0) == (r.item["tone"] == "cooperative") for r in polar)
    return right / len(polar)


def language_metrics(results: list[ItemResult]) -> dict:
    relevant = [r for r in results if r.item["relevant"]]
    hard = [r for r in results if r.item.get("kind") == "hard"]
    labels = [TONE_VALUE[r.item["tone"]] for r in relevant]
    tp = sum(r.relevant and r.item["relevant"] for r in results)
    fp = sum(r.relevant and not r.item["relevant"] for r in results)
    fn = sum(not r.relevant and r.item["relevant"] for r in results)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    with_topic = [r for r in relevant if r.item.get("topic")]
    return {
        "items": len(results),
        "direction": _direction(results),
        "direction_hard": _direction(hard),
        "spearman": _spearman([r.tone for r in relevant], labels),
        "class_accuracy": (sum(r.tone_class == CLASS_OF_LABEL[r.item["tone"]] for r in relevant) / len(relevant))
        if relevant else float("nan"),
        "topic_accuracy": (sum(r.top_topic == r.item["topic"] for r in with_topic) / len(with_topic))
        if with_topic else float("nan"),
        "relevance_f1": f1,
        "baseline_direction": _direction(results, "baseline"),
        "baseline_direction_hard": _direction(hard, "baseline"),
        "baseline_spearman": _spearman([r.baseline for r in relevant], labels),
    }


def consistency_metrics(results: list[ItemResult]) -> dict:
    """Translation triples: same class, close scores, same top topic in ar, fr and en."""
    groups: dict[str, dict[str, ItemResult]] = {}
    for r in results:
        groups.setdefault(r.item["group"], {})[r.item["lang"]] = r
    triples = [g for g in groups.values() if set(g) == set(LANGS) and g["en"].item["relevant"]]
    if not triples:
        return {}
    relevant = [r for r in results if r.item["relevant"]]
    coop = [r.tone for r in relevant if r.item["tone"] == "cooperative"]
    tense = [r.tone for r in relevant if r.item["tone"] == "tense"]
    gap = (np.mean(coop) - np.mean(tense)) if coop and tense else float("nan")
    spread = float(np.mean([max(r.tone for r in g.values()) - min(r.tone for r in g.values()) for g in triples]))
    return {
        "groups": len(triples),
        "same_class": sum(len({r.tone_class for r in g.values()}) == 1 for g in triples) / len(triples),
        "mean_spread": spread,
        "coop_tense_gap": float(gap),
        "spread_over_gap": spread / gap if gap else float("nan"),
        "same_topic": sum(len({r.top_topic for r in g.values()}) == 1 for g in triples) / len(triples),
    }


def tone_confusion(results: list[ItemResult]) -> dict:
    table: dict[str, dict[str, int]] = {}
    for r in results:
        if r.item["relevant"]:
            row = table.setdefault(r.item["tone"], {"cooperative": 0, "mixed": 0, "tense": 0})
            row[r.tone_class] += 1
    return table


def evaluate(scorer: Scorer, split: str = "heldout", items: list[dict] | None = None) -> dict:
    items = [it for it in (items or load_items()) if split == "all" or it["split"] == split]
    results = score_items(items, scorer)
    return {
        "split": split,
        "model": scorer.model_name,
        "selector": scorer.selector.name if scorer.selector else None,
        "languages": {lang: language_metrics([r for r in results if r.item["lang"] == lang]) for lang in LANGS},
        "consistency": consistency_metrics(results),
        "confusion": {lang: tone_confusion([r for r in results if r.item["lang"] == lang]) for lang in LANGS},
        "_results": results,
    }


def relevant_share(scorer: Scorer, path: Path) -> tuple[int, int]:
    """(judged relevant, articles read) over an unlabelled file or folder of articles: a check of
    relevance on real text, e.g. articles that name both countries only in passing (few should pass)."""
    from . import store

    cache = store.VectorCache(store.open_db(scorer.settings.cache_dir / "unlabelled-vectors.db"))
    articles = [a for a in read_all([path], scorer.settings) if isinstance(a, Article)]
    judged = sum(scored.score.relevant for scored in _score_in_batches(scorer, articles, cache))
    return judged, len(articles)


def load_floors(path: Path = EVAL_DIR / "floors.json") -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def check_floors(report: dict, floors: dict) -> list[str]:
    """Every floor that the report misses, as a readable line; empty when all are met."""
    misses = []
    for lang in LANGS:
        metrics = report["languages"][lang]
        for name, floor in floors["per_language"].items():
            value = metrics[name]
            if not value >= floor:
                misses.append(f"{lang} {name} = {value:.3f} < {floor}")
    cons = report["consistency"]
    for name, floor in floors["consistency_min"].items():
        if not cons.get(name, 0) >= floor:
            misses.append(f"consistency {name} = {cons.get(name, float('nan')):.3f} < {floor}")
    for name, ceiling in floors["consistency_max"].items():
        if not cons.get(name, 9) <= ceiling:
            misses.append(f"consistency {name} = {cons.get(name, float('nan')):.3f} > {ceiling}")
    return misses


def render_markdown(report: dict, all_floors: dict) -> str:
    floors, gate = all_floors["targets"], all_floors["gate"]
    f = lambda v: "–" if v != v else f"{v:.3f}"  # noqa: E731 (nan shows as a dash)
    lines = [
        "# Evaluation report",
        "",
        f"Regenerate with `python -m monitor evaluate --write docs/EVALUATION.md`. Split: **{report['split']}** "
        f"(items never used for training or tuning). Main model: `{report['model']}`; sentence selector: "
        f"`{report['selector']}`. Floors: `tests/evaluation/floors.json` (the test suite fails below them).",
        "",
        "## Per language",
        "",
        "| metric | target | gate | ar | fr | en | word-list baseline ar / fr / en |",
        "|---|---|---|---|---|---|---|",
    ]
    names = [("items", None, None), ("direction", "direction", "baseline_direction"),
             ("direction_hard", "direction_hard", "baseline_direction_hard"),
             ("spearman", "spearman", "baseline_spearman"), ("class_accuracy", "class_accuracy", None),
             ("topic_accuracy", "topic_accuracy", None),
             ("relevance_f1", "relevance_f1", None)]
    for label, key, base in names:
        floor = floors["per_language"].get(key, "") if key else ""
        gate_floor = gate["per_language"].get(key, "") if key else ""
        vals = [report["languages"][lang][label] for lang in LANGS]
        cells = [str(v) if isinstance(v, int) else f(v) for v in vals]
        basecells = " / ".join(f(report["languages"][lang][base]) for lang in LANGS) if base else ""
        lines.append(f"| {label} | {floor} | {gate_floor} | {' | '.join(cells)} | {basecells} |")
    cons = report["consistency"]
    lines += ["", "## Cross-lingual consistency (translation triples)", "",
              "| metric | value | target | gate |", "|---|---|---|---|"]
    for name, value in cons.items():
        floor = floors["consistency_min"].get(name, floors["consistency_max"].get(name, ""))
        gate_floor = gate["consistency_min"].get(name, gate["consistency_max"].get(name, ""))
        lines.append(f"| {name} | {value if isinstance(value, int) else f(value)} | {floor} | {gate_floor} |")
    lines += ["", "## Tone classes: label (rows) against prediction (columns)", ""]
    for lang in LANGS:
        lines += [f"**{lang}**", "", "| label \\ predicted | cooperative | mixed | tense |", "|---|---|---|---|"]
        for label, row in report["confusion"][lang].items():
            lines.append(f"| {label} | {row['cooperative']} | {row['mixed']} | {row['tense']} |")
        lines.append("")
    for title, bar in (("Targets", floors), ("Gate (enforced by the tests)", gate)):
        misses = check_floors(report, bar)
        lines += [f"## {title}", "", "All met." if not misses else "Missed:\n\n" + "\n".join(
            f"- {m}" for m in misses), ""]
    return "\n".join(lines)
