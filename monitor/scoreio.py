"""Headless scoring: JSONL in, one JSON object per article out. Same path as ingestion."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from .models import Article, Failure
from .pipeline import Scored, Scorer
from .readers import record_to_article
from .settings import Settings


def scored_record(result: Scored, article_id=None) -> dict:
    s = result.score
    return {
        "id": article_id if article_id is not None else result.article.external_id,
        "lang": result.article.lang,
        "relevant": s.relevant,
        "relevance": s.relevance,
        "tone": s.tone,
        "tone_class": s.tone_class,
        "tone_shares": s.shares,  # the class is the largest share
        "confidence": s.confidence,
        "low_confidence": s.low_confidence,
        "topics": s.topics,
        "top_topic": s.top_topic,
        "evidence": [{"text": e.text, "tone": e.tone, "relevance": e.relevance, "neighbours": e.neighbours}
                     for e in s.evidence],
        "model": s.model,
        "method": s.method,
    }


def score_stream(handle: TextIO, out: TextIO, settings: Settings, *, name: str = "<stdin>",
                 scorer: Scorer | None = None, batch_size: int = 32) -> int:
    """Score every JSONL record; broken lines are reported on stderr and counted."""
    scorer = scorer or Scorer(settings)
    failures = 0
    batch: list[Article] = []

    def flush():
        for result in scorer.score_articles(batch):
            out.write(json.dumps(scored_record(result), ensure_ascii=False) + "\n")
        out.flush()
        batch.clear()

    for number, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"{name}:{number}: broken JSON line: {exc.msg}", file=sys.stderr)
            failures += 1
            continue
        item = record_to_article(record, name, number)
        if isinstance(item, Failure):
            print(str(item), file=sys.stderr)
            failures += 1
            continue
        if item.external_id is None:
            item.external_id = str(number)
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return failures
