"""Baselines the fine-tuned model is compared with, behind the same ``predict_proba``.

* :class:`TfidfLogReg`: word 1-2-gram TF-IDF + logistic regression (scikit-learn), trained
  in seconds on the recipe's training data (trained on the fly: nothing is pickled or shipped).
* :class:`LexiconScorer`: a finance/crypto word list in the style of vaderSentiment
  (``data/lexicon.tsv``): valences summed with negation, boosters and "but"-clauses, squashed
  into a compound in (-1, 1) and turned into three probabilities.
"""
from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from sentiment.schema import LABELS

# --------------------------------------------------------------------------- constants
LEXICON_FILE = "lexicon.tsv"
NEGATION_SCALAR = -0.74   # a negated word keeps part of its strength, flipped (VADER's N_SCALAR)
NEGATION_SCOPE = 3        # a negation reaches this many tokens ahead
MAX_TERM_WORDS = 3        # longest multi-word term
NORMALISER = 15.0         # VADER's alpha: compound = s / sqrt(s^2 + alpha)
SHARPNESS = 5.0           # how fast probability leaves neutral as |compound| grows
NEUTRAL_BAND = 0.25       # |compound| at which the polar label starts to beat neutral
_TOKEN = re.compile(r"[a-z]+(?:[-'][a-z]+)*|n't|\d+(?:[.,]\d+)*%?|[^\sa-z\d]")
_SUFFIXES = ("ing", "ed", "es", "s", "d")


@dataclass(frozen=True)
class Lexicon:
    """Term tables read from ``lexicon.tsv``: term → valence / booster factor / contrast weight;
    terms are tuples of tokens."""

    words: dict[tuple[str, ...], float]
    negations: frozenset[tuple[str, ...]]
    boosters: dict[tuple[str, ...], float]
    contrasts: dict[tuple[str, ...], float]


# --------------------------------------------------------------------------- pure functions
def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; "isn't" → ["is", "n't"]."""
    text = (text or "").lower().replace("’", "'")
    text = re.sub(r"(\w)n't\b", r"\1 n't", text)
    return _TOKEN.findall(text)


@lru_cache(maxsize=4)
def load_lexicon(name: str = LEXICON_FILE) -> Lexicon:
    """The lexicon shipped in ``sentiment/classify/data``."""
    text = resources.files("sentiment.classify").joinpath("data", name).read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if line and not line.startswith("#")),
                          delimiter="\t")
    words: dict[tuple[str, ...], float] = {}
    negations: set[tuple[str, ...]] = set()
    boosters: dict[tuple[str, ...], float] = {}
    contrasts: dict[tuple[str, ...], float] = {}
    for row in rows:
        term = tuple(tokenize(row["term"]))
        kind, value = row["kind"], float(row["value"])
        if kind == "word":
            words[term] = value
        elif kind == "negation":
            negations.add(term)
        elif kind == "booster":
            boosters[term] = value
        elif kind == "contrast":
            contrasts[term] = value
        else:
            raise ValueError(f"{name}: unknown kind {kind!r} for term {row['term']!r}")
    return Lexicon(words, frozenset(negations), boosters, contrasts)


def _stem_lookup(token: str, table: dict[tuple[str, ...], float]) -> float | None:
    if (token,) in table:
        return table[(token,)]
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) > len(suffix) + 2:
            stem = token[: -len(suffix)]
            for cand in (stem, stem + "e", stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem):
                if (cand,) in table:
                    return table[(cand,)]
    return None


def match_terms(tokens: list[str], lex: Lexicon) -> list[tuple[str, int, float]]:
    """Greedy longest match of lexicon terms: ``(kind, position, value)`` in text order."""
    found: list[tuple[str, int, float]] = []
    i = 0
    while i < len(tokens):
        for width in range(min(MAX_TERM_WORDS, len(tokens) - i), 0, -1):
            term = tuple(tokens[i:i + width])
            if term in lex.negations:
                found.append(("negation", i, 0.0))
            elif term in lex.boosters:
                found.append(("booster", i, lex.boosters[term]))
            elif term in lex.contrasts:
                found.append(("contrast", i, lex.contrasts[term]))
            elif width > 1 and term in lex.words:
                found.append(("word", i, lex.words[term]))
            elif width == 1 and (value := _stem_lookup(tokens[i], lex.words)) is not None:
                found.append(("word", i, value))
            else:
                continue
            i += width
            break
        else:
            i += 1
    return found


def valence(text: str, lex: Lexicon | None = None) -> float:
    """Sum of word valences with negation (the next few words flip), boosters (just before or
    just after a word) and contrast ("but": what follows weighs more) applied."""
    lex = lex or load_lexicon()
    total = 0.0
    negated_until = -1
    boost = 1.0
    weights: list[float] = []
    contributions: list[float] = []
    last_word = -2
    for kind, pos, value in match_terms(tokenize(text), lex):
        if kind == "negation":
            negated_until = pos + NEGATION_SCOPE
        elif kind == "booster":
            if contributions and last_word == pos - 1:  # "rose sharply": boosts the word before
                contributions[-1] *= value
            else:  # "sharply higher": boosts the next word
                boost *= value
        elif kind == "contrast":
            weights = [w / value for w in weights]  # what came before the "but" counts less
        else:
            v = value * boost
            if pos <= negated_until:
                v *= NEGATION_SCALAR
            contributions.append(v)
            weights.append(1.0)
            boost = 1.0
            last_word = pos
    for v, w in zip(contributions, weights):
        total += v * w
    return total


def compound(text: str, lex: Lexicon | None = None) -> float:
    """Valence squashed into (-1, 1) as VADER does."""
    s = valence(text, lex)
    return s / math.sqrt(s * s + NORMALISER)


def compound_to_probs(c: float) -> tuple[float, float, float]:
    """Three probabilities from a compound: neutral wins inside ±``NEUTRAL_BAND``."""
    logits = np.array([-SHARPNESS * c, SHARPNESS * NEUTRAL_BAND, SHARPNESS * c])
    e = np.exp(logits - logits.max())
    p = e / e.sum()
    return float(p[0]), float(p[1]), float(p[2])


# --------------------------------------------------------------------------- scorers
class LexiconScorer:
    """The lexicon baseline with the classifier's interface."""

    labels = LABELS

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or load_lexicon()

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return np.array([compound_to_probs(compound(t if isinstance(t, str) else "", self.lexicon))
                         for t in texts], dtype=np.float64).reshape(-1, len(LABELS))

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [LABELS[i] for i in self.predict_proba(texts).argmax(axis=1)]


class TfidfLogReg:
    """TF-IDF (word 1-2-grams, sublinear tf) + multinomial logistic regression."""

    labels = LABELS

    def __init__(self, c: float = 8.0, seed: int = 0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, strip_accents="unicode"),
            LogisticRegression(C=c, max_iter=2000, random_state=seed))

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> TfidfLogReg:
        if len(set(labels)) < 2:
            raise ValueError("TF-IDF baseline needs training data with at least two labels")
        if not set(labels) <= set(range(len(LABELS))):
            raise ValueError(f"TF-IDF baseline labels must be 0..{len(LABELS) - 1} ({', '.join(LABELS)})")
        self.pipeline.fit(list(texts), list(labels))
        return self

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        raw = self.pipeline.predict_proba([t if isinstance(t, str) else "" for t in texts])
        probs = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        for col, cls in enumerate(self.pipeline.classes_):
            probs[:, int(cls)] = raw[:, col]
        return probs

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [LABELS[i] for i in self.predict_proba(texts).argmax(axis=1)]
