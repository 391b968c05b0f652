"""Near-duplicate checks shared by the tests of the project's own text data (data/…).

Two measures: word shingles (a line's n-word windows; a lightly edited copy of a line keeps most
of them) and skeletons (4-grams with numbers masked as # and capitalised words as X; two lines
with one skeleton are one template with swapped names and figures).
"""
from __future__ import annotations

import re
from collections import Counter

from sentiment.classify.datasets import normalise

Index = dict[tuple[str, ...], set[int]]


def tokens(text: str) -> list[str]:
    """Lower-case word tokens: case, punctuation and spacing ignored."""
    return normalise(text).split()


def norm(text: str) -> str:
    """A text as training compares splits for overlap (:func:`normalise`): equal for
    case/punctuation-only variants."""
    return normalise(text)


def shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = tokens(text)
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def shingle_index(texts: list[str], n: int = 6) -> Index:
    index: Index = {}
    for i, text in enumerate(texts):
        for sh in shingles(text, n):
            index.setdefault(sh, set()).add(i)
    return index


def max_pair_overlap(text: str, index: Index, n: int = 6) -> tuple[float, int | None]:
    """Largest fraction of this text's shingles shared with one indexed text, and which one."""
    own = shingles(text, n)
    hits: Counter[int] = Counter()
    for sh in own:
        for doc in index.get(sh, ()):
            hits[doc] += 1
    if not hits:
        return 0.0, None
    doc, count = hits.most_common(1)[0]
    return count / len(own), doc


def skeleton(text: str) -> set[tuple[str, ...]]:
    """4-grams of the text with numbers masked as # and capitalised words (names, tickers) as X."""
    words = []
    for word in re.findall(r"[A-Za-z0-9$%.,']+", text):
        word = word.strip(".,'")
        if not word:
            continue
        words.append("#" if re.search(r"\d", word) else "X" if word[0].isupper() else word.lower())
    if len(words) < 4:
        return {tuple(words)}
    return {tuple(words[i : i + 4]) for i in range(len(words) - 3)}


def templated_pairs(texts: list[str], threshold: float) -> list[tuple[float, str, str]]:
    """Pairs of lines whose skeletons' Jaccard similarity is above ``threshold``."""
    skeletons = [skeleton(t) for t in texts]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, sk in enumerate(skeletons):
        for gram in sk:
            index.setdefault(gram, []).append(i)
    pairs = []
    for i, sk in enumerate(skeletons):
        shared = Counter(j for gram in sk for j in index[gram] if j > i)
        for j, count in shared.items():
            similarity = count / len(sk | skeletons[j])
            if similarity > threshold:
                pairs.append((round(similarity, 2), texts[i], texts[j]))
    return pairs
