"""Text utilities shared by every stage: normalisation, sentence splitting, language."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from typing import NamedTuple

# Arabic diacritics (tashkeel) and tatweel are dropped for hashing (see _HASH_FOLD).
_HSPACE = re.compile(r"[ \t]+")
_NON_WORD = re.compile(r"\W+")  # \s is inside \W: one pass folds punctuation and spaces
# One str.translate pass instead of a regex per rule (hashing runs on every re-read article).
_HASH_FOLD = {**{c: None for c in [*range(0x610, 0x61B), *range(0x64B, 0x660), 0x670, *range(0x6D6, 0x6EE), 0x640]},
              **{ord(c): "ا" for c in "إأآ"}, ord("ى"): "ي", ord("ة"): "ه"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

# A sentence ends at . ! ? … ؟ (and their runs) followed by space, or at a line break.
_ABBREV = {
    "m", "mm", "mme", "mmes", "mr", "mrs", "ms", "dr", "pr", "st", "ste", "no", "vs", "etc",
    "av", "bd", "gén", "gen", "col", "lt", "sgt", "jr", "sr", "inc", "ltd", "co", "corp",
    "jan", "feb", "fév", "mar", "apr", "avr", "jun", "jul", "juil", "aug", "sep", "sept",
    "oct", "nov", "dec", "déc", "u.s", "e.g", "i.e", "p", "pp", "art", "al",
}
_SENT_END = re.compile(r"([.!?…؟]+[\"'»”’)\]]*)(\s+)")


def clean_text(text: str) -> str:
    """Unicode NFC, no control or bidi-override characters, tidy blank lines."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text).replace("\xa0", " ")
    lines = [line.strip() for line in _HSPACE.sub(" ", text).split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def normalize_for_hash(text: str) -> str:
    """Lower-cased, diacritic-free, whitespace-folded: equal for trivially different copies."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_HASH_FOLD)
    return _NON_WORD.sub(" ", text).strip()


def content_hash(*parts: str) -> str:
    return hashlib.sha1(normalize_for_hash(" ".join(p or "" for p in parts)).encode()).hexdigest()


def text_key(text: str) -> str:
    """Key of one sentence's exact text (for the embedding cache)."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def split_sentences(text: str, min_chars: int = 3) -> list[str]:
    """Split into sentences for Arabic, French and English news text.

    Paragraph and line breaks always end a sentence (titles, datelines, list items);
    abbreviations (M., Dr., Mme.) and decimals (3.5) do not.
    """
    sentences: list[str] = []
    for block in re.split(r"\n+", text):
        block = block.strip()
        if not block:
            continue
        start = 0
        for match in _SENT_END.finditer(block):
            end = match.end(1)
            candidate = block[start:end]
            last_word = re.findall(r"([\w.]+)[.]$", candidate)
            if match.group(1) == "." and last_word:
                token = last_word[-1].lower().rstrip(".")
                if token in _ABBREV or len(token) == 1:
                    continue
            following = block[match.end():match.end() + 1]
            if following and following.islower() and match.group(1) == ".":
                continue
            sentences.append(candidate.strip())
            start = match.end()
        sentences.append(block[start:].strip())
    return [s for s in sentences if len(s) >= min_chars and re.search(r"\w", s)]


ARABIC_CHARS = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
LATIN_LETTERS = re.compile(r"[A-Za-zÀ-ÿ]")


def is_rtl(text: str) -> bool:
    arabic = len(ARABIC_CHARS.findall(text))
    return arabic > len(LATIN_LETTERS.findall(text))


SUPPORTED_LANGUAGES = ("ar", "fr", "en")


@functools.lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    # Restricted set: fast, offline, and still able to say "not one of ours".
    langs = [Language.ARABIC, Language.FRENCH, Language.ENGLISH, Language.SPANISH,
             Language.GERMAN, Language.ITALIAN, Language.PORTUGUESE, Language.DUTCH,
             Language.TURKISH, Language.PERSIAN]
    return LanguageDetectorBuilder.from_languages(*langs).build()


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language ('ar', 'fr', 'en', another code, or 'und')."""
    sample = text[:2000]
    letters = len(ARABIC_CHARS.findall(sample)) + len(LATIN_LETTERS.findall(sample))
    if letters < 3:
        return "und"
    if len(ARABIC_CHARS.findall(sample)) > 0.6 * letters:
        # Arabic script: Persian/Urdu are rare here; lingua tells Arabic from Persian.
        lang = _detector().detect_language_of(sample)
        return "fa" if lang is not None and lang.iso_code_639_1.name == "FA" else "ar"
    lang = _detector().detect_language_of(sample)
    return lang.iso_code_639_1.name.lower() if lang is not None else "und"


# Words that tie a sentence to Morocco or to France: the countries, their people, capitals, Moroccan cities,
# heads of state and government, recent foreign and interior ministers, ministries, security services,
# employers' federations, and places or files only one of them stands for. French cities other than Paris
# are left out: in sports news they are clubs (Olympique de Marseille, أولمبيك ليون) with Moroccan players.
# Arabic entries are stems (they match inside المغربي, الفرنسية, للمغرب...).
# Used to tell whether an article names the two states close together (scoring.bilateral_sentences): an
# article that never does is not about their relationship (scoring.cap_to_bilateral).
_MOROCCO_NAMES = {
    "en": r"morocc|rabat|mohammed vi|cherifian|sherifian|casablanca|tangier|marrakesh|marrakech|western sahara"
          r"|moroccan sahara|polisario|bourita|akhannouch|laftit|hammouchi|makhzen"
          r"|la[aâ]youne|dakhla|agadir|oujda|t[ée]touan|mekn[eè]s|kenitra|nador|al hoceima|\bdgst\b|\bdgsn\b|\bcgem\b"
          r"|\boncf\b|bank al-maghrib",
    "fr": r"maroc|rabat|mohammed vi|ch[ée]rifien|casablanca|tanger|marrakech|sahara occidental|sahara marocain"
          r"|polisario|bourita|akhannouch|laftit|hammouchi|makhzen"
          r"|la[aâ]youne|dakhla|agadir|oujda|t[ée]touan|mekn[eè]s|k[ée]nitra|nador|al hoceima|\bdgst\b|\bdgsn\b"
          r"|\bcgem\b|\boncf\b|bank al-maghrib",
    "ar": r"مغرب|مغارب|الرباط|محمد السادس|الدار البيضاء|طنجة|مراكش|الصحراء المغربية|الصحراء الغربية|البوليساريو"
          r"|بوريطة|أخنوش|اخنوش|لفتيت|الحموشي"
          r"|بالعيون|مدينة العيون|الداخلة|أكادير|اكادير|وجدة|تطوان|مكناس|القنيطرة|الناظور|الحسيمة",
}
_FRANCE_NAMES = {
    "en": r"france|french|paris|elys[eé]e|quai d'orsay|matignon|macron|franco-|le drian|\bcolonna\b"
          r"|s[eé]journ[eé]|barrot|darmanin|retailleau|\bdgsi\b|\bdgse\b|\bmedef\b|beauvau"
          r"|h[ée]rault",
    "fr": r"france|fran[cç]ais|paris|[ée]lys[ée]e|quai d'orsay|matignon|macron|franco-|hexagone|le drian|\bcolonna\b"
          r"|s[ée]journ[ée]|barrot|darmanin|retailleau|\bdgsi\b|\bdgse\b|\bmedef\b|beauvau"
          r"|\bs[ée]nat\b(?! am[ée]ricain| espagnol| belge| italien)"
          r"|h[ée]rault",
    "ar": r"فرنس|باريس|الإليزيه|الاليزيه|الكي دورسي|ماتينيون|ماكرون|لودريان|لو دريان|كولونا|سيجورني|بارو\b"
          r"|دارمانان|دارمانين|روتايو",
}
_MOROCCO_RES = {lang: re.compile(pattern, re.IGNORECASE) for lang, pattern in _MOROCCO_NAMES.items()}
_FRANCE_RES = {lang: re.compile(pattern, re.IGNORECASE) for lang, pattern in _FRANCE_NAMES.items()}
# "The Kingdom", as the Moroccan and French press call Morocco on second mention ("Paris remains the Kingdom's
# second trading partner"); not the United Kingdom, Saudi Arabia, Jordan, Spain, Belgium or the Netherlands.
# It stands for Morocco only in an article that names Morocco (scoring.bilateral_sentences): a Saudi paper
# says المملكة of its own country.
_KINGDOM_NAMES = {
    "en": r"\bthe kingdom\b(?! of)",
    "fr": r"\broyaume\b(?![- ]uni| d'espagne| de belgique| des pays-bas| saoudien| hach[ée]mite)",
    "ar": r"(?:ال|لل)مملكة(?!\s*(?:المتحدة|العربية|الأردنية|الإسبانية|الاسبانية|البلجيكية|الهولندية))",
}
_KINGDOM_RES = {lang: re.compile(pattern, re.IGNORECASE) for lang, pattern in _KINGDOM_NAMES.items()}
# Names that contain a state's name without standing for the state: news agencies and channels quoted as
# sources ("told Agence France-Presse"), clubs, the Paris Club of creditors, the Arab Maghreb (المغرب العربي,
# المغرب الكبير), the sunset prayer (صلاة المغرب) and Jerusalem's Moroccan Gate (باب المغاربة). Blanked
# before matching, as the corpus of real articles in ../shared did when it picked its articles.
_NOT_THE_STATE = re.compile(
    r"agence france[- ]presse|france[- ]presse|france ?24|france (?:inter|info|télévisions|televisions|culture)"
    r"|radio france|\brfi\b|air france|paris saint[- ]germain|\bpsg\b|paris fc|club (?:de|of) paris|paris club"
    r"|فرانس ?برس|فرانس ?24|راديو فرانس|إذاعة فرنسا الدولية|نادي باريس|باريس سان جيرمان|باريس سان جرمان"
    r"|وكالة الأنباء الفرنسية|الوكالة الفرنسية للأنباء"
    r"|المغرب العربي|المغرب الكبير|المغرب الإسلامي|صلاة المغرب|باب المغاربة",
    re.IGNORECASE)


def _names(text: str, lang: str, names: dict[str, re.Pattern]) -> bool:
    patterns = [names[lang]] if lang in names else names.values()
    return any(p.search(text) for p in patterns)


class StateNames(NamedTuple):
    """Which of the two states a sentence names (see _MOROCCO_NAMES, _FRANCE_NAMES, _KINGDOM_NAMES)."""
    morocco: bool
    france: bool
    kingdom: bool  # "the Kingdom": Morocco, in an article that names Morocco


def state_names(sentence: str, lang: str) -> StateNames:
    """Whether the sentence names Morocco, France, or "the Kingdom", in its language (for another language,
    in any of the three). A news agency, a club or the Maghreb does not count."""
    sentence = _NOT_THE_STATE.sub(" ", sentence)
    return StateNames(_names(sentence, lang, _MOROCCO_RES), _names(sentence, lang, _FRANCE_RES),
                      _names(sentence, lang, _KINGDOM_RES))
