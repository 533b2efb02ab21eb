"""Relevance, relations tone and topics: small classifier heads over sentence embeddings.

Scoring is a pure function of (sentences, their embeddings, trained heads): ingestion,
`score`, re-scoring and the evaluation all call :func:`score_sentences`.

Scale. A sentence's tone is P(cooperative) − P(tense) from a 3-class head trained on
labelled ar/fr/en statements about the state-to-state relationship: +1 is a certain
cooperative statement, −1 a certain tense one, 0 neutral, mixed or unsure. An article's
tone is the relevance-weighted mean over its sentences about the relationship
(weight = relevance²), so sentences about other things do not dilute or swing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .models import Evidence, Score
from .taxonomy import Labelled

METHOD_VERSION = "sentlr-3"  # bump when scores change meaning

# Tone classes. Between the two thresholds an article is "mixed" (neutral or mixed signals).
COOPERATIVE_AT = 0.25
TENSE_AT = -0.25
# An article is relevant when the mean relevance of its two most relevant sentences passes this.
RELEVANT_AT = 0.5
# Sentences below this share of the top sentence's relevance do not weigh on tone or topics.
SUPPORT_SHARE = 0.5


def tone_class(tone: float) -> str:
    if tone >= COOPERATIVE_AT:
        return "cooperative"
    if tone <= TENSE_AT:
        return "tense"
    return "mixed"


@dataclass
class SentencePredictions:
    relevance: np.ndarray  # (n,) P(about the Morocco–France relationship)
    tone: np.ndarray  # (n,) P(coop) − P(tense)
    neutral: np.ndarray  # (n,) P(neutral)
    topics: np.ndarray  # (n, k) one-vs-rest topic probabilities


class Heads:
    """Logistic-regression heads for one embedding model.

    Embeddings are centred per language before the heads see them: multilingual models
    put each language in its own region, and removing that offset makes the same statement
    in Arabic, French and English land closer (measured: better cross-lingual consistency
    and tone direction on the tuning split).
    """

    def __init__(self, relevance, tone, topic, topic_keys: list[str], model_name: str,
                 language_means: dict[str, np.ndarray] | None = None):
        self.relevance = relevance
        self.tone = tone
        self.topic = topic
        self.topic_keys = topic_keys
        self.model_name = model_name
        self.language_means = language_means or {}

    def center(self, X: np.ndarray, langs) -> np.ndarray:
        if not self.language_means or X.shape[0] == 0:
            return X
        if isinstance(langs, str):
            out = X - self.language_means.get(langs, self.language_means["*"])
        else:
            out = X - np.stack([self.language_means.get(l, self.language_means["*"]) for l in langs])
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    @classmethod
    def fit(cls, X: np.ndarray, items: list[Labelled], topic_keys: list[str], model_name: str,
            C: float = 4.0, center: bool = True) -> "Heads":
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        means: dict[str, np.ndarray] = {}
        if center:
            langs = np.array([it.lang for it in items])
            means = {lang: X[langs == lang].mean(axis=0) for lang in set(langs) if lang and (langs == lang).sum() >= 20}
            means["*"] = X.mean(axis=0)
            X = cls(None, None, None, [], "", means).center(X, list(langs))

        rel_y = np.array([1 if it.relevant else 0 for it in items])
        relevance = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit(X, rel_y)

        tone_idx = [i for i, it in enumerate(items) if it.relevant and it.tone is not None]
        tone = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit(
            X[tone_idx], np.array([items[i].tone for i in tone_idx]))

        topic_idx = [i for i, it in enumerate(items) if it.relevant and it.topic in topic_keys]
        Y = np.zeros((len(topic_idx), len(topic_keys)), dtype=int)
        for row, i in enumerate(topic_idx):
            Y[row, topic_keys.index(items[i].topic)] = 1
        topic = OneVsRestClassifier(LogisticRegression(C=C, max_iter=2000, class_weight="balanced"))
        topic.fit(X[topic_idx], Y)
        # Keep only the weights: prediction is a matrix product (sklearn's per-call checks
        # cost more than the maths on small batches), and the pickle stays small.
        order = [list(tone.classes_).index(c) for c in (1, 0, -1)]
        return cls(
            relevance=(relevance.coef_[0].astype(np.float32), float(relevance.intercept_[0])),
            tone=(tone.coef_[order].astype(np.float32), tone.intercept_[order].astype(np.float32)),
            topic=(np.stack([e.coef_[0] for e in topic.estimators_]).astype(np.float32),
                   np.array([e.intercept_[0] for e in topic.estimators_], dtype=np.float32)),
            topic_keys=list(topic_keys), model_name=model_name, language_means=means,
        )

    def predict(self, X: np.ndarray, lang: str | list[str] = "*") -> SentencePredictions:
        X = self.center(X, lang)
        if X.shape[0] == 0:
            empty = np.zeros(0)
            return SentencePredictions(empty, empty, empty, np.zeros((0, len(self.topic_keys))))
        relevance = self.relevance_only(X, None)
        W, b = self.tone
        logits = X @ W.T + b
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)  # columns: cooperative, neutral, tense
        TW, tb = self.topic
        topics = 1.0 / (1.0 + np.exp(-(X @ TW.T + tb)))
        return SentencePredictions(relevance, probs[:, 0] - probs[:, 2], probs[:, 1], topics)

    def relevance_only(self, X: np.ndarray, lang: str | list[str] | None = "*") -> np.ndarray:
        """P(relevant) per row; lang None means X is already centred."""
        if X.shape[0] == 0:
            return np.zeros(0)
        if lang is not None:
            X = self.center(X, lang)
        w, b = self.relevance
        return 1.0 / (1.0 + np.exp(-(X @ w + b)))


def select_sentences(relevance: np.ndarray, k: int) -> list[int]:
    """Indices of the k most relation-relevant sentences, in reading order; the title (0) always."""
    if len(relevance) <= k:
        return list(range(len(relevance)))
    order = [int(i) for i in np.argsort(-relevance, kind="stable")[: k - 1] if i != 0]
    return sorted({0, *order[: k - 1]})


def blend(a: SentencePredictions, b: SentencePredictions, weight: float) -> SentencePredictions:
    """(1 − weight)·a + weight·b, field by field (two models' heads on the same sentences)."""
    mix = lambda x, y: (1 - weight) * x + weight * y  # noqa: E731
    return SentencePredictions(mix(a.relevance, b.relevance), mix(a.tone, b.tone), mix(a.neutral, b.neutral),
                               mix(a.topics, b.topics))


def score_sentences(sentences: list[str], X: np.ndarray, heads: Heads, lang: str = "*",
                    second: tuple[np.ndarray, Heads, float] | None = None) -> Score:
    """Score one article from its sentences (title first), their embeddings and its language.

    second: (embeddings, heads, weight) of another model on the same sentences, blended in.
    """
    pred = heads.predict(X, lang)
    if second is not None and second[2] > 0 and len(sentences):
        X2, heads2, weight = second
        pred = blend(pred, heads2.predict(X2, lang), weight)
    n = len(sentences)
    method = f"{METHOD_VERSION}/{heads.model_name}"
    if second is not None and second[2] > 0:
        method += f"+{second[1].model_name}:{second[2]:g}"
    if n == 0:
        return Score(False, 0.0, 0.0, "n/a", 0.0, True, {k: 0.0 for k in heads.topic_keys}, None,
                     model=heads.model_name, method=method)
    rel = pred.relevance
    top = np.sort(rel)[::-1][:2]
    relevance = float(top.mean()) if len(top) else 0.0
    relevant = relevance >= RELEVANT_AT

    support = rel >= max(SUPPORT_SHARE * rel.max(), 0.2)
    weights = np.where(support, rel ** 2, 0.0)
    mass = float(weights.sum())
    if mass <= 0:
        weights, mass = np.ones(n) / n, 1.0
    tone = float(np.dot(weights, pred.tone) / mass)
    spread = float(math.sqrt(np.dot(weights, (pred.tone - tone) ** 2) / mass))
    topic_scores = (weights[:, None] * pred.topics).sum(axis=0) / mass
    topics = {key: round(float(v), 4) for key, v in zip(heads.topic_keys, topic_scores)}

    # Confidence: how sure the relevant sentences are and how much they agree.
    strength = float(np.dot(weights, 1 - pred.neutral) / mass)
    confidence = max(0.0, min(1.0, relevance * (0.5 + 0.5 * strength) * (1 - 0.5 * min(spread, 1.0))))
    low_confidence = (not relevant) or confidence < 0.35 or abs(tone - COOPERATIVE_AT) < 0.05 \
        or abs(tone - TENSE_AT) < 0.05

    influence = weights * np.abs(pred.tone)
    evidence_idx = [int(i) for i in np.argsort(-influence)[:3] if influence[i] > 0.02]
    evidence = [Evidence(sentences[i], round(float(pred.tone[i]), 3), round(float(rel[i]), 3),
                         round(float(influence[i] / max(influence.sum(), 1e-9)), 3))
                for i in evidence_idx]
    sentence_scores = [
        {"position": i, "relevance": round(float(rel[i]), 4), "tone": round(float(pred.tone[i]), 4)}
        for i in range(n)
    ]
    top_topic = max(topics, key=topics.get) if relevant and topics else None
    return Score(
        relevant=relevant,
        relevance=round(relevance, 4),
        tone=round(tone, 4),
        tone_class=tone_class(tone) if relevant else "n/a",
        confidence=round(confidence, 3),
        low_confidence=bool(low_confidence),
        topics=topics,
        top_topic=top_topic,
        evidence=evidence,
        sentence_scores=sentence_scores,
        model=heads.model_name,
        method=method,
    )
