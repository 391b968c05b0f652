"""Ingestion: feeds, HTML pages, text files and tables (files, folders or http(s) URLs) → Articles.

>>> from sentiment.ingest import iter_inputs, ingest
>>> for item in iter_inputs(["news/", "https://www.coindesk.com/arc/outboundfeeds/rss/"]):
...     ...   # an Article, or an IngestError(input, reason) for an input that gave none

Modules: ``feeds`` (RSS/Atom via feedparser), ``html`` (trafilatura), ``files`` (txt, md,
JSON Lines, CSV), ``fetch`` (httpx with limits), ``detect`` (decoding and sniffing),
``dedupe`` (duplicate detection), ``sources`` (dispatch and the ``ingest`` API).
"""
import sys
from typing import Any

from sentiment.ingest.dedupe import Deduplicator
from sentiment.ingest.fetch import Fetcher, FetchError, FetchResult
from sentiment.ingest.records import IngestError, IngestOptions, IngestReport, InputError, Item
from sentiment.ingest.sources import ingest, is_url, iter_inputs

__all__ = ["Deduplicator", "FetchError", "FetchResult", "Fetcher", "IngestError", "IngestOptions",
           "IngestReport", "InputError", "Item", "ingest", "is_url", "iter_inputs"]


class _CallableModule(sys.modules[__name__].__class__):  # type: ignore[misc]
    """``sentiment.ingest`` is both this subpackage and the public ``ingest()`` function:
    whichever of the two a user gets from ``from sentiment import ingest``, calling it ingests."""

    def __call__(self, *args: Any, **kwargs: Any) -> IngestReport:
        return ingest(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
