"""Re-score stored articles with the current method, reusing stored embeddings."""

from __future__ import annotations

import datetime as dt

from . import store
from .models import Article
from .pipeline import Scorer


def rescore_all(db, scorer: Scorer, batch_size: int = 64) -> int:
    cache = store.VectorCache(db)
    ids = store.iter_article_ids(db)
    count = 0
    for start in range(0, len(ids), batch_size):
        rows = [store.get_article(db, i) for i in ids[start:start + batch_size]]
        articles = [
            Article(title=r["title"], text=r["text"], lang=r["lang"],
                    published=dt.date.fromisoformat(r["published"]) if r["published"] else None,
                    source=r["source"], source_country=r["source_country"], url=r["url"], origin=r["origin"])
            for r in rows
        ]
        for row, result in zip(rows, scorer.score_articles(articles, cache)):
            store.update_scores(db, row["id"], result.score, result.sentences, result.scored_positions)
            count += 1
    return count
