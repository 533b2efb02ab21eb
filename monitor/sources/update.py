"""`update`: every configured source, incrementally, into one ingest stream.

Only URLs not seen before are fetched. seen_urls records each fetched URL's outcome:
'ok' (stored, or the same text already stored), 'failed' (a permanent error such as a 404
or a page without text: not tried again) or 'retry' (network error, 429, 5xx: tried again
by the next runs for three days after the first failure). An article is marked 'ok' only
after the ingest has stored it; a run killed before that leaves no mark, and the articles
it stored are recognised by URL anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import tomllib
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit

from .. import store
from ..models import Article, Failure
from ..pipeline import IngestReport, ingest_articles
from ..settings import Settings
from . import Link, fetch_article
from .feeds import Feed, feed_links
from .fetch import Client, Fetcher
from .gdelt import GdeltConfig, registered_domain, gdelt_links

log = logging.getLogger(__name__)

COUNTRIES = {"MA", "FR", "INT"}
GDELT_MAX_DAYS = 90  # the DOC API searches the last three months only
GDELT_OVERLAP = dt.timedelta(hours=1)  # GDELT indexes late; seen_urls absorbs the repeats
RETRY_FOR = dt.timedelta(days=3)  # how long a URL that failed for a transient reason is tried again
_GDELT_MARK = "gdelt_until"  # key in the meta table: end of the last complete GDELT window


class SourcesError(ValueError):
    """The sources file is missing or wrong; the message says where."""


@dataclass
class Sources:
    feeds: list[Feed]
    gdelt: GdeltConfig | None


def load_sources(path: str | Path) -> Sources:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(f"no sources file at {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourcesError(f"{path}: {exc}") from None
    lists = {k: tuple(v) for k, v in data.get("filter", {}).items()}
    feeds = []
    for n, raw in enumerate(data.get("feed", []), 1):
        where = f"{path}: feed #{n} ({raw.get('name', '?')})"
        if not raw.get("name") or not str(raw.get("url", "")).startswith(("http://", "https://")):
            raise SourcesError(f"{where}: needs a name and an http(s) url")
        country = str(raw.get("country", "")).upper() or None
        if country not in COUNTRIES | {None}:
            raise SourcesError(f"{where}: country must be one of {sorted(COUNTRIES)}")
        require = raw.get("require")
        if require is not None and require not in lists:
            raise SourcesError(f"{where}: require = {require!r} names no list in [filter]")
        if raw.get("enabled", True):
            feeds.append(Feed(name=raw["name"], url=raw["url"], country=country, lang=raw.get("lang") or None,
                              require=lists.get(require, ())))
    gdelt = None
    section = data.get("gdelt")
    if section and section.get("enabled", True):
        try:
            gdelt = GdeltConfig(
                first=tuple(section.get("first", GdeltConfig.first)),
                second=tuple(section.get("second", GdeltConfig.second)),
                languages=tuple(section.get("languages", GdeltConfig.languages)),
                max_records=int(section.get("max_records", 250)),
                timespan_days=float(section.get("timespan_days", 3)),
                interval=float(section.get("interval_seconds", 5)),
            )
        except (TypeError, ValueError) as exc:
            raise SourcesError(f"{path}: [gdelt]: {exc}") from None
        if not 1 <= gdelt.max_records <= 250:
            raise SourcesError(f"{path}: [gdelt] max_records must be between 1 and 250")
    return Sources(feeds, gdelt)


# --- seen URLs (table seen_urls) ---------------------------------------------------------

class SeenUrls:
    def __init__(self, db, retry_since: str):
        self.db = db
        self.retry_since = retry_since  # 'retry' rows first marked before this are given up

    def is_new(self, url: str) -> bool:
        row = self.db.execute("SELECT status, at FROM seen_urls WHERE url=?", [url]).fetchone()
        if row and (row[0] != "retry" or row[1] < self.retry_since):
            return False
        # Stored by a run killed before it could mark its URLs (identity is the stored URL).
        return self.db.execute("SELECT 1 FROM articles WHERE identity=?", ["url:" + url]).fetchone() is None

    def retries(self) -> list[tuple[str, str | None]]:
        return self.db.execute("SELECT url, source FROM seen_urls WHERE status='retry' AND at >= ?",
                               [self.retry_since]).fetchall()

    def mark(self, items: Iterable[tuple[str, str | None, str]]) -> None:
        # A URL failing again keeps the time of its first failure: retries stop after RETRY_FOR.
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT INTO seen_urls(url, source, status, at) VALUES (?, ?, ?, ?) ON CONFLICT(url) DO UPDATE "
                "SET source=excluded.source, status=excluded.status, at=CASE WHEN seen_urls.status='retry' "
                "AND excluded.status='retry' THEN seen_urls.at ELSE excluded.at END",
                [(url, source, status, store.now()) for url, source, status in items])


def _meta(db, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key=?", [key]).fetchone()
    return row[0] if row else None


def _set_meta(db, key: str, value: str) -> None:
    with db.conn:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value])


def _by_host(links: list[Link]) -> Iterator[Link]:
    """Round-robin over hosts: the pause between two pages of one site is spent on the others."""
    queues: OrderedDict[str, deque] = OrderedDict()
    for link in links:
        queues.setdefault(urlsplit(link.url).netloc, deque()).append(link)
    while queues:
        for host in list(queues):
            yield queues[host].popleft()
            if not queues[host]:
                del queues[host]


# --- the run ------------------------------------------------------------------------------

@dataclass
class UpdateReport(IngestReport):
    feeds: int = 0
    new_links: int = 0
    known_links: int = 0
    stories_assigned: int = 0
    gdelt_window: str = ""

    def summary(self) -> str:
        head = (f"{self.feeds} feeds{', GDELT ' + self.gdelt_window if self.gdelt_window else ''}: "
                f"{self.new_links} new links, {self.known_links} already seen; "
                f"{self.stories_assigned} articles placed in stories")
        return head + "\n" + super().summary()


def run_update(settings: Settings, db, scorer, *, fetcher: Fetcher | None = None,
               sleep: Callable[[float], None] = time.sleep, since: dt.date | None = None, use_gdelt: bool = True,
               sources: Sources | None = None, progress: Callable[[int], None] | None = None,
               now: dt.datetime | None = None, client: Client | None = None) -> UpdateReport:
    """Fetch what is new in every source and ingest it as one stream; then group stories."""
    from ..stories import assign_stories

    started = time.perf_counter()
    sources = sources or load_sources(settings.sources_path)
    client = client or Client(fetcher, sleep=sleep, max_bytes=settings.max_file_bytes)
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(tzinfo=None, microsecond=0)
    seen = SeenUrls(db, retry_since=f"{now - RETRY_FOR:%Y-%m-%dT%H:%M:%S}")
    result = UpdateReport(feeds=len(sources.feeds))

    # 1. Listings: cheap, one request per feed or GDELT window.
    failures: list[Failure] = []
    links: dict[str, Link] = {}  # new links, by URL
    listed: set[str] = set()  # every URL listed this run: a link in a feed and in GDELT is one link
    gdelt_ok = False

    def take(items: Iterable[Link | Failure]) -> bool:
        ok = True
        for item in items:
            if isinstance(item, Failure):
                failures.append(item)
                ok = False
            elif item.url not in listed:
                listed.add(item.url)
                if seen.is_new(item.url):
                    links[item.url] = item
                else:
                    result.known_links += 1
        return ok

    for feed in sources.feeds:
        take(feed_links(feed, client, since=since))
    outlets: dict[str, tuple[str, str | None]] = {}  # registered domain -> feed name and country
    for feed in sources.feeds:
        outlets.setdefault(registered_domain(urlsplit(feed.url).netloc), (feed.name, feed.country))
    if use_gdelt and sources.gdelt:
        cfg = sources.gdelt
        mark = _meta(db, _GDELT_MARK)
        if since:
            start = dt.datetime.combine(since, dt.time())
        elif mark:
            start = dt.datetime.fromisoformat(mark) - GDELT_OVERLAP
        else:
            start = now - dt.timedelta(days=cfg.timespan_days)
        start = max(start, now - dt.timedelta(days=GDELT_MAX_DAYS))
        if start < now:
            result.gdelt_window = f"{start:%Y-%m-%d %H:%M}–{now:%Y-%m-%d %H:%M} UTC"
            gdelt_ok = take(gdelt_links(cfg, client, start, now, sleep=sleep, outlets=outlets))
    # Transient failures of the last days that no listing repeats (GDELT has moved on): try again,
    # with what seen_urls remembers; the page gives the rest.
    for url, source in seen.retries():
        if url not in listed:
            listed.add(url)
            name, country = outlets.get(registered_domain(urlsplit(url).netloc), (None, None))
            links[url] = Link(url, source or name or urlsplit(url).netloc, country)
    result.new_links = len(links)

    # 2. Pages: one stream into the one ingest path.
    stored: list[tuple[str, str]] = []

    def stream() -> Iterator[Article | Failure]:
        yield from failures
        for link in _by_host(list(links.values())):
            item = fetch_article(link, client)
            if isinstance(item, Failure):
                seen.mark([(link.url, link.source, "retry" if getattr(item, "transient", False) else "failed")])
            else:
                stored.append((link.url, link.source))
            yield item

    report = ingest_articles(stream(), db, scorer, progress=progress, command="update")
    not_stored = {f.origin for f in report.failures}  # e.g. scoring failed: try again next run
    seen.mark((url, source, "ok") for url, source in stored if url not in not_stored)
    if gdelt_ok:
        _set_meta(db, _GDELT_MARK, now.isoformat())

    # The selector (when there is one) embeds every sentence of long articles, the main model
    # only the few it scores: stories use whichever both articles of a pair have.
    selector = getattr(scorer, "selector", None)
    result.stories_assigned = assign_stories(db, ([selector.name] if selector else []) + [scorer.model_name])
    for name in ("ingested", "updated", "present", "duplicates", "failures", "sentences_embedded"):
        setattr(result, name, getattr(report, name))
    result.seconds = time.perf_counter() - started
    return result
