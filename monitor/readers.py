"""Files and folders to Articles: plain text, saved HTML, JSONL and CSV exports.

Every problem becomes a :class:`Failure` naming the file (and line) and the reason;
the reader goes on with the rest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .extract import article_from_html, article_from_text, build_article
from .models import Article, Failure, Seen

Known = Callable[[str], bool]  # is this raw record already stored?
Item = Article | Failure | Seen

TEXT_SUFFIXES = {".txt", ".text", ".md"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
CSV_SUFFIXES = {".csv", ".tsv"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES | CSV_SUFFIXES

# Field names accepted in JSONL/CSV exports, first match wins.
_FIELDS = {
    "title": ("title", "headline", "titre", "العنوان"),
    "text": ("text", "body", "content", "article", "texte", "النص"),
    "published": ("published", "date", "published_at", "pubdate", "datetime", "date_published"),
    "source": ("source", "outlet", "site", "sitename", "publisher"),
    "url": ("url", "link", "href"),
    "lang": ("lang", "language", "langue"),
    "external_id": ("id", "article_id", "guid"),
    "source_country": ("source_country", "country", "press_origin"),
    "demo": ("demo",),
}


class UnreadableFile(Exception):
    """The whole file cannot be read (binary, empty, undecodable, too large)."""


def decode_bytes(data: bytes) -> str:
    """Text from bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else detected.

    Windows-1256 (Arabic) and Windows-1252/Latin-1 (French) are detected, not assumed.
    """
    if not data.strip():
        raise UnreadableFile("empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise UnreadableFile("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # Only the encodings our sources use: a wider net picks look-alikes (cp1250 for French).
    best = from_bytes(data, cp_isolation=["cp1256", "cp1252", "latin_1", "iso8859_6"]).best()
    if best is None:
        raise UnreadableFile("undecodable text (not UTF-8, Windows-1256 or Windows-1252)")
    text = str(best)
    letters = sum(ch.isalpha() for ch in text)
    if letters < 0.3 * max(1, len(text.strip())):
        raise UnreadableFile(f"does not look like text (decoded as {best.encoding})")
    return text


def iter_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and files with a known ending inside folders named (sorted, recursive)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.suffix.lower() in KNOWN_SUFFIXES and not child.name.startswith("."):
                    yield child
        else:
            yield path


def record_key(raw: str) -> str:
    """Key of a record exactly as read (a JSONL line, a CSV row, a whole page)."""
    return hashlib.sha1(raw.strip().encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _keyed(raw: str, origin: str, line: int | None, known: Known | None, build: Callable[[], Item]) -> Item:
    """Seen when the raw record is already stored, else the built article carrying its key."""
    key = record_key(raw)
    if known is not None and known(key):
        return Seen(origin, line)
    item = build()
    if isinstance(item, Article):
        item.raw_key = key
    return item


def read_path(path: Path, max_bytes: int = 20_000_000, known: Known | None = None) -> Iterator[Item]:
    origin = str(path)
    try:
        if not path.exists():
            yield Failure(origin, "no such file or folder")
            return
        size = path.stat().st_size
        if path.suffix.lower() in (".jsonl", ".ndjson") and size > STREAM_AT:
            # Large exports are streamed line by line so memory stays flat; no size cap.
            yield from _stream_jsonl(path, known)
            return
        if size > max_bytes:
            yield Failure(origin, f"file too large ({size:,} bytes > {max_bytes:,})")
            return
        text = decode_bytes(path.read_bytes())
    except UnreadableFile as exc:
        yield Failure(origin, str(exc))
        return
    except OSError as exc:
        yield Failure(origin, f"cannot read: {exc.strerror or exc}")
        return
    yield from read_text(text, origin=origin, kind=sniff_kind(path, text), known=known)


STREAM_AT = 8_000_000


def _stream_jsonl(path: Path, known: Known | None = None) -> Iterator[Item]:
    origin = str(path)
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield Failure(origin, "line is not UTF-8 (large JSONL files must be UTF-8)", number)
                continue
            yield _keyed(line, origin, number, known, lambda: _json_line(line, origin, number))


def _json_line(line: str, origin: str, number: int) -> Article | Failure:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return Failure(origin, f"broken JSON line: {exc.msg}", number)
    return record_to_article(record, origin, number)


def sniff_kind(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html")) or ("<body" in text[:5000].lower()):
        return "html"
    if head.startswith("{"):
        return "jsonl"
    return "text"


def read_text(text: str, *, origin: str, kind: str, known: Known | None = None) -> Iterator[Item]:
    if kind == "html":
        yield _keyed(text, origin, None, known, lambda: _one(
            article_from_html(text, origin=origin), origin, "no article text found in the page"))
    elif kind == "jsonl":
        yield from read_jsonl(text, origin, known)
    elif kind == "csv":
        yield from read_csv(text, origin, known)
    else:
        yield _keyed(text, origin, None, known, lambda: _one(
            article_from_text(text, origin=origin), origin, "no article text"))


def _one(article: Article | None, origin: str, reason: str, line: int | None = None):
    if article is None or len(article.text.strip()) < 20:
        return Failure(origin, reason, line)
    return article


def record_to_article(record: dict, origin: str, line: int | None = None) -> Article | Failure:
    if not isinstance(record, dict):
        return Failure(origin, f"expected a JSON object, got {type(record).__name__}", line)
    lowered = {str(k).strip().lower(): v for k, v in record.items()}
    fields = {}
    for name, keys in _FIELDS.items():
        for key in keys:
            if lowered.get(key) not in (None, ""):
                fields[name] = lowered[key]
                break
    text, html = fields.pop("text", None), lowered.get("html")
    if not text and html:
        extracted = article_from_html(str(html), origin=origin, url=fields.get("url"))
        text = extracted.text if extracted else None
    if not isinstance(text, str) or len(text.strip()) < 20:
        return Failure(origin, "record has no article text (field 'text')", line)
    fields = {k: (v if k in ("demo",) else str(v)) for k, v in fields.items()}
    where = f"{origin}:{line}" if line else origin
    return build_article(title=fields.pop("title", ""), text=text, origin=where, **fields)


def read_jsonl(text: str, origin: str, known: Known | None = None) -> Iterator[Item]:
    stripped = text.lstrip()
    if stripped.startswith("["):  # a JSON array is accepted too
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield Failure(origin, f"broken JSON: {exc.msg} (line {exc.lineno})")
            return
        for idx, record in enumerate(records, 1):
            raw = json.dumps(record, ensure_ascii=False, sort_keys=True)
            yield _keyed(raw, origin, idx, known, lambda: record_to_article(record, origin, idx))
        return
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield _keyed(line, origin, number, known, lambda: _json_line(line, origin, number))


def read_csv(text: str, origin: str, known: Known | None = None) -> Iterator[Item]:
    sample = text[:5000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # newline="": the csv module then reads quoted line breaks and lone carriage returns itself.
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        fields = reader.fieldnames
    except csv.Error as exc:
        yield Failure(origin, f"broken CSV header: {exc}")
        return
    if not fields or not any(f and f.strip().lower() in _FIELDS["text"] for f in fields):
        yield Failure(origin, "CSV has no text column (expected 'text', 'body' or 'content')")
        return
    try:
        for row in reader:
            raw = "\x1f".join(f"{k}={v}" for k, v in row.items())
            yield _keyed(raw, origin, reader.line_num, known, lambda: record_to_article(row, origin, reader.line_num))
    except csv.Error as exc:
        yield Failure(origin, f"broken CSV: {exc}", reader.line_num)
