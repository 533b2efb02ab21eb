"""Export processed articles (CSV or JSONL) with the same fields `score` prints."""

from __future__ import annotations

import csv
import json
from typing import TextIO

FIELDS = ["id", "lang", "relevant", "relevance", "tone", "tone_class", "tone_shares", "confidence", "low_confidence",
          "topics", "top_topic", "evidence", "title", "text", "published", "source", "source_country",
          "url", "story_id", "model", "method"]


def iter_export_rows(db, relevant_only: bool = False):
    where = "WHERE relevant = 1" if relevant_only else ""
    for row in db.query(f"SELECT * FROM articles {where} ORDER BY published, id"):
        evidence = json.loads(row["evidence"] or "[]")
        yield {
            "id": row["id"],
            "lang": row["lang"],
            "relevant": bool(row["relevant"]),
            "relevance": row["relevance"],
            "tone": row["tone"],
            "tone_class": row["tone_class"],
            "tone_shares": json.loads(row["tone_shares"]) if row.get("tone_shares") else None,  # an older database: none
            "confidence": row["confidence"],
            "low_confidence": bool(row["low_confidence"]),
            "topics": json.loads(row["topics"] or "{}"),
            "top_topic": row["top_topic"],
            "evidence": [{"text": e["text"], "tone": e["tone"]} for e in evidence],
            "title": row["title"],
            "text": row["text"],
            "published": row["published"],
            "source": row["source"],
            "source_country": row["source_country"],
            "url": row["url"],
            "story_id": row["story_id"],
            "model": row["model"],
            "method": row["method"],
        }


def export_articles(db, out: TextIO, fmt: str = "jsonl", relevant_only: bool = False) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        for row in iter_export_rows(db, relevant_only):
            row["topics"] = json.dumps(row["topics"], ensure_ascii=False)
            row["evidence"] = json.dumps(row["evidence"], ensure_ascii=False)
            row["tone_shares"] = json.dumps(row["tone_shares"]) if row["tone_shares"] else ""
            writer.writerow(row)
            count += 1
    else:
        for row in iter_export_rows(db, relevant_only):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
