"""Live news sources (RSS/Atom feeds, the GDELT DOC API) turned into Articles.

A source yields :class:`Link` records (a URL plus what the listing says about it); every
link's page is then fetched and extracted the same way by :func:`fetch_article`.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..extract import article_from_html, build_article
from ..models import Article, Failure
from ..readers import UnreadableFile
from ..text import clean_text
from .fetch import FetchFailure

__all__ = ["Link", "canonical_url", "html_to_text", "fetch_article"]

# Tracking parameters: the same article shared through two campaigns is one URL.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|xtor|at_medium|at_campaign|ocid|cmp|mc_cid|mc_eid)$", re.I)
# WordPress and other CMS append this to feed summaries; it is not article text.
_FEED_FOOTER = re.compile(
    r"(the post .{0,300} appeared first on .{0,120}|l[’']article .{0,300} est apparu en premier sur .{0,120}"
    r"|ظهرت المقالة .{0,300} أولاً على .{0,120})\s*$", re.I | re.S)


@dataclass
class Link:
    """A URL announced by a source, with what the source says about it."""

    url: str
    source: str
    source_country: str | None = None
    lang: str | None = None
    title: str = ""
    published: dt.date | None = None
    summary: str = ""  # plain text from the listing: the fallback when the page gives no article


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, fragment and tracking parameters dropped."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def html_to_text(fragment: str) -> str:
    """Plain text of a feed's HTML summary or content, paragraphs kept as lines."""
    if not fragment:
        return ""
    if "<" in fragment:
        import lxml.html

        fragment = re.sub(r"(?i)<br\s*/?>|</(p|div|li|h\d|blockquote|tr)>", "\n", fragment)
        try:
            fragment = lxml.html.fromstring(f"<div>{fragment}</div>").text_content()
        except Exception:  # lxml rejects some broken fragments: drop the tags by hand
            fragment = html.unescape(re.sub(r"<[^>]+>", " ", fragment))
    else:
        fragment = html.unescape(fragment)
    return clean_text(_FEED_FOOTER.sub("", clean_text(fragment)))


def fetch_article(link: Link, client) -> Article | Failure:
    """The article behind a link: the page's main text, else the listing's summary.

    The listing's title, date, language and outlet win over what the page says: feeds are
    cleaner than page metadata (titles without « | Site », dates without time zones).
    A transient fetch error (network, 5xx, 429) is returned as is, so the URL is tried
    again on the next run instead of being stored with only its summary.
    """
    meta = dict(origin=link.url, source=link.source, source_country=link.source_country, lang=link.lang,
                published=link.published)
    page = client.get(link.url)
    reason = "no article text in the page"
    if isinstance(page, Failure):
        if getattr(page, "transient", False):
            return page
        reason = page.reason
    else:
        try:
            article = article_from_html(page.text(), url=link.url, title=link.title or None, **meta)
        except UnreadableFile as exc:
            article, reason = None, str(exc)
        except Exception as exc:  # extraction must never end a run
            article, reason = None, f"extraction failed: {type(exc).__name__}: {exc}"
        # A page text shorter than the feed's summary is a teaser, a paywall or a consent wall.
        if article is not None and len(article.text) >= max(20, len(link.summary)):
            return article
    if len(link.summary) >= 20:
        return build_article(title=link.title, text=link.summary, url=link.url, **meta)
    return FetchFailure(link.url, f"{reason}; nothing in the listing to fall back on")
