"""Polite HTTP: one GET with a timeout, a size cap, retries with backoff, and a Failure on error.

All network access goes through a *fetcher*, a callable ``url -> (status, headers, body)``.
:func:`requests_fetcher` is the real one; tests inject recorded answers instead. The
:class:`Client` adds what every source needs on top: a pause between requests to the same
host, robots.txt, retries on 429/5xx (honouring Retry-After), and decoding.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping
from urllib import robotparser
from urllib.parse import urlsplit

from ..models import Failure
from ..readers import decode_bytes

log = logging.getLogger(__name__)

Fetcher = Callable[[str], "tuple[int, Mapping[str, str], bytes]"]
USER_AGENT = "RelationsMonitor/1.0 (Morocco-France press monitor; research use)"


class TooLarge(Exception):
    """The answer is bigger than the size limit; it is not read further."""


@dataclass
class FetchFailure(Failure):
    """A Failure that says whether trying again later may succeed (network, 429, 5xx)."""

    transient: bool = False


@dataclass
class Page:
    url: str
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def text(self) -> str:
        return decode_body(self.body, self.headers.get("content-type", ""))


def requests_fetcher(*, timeout: float = 20.0, max_bytes: int = 20_000_000, user_agent: str = USER_AGENT) -> Fetcher:
    """The real fetcher: requests with a connect/read timeout, reading at most max_bytes."""
    import requests

    session = requests.Session()
    session.headers.update({"User-Agent": user_agent, "Accept-Language": "fr,ar;q=0.9,en;q=0.8"})

    def fetch(url: str):
        with session.get(url, timeout=(min(10.0, timeout), timeout), stream=True) as resp:
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(f"answer too large ({int(declared):,} bytes > {max_bytes:,})")
            chunks, size = [], 0
            for chunk in resp.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:  # Content-Length can be absent or wrong
                    raise TooLarge(f"answer too large (over {max_bytes:,} bytes)")
                chunks.append(chunk)
            return resp.status_code, dict(resp.headers), b"".join(chunks)

    return fetch


_CHARSET_HEADER = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_CHARSET_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)|<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.I)
# Browsers read these labels as Windows-1252 (WHATWG); so do the pages that declare them.
_AS_CP1252 = {"latin_1", "iso8859-1", "ascii"}


def _decode_as(body: bytes, label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    name = "cp1252" if name in _AS_CP1252 else ("utf-8-sig" if name == "utf-8" else name)
    try:
        return body.decode(name)
    except UnicodeDecodeError:  # a wrong declaration: let detection decide
        return None


def decode_body(body: bytes, content_type: str = "") -> str:
    """Text of an answer: the header's charset, else the page's own declaration, else detection.

    Valid UTF-8 is read as UTF-8 whatever the label says: pages labelled Latin-1 or ASCII by
    a default server setting are common, and other encodings are almost never valid UTF-8.
    """
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for match in (_CHARSET_HEADER.search(content_type or ""), _CHARSET_META.search(body[:4096])):
        if match:
            label = next(g for g in match.groups() if g)
            label = label.decode("ascii", "ignore") if isinstance(label, bytes) else label
            text = _decode_as(body, label)
            if text is not None:
                return text
    return decode_bytes(body)  # raises UnreadableFile


def _network_reason(exc: Exception) -> str:
    """requests' messages run to several lines of pool internals; say what happened."""
    text = str(exc)
    low = text.lower()
    if "nameresolution" in low or "name or service not known" in low or "getaddrinfo" in low:
        return "network error: host name not found"
    if "timed out" in low or "timeout" in type(exc).__name__.lower():
        return "network error: timed out"
    if "refused" in low:
        return "network error: connection refused"
    return f"network error ({type(exc).__name__}: {text[:160]})"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = (headers.get("retry-after") or "").strip()
    return float(value) if value.isdigit() else None


@dataclass
class Client:
    """GETs through a fetcher, politely; every error comes back as a FetchFailure naming the URL."""

    fetcher: Fetcher | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    max_bytes: int = 20_000_000
    retries: int = 3
    backoff: float = 2.0  # seconds before the first retry, doubled each time
    max_wait: float = 120.0  # never wait longer than this for one retry, whatever Retry-After says
    host_delay: float = 1.0  # seconds between two requests to the same host
    host_delays: dict[str, float] = field(default_factory=dict)  # per-host overrides (GDELT asks 5 s)
    respect_robots: bool = True
    user_agent: str = USER_AGENT

    def __post_init__(self):
        if self.fetcher is None:
            self.fetcher = requests_fetcher(max_bytes=self.max_bytes, user_agent=self.user_agent)
        self._last: dict[str, float] = {}
        self._robots: dict[str, robotparser.RobotFileParser | None] = {}

    def _wait_turn(self, host: str) -> None:
        delay = self.host_delays.get(host, self.host_delay)
        last = self._last.get(host)
        if last is not None and delay > 0:
            wait = delay - (self.clock() - last)
            if wait > 0:
                self.sleep(wait)
        self._last[host] = self.clock()

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._robots:
            answer = self.get(root + "/robots.txt", robots=False, retries=0)
            parser = None
            if isinstance(answer, Page):  # no robots.txt (or an error): everything is allowed
                parser = robotparser.RobotFileParser()
                parser.parse(answer.body.decode("utf-8", "replace").splitlines())
            self._robots[root] = parser
        parser = self._robots[root]
        return parser is None or parser.can_fetch(self.user_agent, url)

    def get(self, url: str, *, robots: bool = True, retries: int | None = None) -> Page | FetchFailure:
        if urlsplit(url).scheme not in ("http", "https"):
            return FetchFailure(url, "not an http(s) URL")
        if robots and self.respect_robots and not self._allowed(url):
            return FetchFailure(url, "robots.txt disallows this URL")
        retries = self.retries if retries is None else retries
        host = urlsplit(url).netloc
        reason = "no answer"
        for attempt in range(retries + 1):
            self._wait_turn(host)
            wait = None
            try:
                status, headers, body = self.fetcher(url)
            except TooLarge as exc:
                return FetchFailure(url, str(exc))
            except Exception as exc:  # requests raises many kinds; all mean "no answer this time"
                reason = _network_reason(exc)
                if attempt >= 1:  # one retry for a blip; an unreachable host will not come back in seconds
                    return FetchFailure(url, f"{reason} (after {attempt + 1} attempts)", transient=True)
            else:
                headers = {str(k).lower(): str(v) for k, v in dict(headers).items()}
                if len(body) > self.max_bytes:
                    return FetchFailure(url, f"answer too large ({len(body):,} bytes > {self.max_bytes:,})")
                if 200 <= status < 300:
                    return Page(url, status, headers, body)
                reason = f"HTTP {status}"
                if status != 429 and status < 500:  # 403, 404, 410…: asking again will not help
                    return FetchFailure(url, reason)
                wait = _retry_after(headers)
            if attempt < retries:
                wait = min(self.max_wait, wait if wait is not None else self.backoff * 2 ** attempt)
                log.info("%s: %s, retrying in %.0f s", url, reason, wait)
                self.sleep(wait)
        return FetchFailure(url, f"{reason} (after {retries + 1} attempts)", transient=True)
