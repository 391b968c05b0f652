"""From sources (files, folders, http(s) URLs) to a stream of Articles and IngestErrors.

``iter_inputs`` decides what each input is, reads it with the right reader and turns every
problem into one :class:`IngestError` line, so one bad input never stops a batch and every
input is accounted for. ``ingest`` stores the stream in a :class:`~sentiment.store.Store`.
"""
from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from sentiment.ingest.detect import DecodeError, decode_text, has_entity_declarations, sniff
from sentiment.ingest.feeds import read_feed
from sentiment.ingest.fetch import Fetcher, FetchError
from sentiment.ingest.files import (
    TABLE_SUFFIXES,
    TEXT_SUFFIXES,
    read_capped,
    read_table,
    read_text_document,
)
from sentiment.ingest.html import extract_article, host_of
from sentiment.ingest.records import IngestError, IngestOptions, IngestReport, InputError, Item
from sentiment.reasons import describe, os_reason
from sentiment.schema import Article
from sentiment.store import Store

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
KNOWN_SUFFIXES = FEED_SUFFIXES + HTML_SUFFIXES + TEXT_SUFFIXES + TABLE_SUFFIXES
# A folder's own documentation, skipped (and reported) when a folder is walked.
DOC_FILE = re.compile(r"^(readme|license|licence|changelog|contributing|copying|notice)(\.\w+)?$", re.IGNORECASE)
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters or more: "C:" is a drive
UNSAFE_XML = "unsafe XML: DTD entity declarations are refused (entity-expansion / external-entity attack)"


def is_url(source: str | Path) -> bool:
    """True for a source written as a URL (``scheme://…``), fetchable or not."""
    return isinstance(source, str) and "://" in source.split("?", 1)[0][:20]


def iter_inputs(sources: Iterable[str | Path] | str | Path, options: IngestOptions | None = None,
                store: Store | None = None) -> Iterator[Item]:
    """Expand sources (files, folders, feed files, http(s) URLs) and yield each Article or
    IngestError in input order, streaming. Every input yields at least one item; each
    Article has ``meta["input"]`` set to its input. With a ``store``, URLs are fetched
    conditionally (ETag / Last-Modified from the last poll) and an unchanged URL yields one
    skipped IngestError ("not modified")."""
    if isinstance(sources, (str, Path)):
        sources = [sources]
    reader = _Reader(options or IngestOptions(), store)
    try:
        for source in sources:
            yield from reader.source(source)
    finally:
        reader.close()


def ingest(sources: Iterable[str | Path] | str | Path, store: Store | str | Path,
           options: IngestOptions | None = None, *,
           on_item: Callable[[Item], None] | None = None) -> IngestReport:
    """Read ``sources`` into ``store`` (a Store or a path to one); duplicates of stored
    articles are not added again and failures are recorded in the store's error table.
    ``on_item`` sees every Article and IngestError as it comes (for progress output)."""
    own = not isinstance(store, Store)
    db = store if isinstance(store, Store) else Store(store)
    report = IngestReport()
    try:
        for item in iter_inputs(sources, options, db):
            if isinstance(item, IngestError):
                report.add_error(item)
                if not item.skipped:
                    db.add_error(item.input, item.reason)
            else:
                report.read += 1
                if db.add_article(item):
                    report.new += 1
                else:
                    report.duplicates += 1
            if on_item is not None:
                on_item(item)
    finally:
        if own:
            db.close()
    return report


