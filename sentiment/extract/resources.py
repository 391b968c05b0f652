"""The extractor's data files (gazetteers, lexicons, pattern lists) and small shared helpers.

Everything the extractor knows about the crypto market lives in ``sentiment/extract/data``;
this module reads those files once per process and compiles the small phrase language the
rule files share (see :func:`phrase_pattern`).
"""
from __future__ import annotations

import functools
import json
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, TypeVar

log = logging.getLogger("sentiment.extract")
F = TypeVar("F", bound=Callable[..., Any])

DATA_DIR = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=None)
def load_json(name: str) -> dict[str, Any]:
    """A JSON data file of the package, parsed (cached per process)."""
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def read_text(name: str) -> str:
    """The text of a data file of the package."""
    return (DATA_DIR / name).read_text(encoding="utf-8")


_PIECE = re.compile(r"[^\s\-–—&/]+|[\-–—&/]")


def phrase_words(phrase: str) -> list[str]:
    """The token-sized pieces of a rule phrase: words, and hyphens/``&``/``/`` on their own."""
    return _PIECE.findall(phrase.strip())


def _word_regex(word: str) -> str:
    alts = []
    for alt in word.lower().split("|"):
        stem = alt.endswith("*") and len(alt) > 1
        alt = re.escape(alt.rstrip("*") if stem else alt)
        alts.append(alt + (".*" if stem else ""))
    return "^(?:" + "|".join(alts) + ")$"


def phrase_pattern(phrase: str) -> list[dict[str, Any]]:
    """A spaCy ``Matcher`` token pattern for a rule phrase.

    ``word*`` is a prefix, ``a|b`` alternatives, ``~`` up to three tokens of any kind; matching
    is on the lower-cased token text. Plain words compile to exact ``LOWER`` matches (fast),
    the rest to ``REGEX`` predicates."""
    pattern: list[dict[str, Any]] = []
    for word in phrase_words(phrase):
        if word == "~":
            pattern.append({"OP": "{0,3}"})
        elif "*" in word or "|" in word:
            pattern.append({"LOWER": {"REGEX": _word_regex(word)}})
        else:
            pattern.append({"LOWER": word.lower()})
    return pattern


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
