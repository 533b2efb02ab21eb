"""From raw page or file text to a clean Article: title, dateline, body, no site footer."""

from __future__ import annotations

import re

from .dates import parse_date
from .models import Article
from .text import clean_text, detect_language

# Lines that open a site's comment form: everything from here on is not the article.
_COMMENT_MARKERS = [
    "اترك تعليقا", "اترك تعليقاً", "أضف تعليق", "اضف تعليق", "لن يتم نشر عنوان بريدك",
    "laisser un commentaire", "laisser une réponse", "votre adresse e-mail ne sera pas publiée",
    "votre adresse de messagerie ne sera pas publiée", "=commentaires", "ajouter un commentaire",
    "leave a reply", "leave a comment", "your email address will not be published",
    "post a comment", "=comments", "=التعليقات",
]
# Lines that open a related-links block (headlines of other articles follow).
_RELATED_MARKERS = [
    "شاهد أيضا", "شاهد أيضاً", "شاهد ايضا", "اقرأ أيضا", "اقرأ أيضاً", "إقرأ أيضا", "إقرأ أيضاً",
    "اقرأ ايضا", "مواضيع ذات صلة", "أخبار ذات صلة", "اخبار ذات صلة", "مقالات ذات صلة", "المزيد من الأخبار",
    "lire aussi", "à lire aussi", "a lire aussi", "lire également", "à lire également",
    "sur le même sujet", "articles similaires", "articles liés", "voir aussi", "dans la même rubrique",
    "=related", "related articles", "related posts", "related stories", "read also", "=read more",
    "see also", "you may also like", "=more from", "also read", "=recommended",
    "=partager", "share this", "=share", "=مشاركة",
]


def _norm_marker(line: str) -> str:
    line = re.sub(r"[\u064b-\u065f\u0640]", "", line.strip().lower())
    return re.sub(r"[\s:：.…»«\"'\-–—>|*•]+$", "", line).strip(" *•-–—>")


def _prepare(markers: list[str]) -> list[tuple[str, bool]]:
    return [(_norm_marker(m.lstrip("=")), m.startswith("=")) for m in markers]


def _starts_with_marker(line: str, markers: list[tuple[str, bool]]) -> bool:
    if len(line) > 200 or not line.strip():
        return False
    low = _norm_marker(line)
    for m, exact_only in markers:
        if low == m:
            return True
        if not exact_only and (low.startswith(m) and len(low) - len(m) < 120 and low[len(m):len(m) + 1] in " :：-–—"):
            return True
    return False


_COMMENTS = _prepare(_COMMENT_MARKERS)
_RELATED = _prepare(_RELATED_MARKERS)


def strip_boilerplate(text: str) -> str:
    """Cut the site footer: related-links blocks and comment forms, and what follows them.

    A «Lire aussi: <headline>» line inside the body is dropped on its own when real
    paragraphs follow it; at the end of the text it starts the footer and is cut with it.
    """
    lines = text.split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if kept and _starts_with_marker(line, _COMMENTS) and len(line.split()) <= 12:
            break
        if kept and _starts_with_marker(line, _RELATED):
            # «Lire aussi : <headline>» carries its headline; a bare «Lire aussi» has it on the next line.
            inline = len(_norm_marker(line).split()) > 3
            rest = [l for l in lines[i + 1:] if l.strip()]
            # Headlines are short; an article paragraph is long. Keep reading only if a long one follows.
            if not [l for l in rest[0 if inline else 1:] if len(l.split()) >= 35]:
                break
            i += 1
            if not inline:
                while i < len(lines) and not lines[i].strip():
                    i += 1
                if i < len(lines) and len(lines[i].split()) < 25:
                    i += 1
            continue
        kept.append(line)
        i += 1
    return clean_text("\n".join(kept))


def _is_dateline(line: str) -> bool:
    """«الرباط – المغرب», «RABAT (Reuters) -», «Paris, le 3 mars»: a short place line."""
    words = line.split()
    if not words or len(words) > 6 or re.search(r"[.!?؟]$", line.strip()):
        return False
    return bool(re.search(r"\s[–—-]\s|\s[–—-]$|^\w[\w\s]*\(.*\)\s*[–—-]?$", line))


def article_from_text(raw: str, *, origin: str | None = None, **meta) -> Article:
    """Plain text shaped like a scraped page: title line, dateline/date lines, body, footer."""
    text = strip_boilerplate(clean_text(raw))
    lines = text.split("\n")
    title = ""
    body_start = 0
    for idx, line in enumerate(lines):
        if line.strip():
            title, body_start = line.strip(), idx + 1
            break
    published = parse_date(meta.pop("published", None))
    # Date and dateline lines between the title and the body.
    rest = lines[body_start:]
    while rest and (not rest[0].strip() or _is_dateline(rest[0]) or
                    (len(rest[0].split()) <= 8 and parse_date(rest[0]) is not None)):
        head = rest.pop(0).strip()
        if head and published is None:
            published = parse_date(head)
    body = clean_text("\n".join(rest))
    if not body:  # a one-paragraph file: the text is the body, no title
        title, body = "", text
    return build_article(title=title, text=body, published=published, origin=origin, **meta)


def article_from_html(html: str, *, origin: str | None = None, url: str | None = None, **meta) -> Article | None:
    """Main text of a saved page (trafilatura), metadata from the page when not given."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=True)
    if doc is None:
        return None
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    body = data.get("text") or ""
    if not body.strip():
        return None
    published = meta.pop("published", None) or data.get("date")
    return build_article(
        title=meta.pop("title", None) or data.get("title") or "",
        text=strip_boilerplate(clean_text(body)),
        published=parse_date(published),
        url=url or data.get("url"),
        source=meta.pop("source", None) or data.get("sitename"),
        origin=origin,
        **meta,
    )


def build_article(*, title: str, text: str, lang: str | None = None, published=None, **meta) -> Article:
    """Normalise fields and detect the language when the record does not say it."""
    title = clean_text(title or "").replace("\n", " ")
    text = clean_text(text or "")
    if text:
        text = strip_boilerplate(text)
    lang = (lang or "").strip().lower()[:2] or detect_language(f"{title}\n{text}")
    return Article(
        title=title,
        text=text,
        lang=lang,
        published=parse_date(published),
        source=(meta.get("source") or None),
        source_country=(meta.get("source_country") or None),
        url=(meta.get("url") or None),
        external_id=(str(meta["external_id"]) if meta.get("external_id") not in (None, "") else None),
        origin=meta.get("origin"),
        demo=bool(meta.get("demo", False)),
    )
