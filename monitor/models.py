"""The typed records that flow between stages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property


@dataclass
class Article:
    """A cleaned article, ready to be split, embedded and scored."""

    title: str
    text: str
    lang: str = "und"
    published: dt.date | None = None
    source: str | None = None
    source_country: str | None = None  # MA, FR, INT (press origin) or None when unknown
    url: str | None = None
    external_id: str | None = None
    origin: str | None = None  # file[:line] or URL it came from
    demo: bool = False
    raw_key: str | None = field(default=None, compare=False)  # hash of the record as read (see readers)

    @property
    def identity(self) -> str:
        """What makes two records the same article: URL, else source id, else content."""
        if self.url:
            return "url:" + self.url.strip()
        if self.external_id:
            return f"id:{self.source or ''}:{self.external_id}"
        return "hash:" + self.content_hash

    @cached_property
    def content_hash(self) -> str:
        from .text import content_hash

        return content_hash(self.title, self.text)


@dataclass
class Seen:
    """A record read before byte for byte: skipped unparsed, so re-ingesting is cheap.

    Parsing and extraction improvements therefore reach such a record only if it changes;
    `rescore` re-applies the scoring method to stored articles.
    """

    origin: str
    line: int | None = None


@dataclass
class Failure:
    """A record that could not be read; reported, stored, never fatal to the batch."""

    origin: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.origin}:{self.line}" if self.line else self.origin
        return f"{where}: {self.reason}"


@dataclass
class Evidence:
    text: str
    tone: float
    relevance: float
    weight: float
    # the labelled training statements closest to this sentence, which weigh on its tone (scoring's tone memory):
    # [{"text", "lang", "label" (cooperative / neutral / tense), "similarity"}]
    neighbours: list[dict] = field(default_factory=list)


@dataclass
class Score:
    """Everything scoring says about one article; a pure function of its sentences."""

    relevant: bool
    relevance: float
    tone: float
    tone_class: str  # cooperative | mixed | tense | n/a
    confidence: float
    low_confidence: bool
    topics: dict[str, float]
    top_topic: str | None
    evidence: list[Evidence] = field(default_factory=list)
    sentence_scores: list[dict] = field(default_factory=list)
    model: str = ""
    method: str = ""
    # cooperative / mixed / tense shares of the tone; the largest is tone_class (see scoring.tone_shares)
    shares: dict[str, float] = field(default_factory=dict)
