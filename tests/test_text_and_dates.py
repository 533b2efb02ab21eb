import datetime as dt

import pytest

from monitor.dates import parse_date
from monitor.text import content_hash, detect_language, split_sentences


def test_split_sentences_three_languages():
    text = ("M. Macron a rencontré le roi. Le coût atteint 3.5 milliards!\n"
            "قال الوزير إن العلاقات جيدة. وأضاف أن التعاون مستمر؟ نعم هو كذلك\n"
            "Mr. Bourita met Dr. Smith in Rabat. They agreed.")
    assert split_sentences(text) == [
        "M. Macron a rencontré le roi.", "Le coût atteint 3.5 milliards!",
        "قال الوزير إن العلاقات جيدة.", "وأضاف أن التعاون مستمر؟", "نعم هو كذلك",
        "Mr. Bourita met Dr. Smith in Rabat.", "They agreed.",
    ]


@pytest.mark.parametrize("text,lang", [
    ("Les deux ministres ont condamné l'attentat et promis de coopérer.", "fr"),
    ("The two ministers condemned the attack and pledged to cooperate.", "en"),
    ("أدان الوزيران الهجوم وتعهدا بتعميق التعاون الأمني", "ar"),
    ("Los dos ministros condenaron el ataque y prometieron cooperar.", "es"),
    ("12345 !!!", "und"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_content_hash_ignores_trivial_differences():
    assert content_hash("Titre", "Le  texte, ici.") == content_hash("titre", "le texte ici")
    assert content_hash("مُباحثات", "نص") == content_hash("مباحثات", "نص")
    assert content_hash("a", "b") != content_hash("a", "c")


@pytest.mark.parametrize("raw,expected", [
    ("29 نوفمبر 2026", dt.date(2026, 11, 29)),
    ("29 novembre 2026", dt.date(2026, 11, 29)),
    ("November 29, 2026", dt.date(2026, 11, 29)),
    ("2024-10-28T10:00:00Z", dt.date(2024, 10, 28)),
    ("Publié le 3 mars 2023", dt.date(2023, 3, 3)),
    ("١٢ يناير ٢٠٢١", dt.date(2021, 1, 12)),
    ("الرباط – المغرب", None),
    ("", None),
    (None, None),
    ("mars 2023", None),  # no day: undated, not the 1st
])
def test_parse_date(raw, expected):
    assert parse_date(raw, today=dt.date(2026, 11, 29)) == expected


def test_future_date_is_rejected_not_kept():
    assert parse_date("2031-01-01", today=dt.date(2026, 11, 29)) is None
