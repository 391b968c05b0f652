"""The extractor's data files (gazetteers, lexicons, pattern lists) and small shared helpers.

Everything the extractor knows about the crypto market lives in ``sentiment/extract/data``;
this module reads those files once per process and compiles the small phrase language the
rule files share (see :class:`PhraseSet`).
"""
from __future__ import annotations

import functools
import json
import logging
import re
from bisect import bisect_right
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from spacy.tokens import Doc, Span

log = logging.getLogger("sentiment.extract")
F = TypeVar("F", bound=Callable[..., Any])

DATA_DIR = Path(__file__).resolve().parent / "data"


def data_path(name: str) -> Path:
    """A bare file name is a data file of the package; anything with a directory is a path of
    the user's own (components take one in their config: ``{"data_file": "causes.json"}`` is
    the package file, ``{"data_file": "./rules/causes.json"}`` that file)."""
    path = Path(name)
    return path if path.is_absolute() or path.parent != Path(".") else DATA_DIR / name


@functools.cache
def load_json(name: str) -> dict[str, Any]:
    """A JSON data file (see :func:`data_path`), parsed (cached per process)."""
    return json.loads(data_path(name).read_text(encoding="utf-8"))


def read_text(name: str) -> str:
    """The text of a data file (see :func:`data_path`)."""
    return data_path(name).read_text(encoding="utf-8")


_PIECE = re.compile(r"[^\s\-–—&/]+|[\-–—&/]")


def phrase_words(phrase: str) -> list[str]:
    """The token-sized pieces of a rule phrase: words, and hyphens/``&``/``/`` on their own."""
    return _PIECE.findall(phrase.strip())


class PhraseSet:
    """Fast matching of many rule phrases over lower-cased tokens.

    A phrase is space-separated words: ``word*`` is a prefix, ``a|b`` alternatives, ``~`` up to
    three tokens of any kind; hyphens, ``&`` and ``/`` are their own tokens (as spaCy splits them).
    Phrases are indexed by the first three letters of their first word, so a token is only
    compared with the few phrases that can start at it."""

    GAP = 3

    def __init__(self) -> None:
        self._by_head: dict[str, list[tuple[str, tuple[tuple[str, ...], ...]]]] = {}
        self._short: list[tuple[str, tuple[tuple[str, ...], ...]]] = []

    @staticmethod
    def _compile(phrase: str) -> tuple[tuple[str, ...], ...]:
        steps: list[tuple[str, ...]] = []
        for word in phrase_words(phrase.lower()):
            if word == "~":
                steps.append(("~",))
            else:
                steps.append(tuple(word.split("|")))
        return tuple(steps)

    def add(self, key: str, phrases: list[str]) -> None:
        """Add phrases that report ``key`` when they match."""
        for phrase in phrases:
            steps = self._compile(phrase)
            if not steps or steps[0] == ("~",):
                raise ValueError(f"rule phrase may not be empty or start with '~': {phrase!r}")
            heads = {alt.rstrip("*")[:3] for alt in steps[0]}
            if any(len(h) < 3 for h in heads):
                self._short.append((key, steps))
            else:
                for h in heads:
                    self._by_head.setdefault(h, []).append((key, steps))

    @staticmethod
    def _word_ok(alts: tuple[str, ...], tok: str) -> bool:
        for alt in alts:
            if alt.endswith("*") and len(alt) > 1:
                if tok.startswith(alt[:-1]):
                    return True
            elif tok == alt:
                return True
        return False

    def _match_at(self, steps: tuple[tuple[str, ...], ...], toks: list[str], i: int) -> int:
        """End index of a match of ``steps`` starting at ``i``, or -1."""
        if not steps:
            return i
        if steps[0] == ("~",):
            for skip in range(self.GAP + 1):
                end = self._match_at(steps[1:], toks, i + skip)
                if end >= 0:
                    return end
            return -1
        if i < len(toks) and self._word_ok(steps[0], toks[i]):
            return self._match_at(steps[1:], toks, i + 1)
        return -1

    def find(self, toks: list[str]) -> list[tuple[str, int, int]]:
        """All (key, start, end) matches in a list of lower-cased token texts."""
        out = []
        for i, tok in enumerate(toks):
            for key, steps in self._by_head.get(tok[:3], []) + self._short:
                end = self._match_at(steps, toks, i)
                if end >= 0:
                    out.append((key, i, end))
        return out


def word_set(words: list[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Split a word list into exact words and ``prefix*`` stems, for cheap token tests."""
    exact = frozenset(w.lower() for w in words if not w.endswith("*") and " " not in w)
    stems = tuple(w[:-1].lower() for w in words if w.endswith("*") and " " not in w)
    return exact, stems


def in_word_set(text: str, ws: tuple[frozenset[str], tuple[str, ...]]) -> bool:
    """Whether a lower-cased token text is in a :func:`word_set`."""
    exact, stems = ws
    return text in exact or (bool(stems) and text.startswith(stems))


def guarded(default_attrs: tuple[str, ...]) -> Callable[[F], F]:
    """Decorator for a component's ``__call__``: a failure on one odd document is logged and
    leaves empty results on ``default_attrs`` instead of stopping the whole stream."""
    def wrap(call: F) -> F:
        @functools.wraps(call)
        def inner(self: Any, doc: Any) -> Any:
            try:
                return call(self, doc)
            except Exception as exc:  # noqa: BLE001 - bad data must never crash a batch
                log.warning("extract: %s failed on a document: %s: %s", getattr(self, "name", "?"),
                            type(exc).__name__, exc)
                for attr in default_attrs:
                    setattr(doc._, attr, [])
                return doc
        return inner  # type: ignore[return-value]
    return wrap


class SentenceLookup:
    """The sentence holding a token, by bisection over the sentence starts. (``Token.sent``
    walks the doc's sentences on every call: quadratic over a long article's mentions.)"""

    def __init__(self, doc: Doc) -> None:
        self.sents = list(doc.sents)
        self.starts = [s.start for s in self.sents]

    def __call__(self, token_index: int) -> Span:
        return self.sents[max(0, bisect_right(self.starts, token_index) - 1)]
