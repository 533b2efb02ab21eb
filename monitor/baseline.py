"""A GDELT-style word-list tone, kept as the baseline our method must beat.

GDELT scores the share of positive minus negative dictionary words in a whole article
(after machine translation). This does the same per language with small hand-made lists.
"""

from __future__ import annotations

import re

from .text import normalize_for_hash

POSITIVE = {
    "en": "agree agreement agreements cooperation cooperate partnership partner support supports supported "
          "welcome welcomed strengthen strengthened deepen friendship friendly warm warmth success successful "
          "progress improve improved improvement sign signed signing praise praised positive constructive "
          "excellent exceptional trust confidence joint together help aid benefit peace stability reconciliation",
    "fr": "accord accords coopération coopérer partenariat partenaire soutien soutient soutenu salue saluer "
          "renforcer renforcé renforcement approfondir amitié amical chaleureux chaleur succès réussite progrès "
          "améliorer amélioration signé signature signer éloge positif constructif excellent exceptionnel "
          "confiance conjoint commun ensemble aide bénéfice paix stabilité réconciliation",
    "ar": "اتفاق اتفاقية اتفاقيات تعاون شراكة شريك دعم يدعم ترحيب رحب تعزيز تعميق صداقة ودية دفء نجاح "
          "تقدم تحسين تحسن توقيع وقع إشادة أشاد إيجابي بناء ممتاز استثنائية ثقة مشترك مشتركة معا مساعدة "
          "سلام استقرار مصالحة",
}
NEGATIVE = {
    "en": "tension tensions crisis dispute row conflict protest protested condemn condemned criticism criticise "
          "criticized accuse accused accusation recall recalled summon summoned suspend suspended cancel "
          "cancelled postpone postponed refuse refused reject rejected restriction restrictions cut cuts "
          "reduce reduced attack terrorism threat spying espionage hostile chill freeze anger sanctions",
    "fr": "tension tensions crise différend brouille conflit protestation proteste condamne condamné critique "
          "critiqué accuse accusé accusation rappel rappelé convoque convoqué suspend suspendu annule annulé "
          "reporté reporte refuse refusé rejette rejeté restriction restrictions réduction réduit attentat "
          "terrorisme menace espionnage hostile froid gel colère sanctions",
    "ar": "توتر توترات أزمة خلاف نزاع احتجاج يدين أدان إدانة انتقاد انتقد اتهام اتهم استدعاء استدعت "
          "تعليق علقت إلغاء ألغت تأجيل أجلت رفض رفضت تقييد قيود تقليص خفض هجوم إرهاب تهديد تجسس عدائي "
          "جمود غضب عقوبات برود",
}


def _lexicon(words: str) -> set[str]:
    return {normalize_for_hash(w) for w in words.split()}


_POS = {lang: _lexicon(w) for lang, w in POSITIVE.items()}
_NEG = {lang: _lexicon(w) for lang, w in NEGATIVE.items()}


def wordlist_tone(text: str, lang: str) -> float:
    """(positive − negative) / (positive + negative) over dictionary hits, in [−1, 1]; 0 when none."""
    tokens = re.findall(r"\w+", normalize_for_hash(text))
    pos_words, neg_words = _POS.get(lang, _POS["en"]), _NEG.get(lang, _NEG["en"])
    if lang == "ar":  # Arabic clitics (و، ال، ب، ل): match on stripped forms too
        tokens = tokens + [re.sub(r"^(و|ف|ب|ل|ال|وال|بال|لل)", "", t) for t in tokens]
    pos = sum(t in pos_words for t in tokens)
    neg = sum(t in neg_words for t in tokens)
    return 0.0 if pos + neg == 0 else (pos - neg) / (pos + neg)
