"""The GDELT DOC 2.0 API (article lists) to Links.

One answer holds at most `max_records` (250) articles. When an answer is full there were
probably more, so the time window is halved and both halves are asked again, down to
GDELT's 15-minute resolution. GDELT asks for at most one request every five seconds and
answers a plain-text «Please limit requests…» (or HTTP 429) to clients that ask faster.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping
from urllib.parse import urlencode, urlsplit

from ..models import Failure
from . import Link, canonical_url, html_to_text
from .fetch import Client, FetchFailure

log = logging.getLogger(__name__)

API = "https://api.gdeltproject.org/api/v2/doc/doc"
HOST = urlsplit(API).netloc
STAMP = "%Y%m%d%H%M%S"
# GDELT names languages and countries in English; the store wants codes.
LANGUAGES = {"arabic": "ar", "french": "fr", "english": "en", "spanish": "es", "german": "de", "italian": "it"}
COUNTRIES = {"morocco": "MA", "france": "FR"}


@dataclass(frozen=True)
class GdeltConfig:
    first: tuple[str, ...] = ("Morocco", "Maroc", "المغرب")  # one of these…
    second: tuple[str, ...] = ("France", "فرنسا")  # …and one of these
    languages: tuple[str, ...] = ("arabic", "french", "english")
    max_records: int = 250
    timespan_days: float = 3.0  # first run, without --since: how far back to look
    interval: float = 5.0  # seconds between two API calls
    retries: int = 4
    min_window: dt.timedelta = dt.timedelta(minutes=15)

    @property
    def query(self) -> str:
        def group(terms):
            terms = [f'"{t}"' if " " in t else t for t in terms]
            # GDELT rejects parentheses around a single term, and requires them around ORs.
            return terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")"

        parts = [group(self.first), group(self.second)]
        if self.languages:
            parts.append(group([f"sourcelang:{lang}" for lang in self.languages]))
        return " ".join(parts)

    def url(self, start: dt.datetime, end: dt.datetime) -> str:
        return API + "?" + urlencode({
            "query": self.query, "mode": "ArtList", "format": "json", "maxrecords": self.max_records,
            "sort": "DateAsc", "startdatetime": start.strftime(STAMP), "enddatetime": end.strftime(STAMP)})


def _is_rate_limited(body: bytes) -> bool:
    return body.lstrip()[:40].lower().startswith(b"please limit requests")


def _ask(config: GdeltConfig, client: Client, url: str, sleep: Callable[[float], None]) -> list[dict] | Failure:
    """One API answer as a list of records, after waiting out rate limits."""
    for attempt in range(config.retries + 1):
        page = client.get(url, robots=False)
        if isinstance(page, Failure):
            return page
        if not _is_rate_limited(page.body):
            break
        if attempt == config.retries:
            return FetchFailure(url, "GDELT rate limit: still «Please limit requests» after "
                                     f"{config.retries + 1} attempts", transient=True)
        sleep(config.interval * 2 ** (attempt + 1))
    text = page.body.decode("utf-8", "replace").strip()
    if not text:  # GDELT answers nothing at all when nothing matches
        return []
    try:
        data = json.loads(text, strict=False)  # titles carry raw control characters
    except json.JSONDecodeError as exc:
        if not text.startswith(("{", "[")):  # a plain-text error: bad query, timespan too long…
            return Failure(url, f"GDELT error: {text[:200]}")
        return Failure(url, f"GDELT answer is not valid JSON: {exc.msg} at character {exc.pos}")
    articles = data.get("articles", []) if isinstance(data, dict) else None
    if not isinstance(articles, list):
        return Failure(url, "GDELT answer has no article list")
    return [a for a in articles if isinstance(a, dict)]


def _seen_date(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value[:15], "%Y%m%dT%H%M%S").date()
    except (TypeError, ValueError):
        return None


_SECOND_LEVEL = {"co", "com", "org", "net", "gov", "gouv", "ac", "edu"}


def registered_domain(host: str) -> str:
    """«fr.le360.ma» → «le360.ma», «www.alquds.co.uk» → «alquds.co.uk»: one outlet, whatever the subdomain."""
    labels = host.lower().split(":")[0].split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def to_link(record: dict, outlets: Mapping[str, tuple[str, str | None]]) -> Link | None:
    """A GDELT record as a Link; outlets known from the feed list keep their names and countries."""
    url = (record.get("url") or "").strip()
    if not url.startswith("http"):
        return None
    domain = (record.get("domain") or urlsplit(url).netloc).lower()
    name, country = outlets.get(registered_domain(domain), (None, None))
    return Link(
        url=canonical_url(url),
        source=name or domain.removeprefix("www."),
        source_country=country or COUNTRIES.get(str(record.get("sourcecountry", "")).lower(), "INT"),
        lang=LANGUAGES.get(str(record.get("language", "")).lower()),
        title=html_to_text(record.get("title") or "").replace("\n", " "),
        published=_seen_date(record.get("seendate") or ""),
    )


def gdelt_links(config: GdeltConfig, client: Client, start: dt.datetime, end: dt.datetime, *,
                sleep: Callable[[float], None], outlets: Mapping[str, tuple[str, str | None]] | None = None,
                ) -> Iterator[Link | Failure]:
    """Links for [start, end], splitting full answers; a failed window is a Failure, the rest go on."""
    client.host_delays.setdefault(HOST, config.interval)
    outlets = outlets or {}
    windows = [(start, end)]
    while windows:
        lo, hi = windows.pop(0)
        url = config.url(lo, hi)
        answer = _ask(config, client, url, sleep)
        if isinstance(answer, Failure):
            yield answer
            continue
        if len(answer) >= config.max_records:
            if hi - lo > config.min_window:
                mid = lo + dt.timedelta(seconds=(hi - lo).total_seconds() // 2)  # GDELT takes whole seconds
                windows[:0] = [(lo, mid), (mid, hi)]  # depth first: links flow out early
                continue
            log.warning("GDELT: %d+ articles in %s–%s even at the finest window; some are missed",
                        len(answer), lo, hi)
        for record in answer:
            link = to_link(record, outlets)
            if link is not None:
                yield link
