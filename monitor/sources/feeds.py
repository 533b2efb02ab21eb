"""RSS and Atom feeds (feedparser) to Links."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import urljoin

from ..dates import parse_date
from ..models import Failure
from ..text import normalize_for_hash
from . import Link, canonical_url, html_to_text


@dataclass(frozen=True)
class Feed:
    name: str
    url: str
    country: str | None = None  # MA, FR or INT: where the outlet publishes
    lang: str | None = None  # None: the feed's own declaration, else detection
    require: tuple[str, ...] = ()  # keep only items whose title or summary names one of these


def matches(text: str, keywords: tuple[str, ...]) -> bool:
    """Keyword test on normalised text, so «فرنسا» matches «فَرَنسا» and «France» «FRANCE»."""
    haystack = normalize_for_hash(text)
    return any(normalize_for_hash(k) in haystack for k in keywords)


def _entry_date(entry) -> dt.date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:  # feedparser gives UTC struct_time
            return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.timezone.utc).date()
    return parse_date(entry.get("published") or entry.get("updated"))


def _entry_text(entry) -> str:
    """The longest text the feed carries: full content (WordPress content:encoded) or summary."""
    texts = [c.get("value", "") for c in entry.get("content", [])] + [entry.get("summary", "")]
    return max((html_to_text(t) for t in texts), key=len, default="")


def feed_links(feed: Feed, client, *, since: dt.date | None = None) -> Iterator[Link | Failure]:
    """Links of one feed, in feed order; feed errors are Failures naming the feed URL."""
    import feedparser

    page = client.get(feed.url, robots=False)  # a feed is published for programs to read
    if isinstance(page, Failure):
        yield Failure(feed.url, f"feed {feed.name!r} unavailable: {page.reason}")
        return
    parsed = feedparser.parse(page.body, response_headers=page.headers)
    if not parsed.entries:
        if parsed.bozo or not parsed.get("version"):
            why = parsed.get("bozo_exception") or "no RSS or Atom content"
            yield Failure(feed.url, f"feed {feed.name!r} is not a readable feed: {why}")
        return
    lang = feed.lang or (parsed.feed.get("language") or "")[:2].lower() or None
    for entry in parsed.entries:
        title = html_to_text(entry.get("title", "")).replace("\n", " ")
        raw = entry.get("feedburner_origlink") or entry.get("link") or ""
        if not raw and str(entry.get("id", "")).startswith("http"):
            raw = entry["id"]
        if not raw:
            yield Failure(feed.url, f"item without a link: {title[:80]!r}")
            continue
        published = _entry_date(entry)
        if since and published and published < since:
            continue
        summary = _entry_text(entry)
        if feed.require and not matches(f"{title}\n{summary}", feed.require):
            continue
        yield Link(url=canonical_url(urljoin(feed.url, raw)), source=feed.name, source_country=feed.country,
                   lang=lang, title=title, published=published, summary=summary)
