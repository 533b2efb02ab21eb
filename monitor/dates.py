"""Publication dates in Arabic, French and English; never invented."""

from __future__ import annotations

import datetime as dt
import functools
import re

_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
# Arabic-Indic and Eastern Arabic digits to ASCII.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Words that introduce a date on a dateline; stripped before parsing.
_LEADS = re.compile(
    r"^(published|updated|posted|publié|mis à jour|le|on|نشر|نُشر|بتاريخ|في|تاريخ النشر)\s*(le|on|في)?\s*[:：]?\s*",
    re.IGNORECASE,
)
_HAS_MONTH_OR_NUMBERS = re.compile(
    r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{1,2}\s+\S+\s+\d{4}|\S+\s+\d{1,2},?\s+\d{4}|\d{4}-\d{2}-\d{2}"
)


@functools.lru_cache(maxsize=1)
def _parser():
    import dateparser

    return dateparser


def parse_date(value, today: dt.date | None = None) -> dt.date | None:
    """A date from an ISO string, a date/datetime, or text such as «29 نوفمبر 2026».

    Returns None when there is no full date (year, month and day): an undated article
    stays undated. Dates in the future (beyond tomorrow) are rejected as parse errors.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    else:
        text = str(value).translate(_DIGITS).strip()
        if not text or len(text) > 80:
            return None
        match = _ISO.match(text)
        if match:
            try:
                result = dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                return None
        else:
            text = _LEADS.sub("", text)
            if not _HAS_MONTH_OR_NUMBERS.search(text):
                return None
            parsed = _parser().parse(
                text,
                languages=["ar", "fr", "en"],
                settings={"REQUIRE_PARTS": ["day", "month", "year"], "DATE_ORDER": "DMY",
                          "PREFER_DATES_FROM": "past"},
            )
            if parsed is None:
                return None
            result = parsed.date()
    limit = (today or dt.date.today()) + dt.timedelta(days=1)
    if result > limit or result.year < 1900:
        return None
    return result
