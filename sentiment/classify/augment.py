"""Perturbed copies of training sentences, for a teacher to label (augmented distillation).

A student learns little from its teacher on the teacher's own training texts: there the
teacher's probabilities are close to the gold labels. It learns more on texts *near* them,
where the teacher's judgement is new information (TinyBERT, Jiao et al. 2020, distils on
augmented data for this reason). Each copy changes a sentence in ways news text varies:

* **clauses**: keep one or more adjacent clauses of a sentence that has several ("Sales rose 5%,
  but margins fell" → "but margins fell"), so the student sees each claim on its own;
* **numbers**: a stated figure (not a year) scaled by a random factor ("rose 5.2%" → "rose 7.9%"),
  so it does not learn particular figures;
* **word dropout**: each word dropped with a small probability.

A copy may change the sentiment (drop "not", keep only the good half), which is why copies carry
no gold label: they join the training set as unlabelled texts (:data:`UNLABELLED`) that only the
teacher's probabilities teach. Deterministic for a given seed.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sentiment.classify.datasets import UNLABELLED, LabelledTexts, normalise

# clauses part after a comma, semicolon or colon, around a dash, and before a joining word
CLAUSE_BREAK = re.compile(r"(?<=[,;:])\s+|\s+(?=(?:but|while|whereas|although|though|despite|amid)\s)"
                          r"|\s+[-–—]\s+")
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")


@dataclass
class Augment:
    """How many perturbed copies to make of which sources' texts, and how hard to perturb.
    A recipe's ``"augment"`` object holds these fields."""

    copies: int = 1
    sources: list[str] | None = None  # data entry names; None: every labelled source
    clause: float = 0.5  # chance of keeping only some clauses (of a sentence that has several)
    numbers: float = 0.5  # chance of rescaling each number
    word_dropout: float = 0.1
    min_words: int = 3  # copies shorter than this are not kept

    @classmethod
    def from_dict(cls, raw: dict) -> Augment:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f'"augment": unknown keys {unknown}; known: {sorted(known)}')
        aug = cls(**raw)
        if aug.copies < 0 or not all(0 <= p <= 1 for p in (aug.clause, aug.numbers, aug.word_dropout)):
            raise ValueError('"augment": copies must be ≥ 0 and clause, numbers, word_dropout in [0, 1]')
        return aug

    def perturb(self, text: str, rng: random.Random) -> str:
        """One perturbed copy of ``text`` (may equal it when nothing applied)."""
        clauses = [c for c in CLAUSE_BREAK.split(text) if c and c.strip()]
        if len(clauses) > 1 and rng.random() < self.clause:
            width = rng.randint(1, len(clauses) - 1)
            start = rng.randint(0, len(clauses) - width)
            text = " ".join(clauses[start:start + width])
        text = NUMBER.sub(lambda m: self._rescale(m, rng), text)
        words = text.split()
        kept = [w for w in words if rng.random() >= self.word_dropout]
        return " ".join(kept if len(kept) >= self.min_words else words)

    def _rescale(self, match: re.Match, rng: random.Random) -> str:
        if rng.random() >= self.numbers:
            return match.group(0)
        whole, frac = match.group(1), match.group(2) or ""
        if not frac and len(whole) == 4 and 1900 <= int(whole) <= 2100:
            return whole  # a year
        value = float(whole.replace(",", "") + frac) * rng.uniform(0.5, 2.0)
        if value < 1 and not frac:
            value = 1.0
        if frac:
            return f"{value:.{len(frac) - 1}f}"
        return f"{round(value):,}" if "," in whole else str(round(value))

    def __call__(self, data: LabelledTexts, seed: int, exclude: Iterable[str] = ()) -> LabelledTexts:
        """Unlabelled copies of ``data``'s labelled texts from the chosen sources (source name
        ``<name>+aug``), without duplicates, without copies equal to their original, and
        without any text whose normalised form is in ``exclude`` (validation and test texts)."""
        rng = random.Random(seed)
        seen = set(exclude) | {normalise(t) for t in data.texts}
        texts: list[str] = []
        sources: list[str] = []
        for text, label, source in zip(data.texts, data.labels, data.sources):
            if label == UNLABELLED or (self.sources is not None and source not in self.sources):
                continue
            for _ in range(self.copies):
                copy = self.perturb(text, rng)
                key = normalise(copy)
                if len(copy.split()) < self.min_words or key in seen:
                    continue
                seen.add(key)
                texts.append(copy)
                sources.append(f"{source}+aug")
        return LabelledTexts(texts, [UNLABELLED] * len(texts), "augmented", sources)
