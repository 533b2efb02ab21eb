"""The topic taxonomy and the labelled training statements, both plain editable files."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

TONE_LABELS = {"cooperative": 1, "neutral": 0, "mixed": 0, "tense": -1}


@dataclass(frozen=True)
class Topic:
    key: str
    label: dict
    color: str
    description: str = ""
    examples: tuple = ()

    def name(self, lang: str = "en") -> str:
        return self.label.get(lang) or self.label.get("en") or self.key


@dataclass(frozen=True)
class Taxonomy:
    topics: tuple[Topic, ...]

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.topics]

    def get(self, key: str) -> Topic | None:
        return next((t for t in self.topics if t.key == key), None)

    def colors(self) -> dict[str, str]:
        return {t.key: t.color for t in self.topics}

    def labels(self, lang: str = "en") -> dict[str, str]:
        return {t.key: t.name(lang) for t in self.topics}


def load_taxonomy(path: Path) -> Taxonomy:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    topics = []
    for entry in data["topics"]:
        topics.append(Topic(
            key=entry["key"],
            label=entry.get("label", {"en": entry["key"]}),
            color=entry.get("color", "#444444"),
            description=entry.get("description", ""),
            examples=tuple(entry.get("examples", ())),
        ))
    if len({t.key for t in topics}) != len(topics):
        raise ValueError(f"{path}: topic keys must be unique")
    return Taxonomy(tuple(topics))


@dataclass(frozen=True)
class Labelled:
    """One training statement. tone is None where only the topic is known."""

    text: str
    lang: str
    relevant: bool
    tone: int | None
    topic: str | None
    group: str = field(default="")
    topic2: str | None = None  # a second topic the statement is also about
    # Written to teach relevance alone: left out of the language centres (scoring.Heads.fit), so adding such
    # statements changes the relevance heads and nothing else.
    only_for_relevance: bool = False


def load_training(training_dir: Path, taxonomy: Taxonomy) -> list[Labelled]:
    """Every *.jsonl under data/training plus the taxonomy's own examples."""
    items: list[Labelled] = []
    for path in sorted(Path(training_dir).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: broken JSON line: {exc.msg}") from exc
            tone = rec.get("tone")
            if isinstance(tone, str):
                tone = TONE_LABELS[tone]
            topic = rec.get("topic")
            if topic is not None and topic not in taxonomy.keys:
                continue  # a topic removed from the taxonomy: its statements still teach relevance
            topic2 = rec.get("topic2") if rec.get("topic2") in taxonomy.keys else None
            items.append(Labelled(rec["text"], rec.get("lang", ""), bool(rec.get("relevant")),
                                  None if tone is None else int(tone), topic, rec.get("group", ""), topic2,
                                  bool(rec.get("only_for_relevance"))))
    from .text import detect_language

    for topic in taxonomy.topics:
        for example in topic.examples:
            text = example["text"] if isinstance(example, dict) else str(example)
            items.append(Labelled(text, detect_language(text), True, None, topic.key, f"taxonomy:{topic.key}"))
    return items


def training_fingerprint(items: list[Labelled]) -> str:
    digest = hashlib.sha1()
    for item in items:
        second = f"|{item.topic2}" if item.topic2 else ""
        alone = "|only-for-relevance" if item.only_for_relevance else ""
        digest.update(f"{item.text}|{item.relevant}|{item.tone}|{item.topic}{second}{alone}\n".encode())
    return digest.hexdigest()[:16]
