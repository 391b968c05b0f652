"""Fake classifiers for the target-level plumbing (``tests/test_asset_sentiment.py``,
``tests/test_cause_sentiment.py``): labels from direction verbs, so what the Analyzer showed
the model, and what it made of the scores, can be read off the record."""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from sentiment.schema import Score

# probabilities in the order of sentiment.schema.LABELS: bearish, neutral, bullish
BEAR, NEUTRAL, BULL = ([0.90, 0.05, 0.05], [0.05, 0.90, 0.05], [0.05, 0.05, 0.90])


class VerbScorer:
    """A transparent scorer for the plumbing: a sentence's label is its first direction verb;
    toward a target, the first direction verb after the target's mention. It records the
    (text, span) pairs it was asked to score in ``pairs``."""

    supports_targets = True

    def __init__(self) -> None:
        self.pairs: list[tuple[str, tuple[int, int]]] = []

    @staticmethod
    def _probs(text: str) -> list[float]:
        m = re.search(r"\b(rose|jumped|surged|fell|slid|plunged)\b", text)
        if m is None:
            return NEUTRAL
        return BULL if m.group(1) in ("rose", "jumped", "surged") else BEAR

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return np.array([self._probs(t) for t in texts])

    def score_targets(self, pairs: Sequence[tuple[str, tuple[int, int]]], batch_size: int = 64) -> list[Score]:
        self.pairs.extend(pairs)
        return [Score.from_probs(self._probs(text[span[0]:])) for text, span in pairs]


class SentenceOnly(VerbScorer):
    """The same scorer as a sentence-only model (no target-level scores)."""

    supports_targets = False