class _Reader:
    """Reads one source at a time; holds the options, the store and a lazily made Fetcher."""

    def __init__(self, options: IngestOptions, store: Store | None):
        self.options = options
        self.store = store
        self._fetcher: Fetcher | None = None

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.options)
        return self._fetcher

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()

    # ------------------------------------------------------------------ dispatch
    def source(self, source: str | Path) -> Iterator[Item]:
        label = str(source)
        try:
            if is_url(source):
                yield from self._guard(label, self.url(str(source)))
                return
            path = Path(source)
            if path.is_dir():
                yield from self.folder(path)
            elif path.exists():
                yield from self._guard(label, self.file(path))
            elif URL_SCHEME.match(label):  # data:, javascript:, mailto:… (not a drive letter)
                scheme = label.split(":", 1)[0].lower()
                yield IngestError(label, f"only http and https URLs are fetched, not {scheme} URL")
            else:
                yield IngestError(label, "no such file or folder")
        except OSError as exc:
            yield IngestError(label, f"cannot read: {os_reason(exc)}")

    def _guard(self, label: str, items: Iterator[Item]) -> Iterator[Item]:
        """Items of one input; any failure becomes one IngestError and the batch goes on."""
        try:
            yield from items
        except InputError as exc:
            yield IngestError(label, str(exc))
        except FetchError as exc:
            yield IngestError(label, str(exc))
        except DecodeError as exc:
            yield IngestError(label, f"not a feed or article: {exc}")
        except OSError as exc:
            yield IngestError(label, f"cannot read: {os_reason(exc)}")
        except RecursionError:
            yield IngestError(label, "document nested too deeply")
        except Exception as exc:  # noqa: BLE001 - a reader library choking on odd data must not stop the batch
            yield IngestError(label, f"unreadable ({describe(exc)})")

    def folder(self, root: Path) -> Iterator[Item]:
        """Files under ``root``, recursively, in sorted order; hidden entries, folder links,
        unknown file types and a folder's own documentation (README, LICENSE…) are reported
        as skipped. A documentation file named directly as a source is read like any other."""
        try:
            entries = sorted(os.scandir(root), key=lambda e: e.name)
        except OSError as exc:
            yield IngestError(str(root), f"cannot read folder: {os_reason(exc)}")
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith("."):
                yield IngestError(str(path), "hidden file or folder", skipped=True)
            elif entry.is_dir(follow_symlinks=False):
                yield from self.folder(path)
            elif entry.is_dir():
                yield IngestError(str(path), "link to a folder (not followed)", skipped=True)
            elif DOC_FILE.match(entry.name):
                yield IngestError(str(path), "the folder's documentation, not an article", skipped=True)
            elif path.suffix.lower() not in KNOWN_SUFFIXES:
                kind = f"'{path.suffix}'" if path.suffix else "without a suffix"
                yield IngestError(str(path), f"unknown file type {kind}", skipped=True)
            else:
                yield from self._guard(str(path), self.file(path))

    # ------------------------------------------------------------------ files
    def file(self, path: Path) -> Iterator[Item]:
        suffix = path.suffix.lower()
        if suffix in TABLE_SUFFIXES:
            yield from read_table(path, self.options)
            return
        data = read_capped(path, self.options.max_bytes)
        if not data.strip():
            raise InputError("empty file")
        if suffix in TEXT_SUFFIXES:  # the suffix is trusted: articles may quote markup
            yield read_text_document(_decode(data), path=path)
            return
        yield from self.document(data, input=str(path), suffix=suffix, path=path)

    # ------------------------------------------------------------------ URLs
    def url(self, url: str) -> Iterator[Item]:
        state = self.store.feed_state(url) if self.store is not None else None
        result = self.fetcher.fetch(url, etag=(state or {}).get("etag"),
                                    last_modified=(state or {}).get("last_modified"))
        if result.not_modified:
            yield IngestError(url, "not modified since the last poll (HTTP 304)", skipped=True)
            return
        if not result.content.strip():
            raise InputError("empty response")
        suffix = PurePosixPath(urlsplit(result.url).path).suffix.lower()
        yield from self.document(result.content, input=url, suffix=suffix,
                                 content_type=result.content_type, url=result.url)
        # Remember the validators only once the whole document was read.
        if self.store is not None and (result.etag or result.last_modified):
            self.store.set_feed_state(url, result.etag, result.last_modified)

    def fetch_page(self, url: str) -> Article:
        """The article of the page at ``url`` (feed entries with ``fetch_linked``)."""
        try:
            result = self.fetcher.fetch(url)
        except FetchError as exc:
            raise InputError(str(exc)) from None
        if sniff(result.content, result.content_type, "") != "html":
            raise InputError(f"linked page is not HTML ({result.content_type or 'no content type'})")
        return extract_article(_decode(result.content, result.content_type), input=url, url=result.url)

    # ------------------------------------------------------------------ documents
    def document(self, data: bytes, *, input: str, suffix: str, content_type: str | None = None,
                 url: str | None = None, path: Path | None = None) -> Iterator[Item]:
        """The items of one feed, HTML page or text document, whatever its origin."""
        kind = sniff(data, content_type, suffix)
        if kind in ("feed", "html") and has_entity_declarations(data):
            raise InputError(UNSAFE_XML)
        if kind == "feed":
            yield from read_feed(data, input=input, options=self.options, content_type=content_type,
                                 base_url=url, fetch_page=self.fetch_page)
        elif kind == "html":
            yield extract_article(_decode(data, content_type), input=input, url=url,
                                  source=f"file:{path.name}" if path is not None else None)
        elif kind == "text":
            article = read_text_document(_decode(data, content_type), path=path or Path(input),
                                         markdown=suffix in (".md", ".markdown"), input=input)
            if url:
                article = dataclasses.replace(article, url=url, source=host_of(url), id="")
            yield article
        elif kind == "binary":
            what = f"binary content ({content_type.split(';')[0]})" if content_type else "binary file"
            raise InputError(f"not a feed or article: {what}")
        else:
            what = f"content type {content_type.split(';')[0]}" if content_type else "unrecognised content"
            raise InputError(f"not a feed or article: {what}")


def _decode(data: bytes, content_type: str | None = None) -> str:
    try:
        return decode_text(data, content_type)
    except DecodeError as exc:
        raise InputError(f"not a feed or article: {exc}") from None
