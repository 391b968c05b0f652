"""Duplicate articles: the same page under two URLs, or the same text twice.

Two articles are the same when they share an id, a canonical URL (tracking parameters,
``www.``, fragments and trailing slashes do not count) or a text fingerprint (title and text,
case, punctuation and spacing ignored). :class:`Deduplicator` is the in-memory check for one
batch; the :class:`~sentiment.store.Store` applies the same rule across runs.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from sentiment.schema import Article, canonical_url


def identity_keys(article: Article) -> tuple[str, str | None, str]:
    """(id, canonical URL or None, text fingerprint): the keys two duplicates share one of."""
    return article.id, canonical_url(article.url), article.fingerprint


class Deduplicator:
    """A seen-set over ids, canonical URLs and text fingerprints."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._urls: set[str] = set()
        self._fingerprints: set[str] = set()

    def seen(self, article: Article) -> bool:
        """True when an article with the same id, canonical URL or text was already added."""
        id_, url, fingerprint = identity_keys(article)
        return id_ in self._ids or (url is not None and url in self._urls) or fingerprint in self._fingerprints

    def add(self, article: Article) -> bool:
        """Remember ``article``; returns True when it is new (False for a duplicate)."""
        if self.seen(article):
            return False
        id_, url, fingerprint = identity_keys(article)
        self._ids.add(id_)
        if url is not None:
            self._urls.add(url)
        self._fingerprints.add(fingerprint)
        return True

    def __len__(self) -> int:
        return len(self._ids)

    def unique(self, articles: Iterable[Article]) -> Iterator[Article]:
        """The articles of ``articles`` that are new, in order."""
        return (a for a in articles if self.add(a))
