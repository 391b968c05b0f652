"""Plain files: ``.txt``/``.md`` (one article, first line = title), and tables of articles
in JSON Lines, JSON (an array of objects) or CSV/TSV with named columns.

Tables are streamed row by row (constant memory); ``max_bytes`` caps a single row there and
the whole file for everything read at once. A bad row is one error (``input#line N`` /
``input#row N``) and the rest of the table goes on.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sentiment.ingest.dates import date_in_name, parse_date
from sentiment.ingest.detect import DecodeError, bom_encoding, decode_text, looks_binary
from sentiment.ingest.fetch import megabytes
from sentiment.ingest.html import host_of
from sentiment.ingest.records import IngestError, IngestOptions, InputError, Item
from sentiment.schema import Article

TEXT_SUFFIXES = (".txt", ".text", ".md", ".markdown")
TABLE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv")
MAX_TITLE_CHARS = 1_000  # a first line longer than this is no headline: the document is all text

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*(.*?)\s*#*\s*$", re.MULTILINE)
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_QUOTE_LIST = re.compile(r"^\s{0,3}(?:>\s?|[-*+]\s+)", re.MULTILINE)


# --------------------------------------------------------------------------- helpers
def file_source(path: Path) -> str:
    """The ``source`` of an article read from a file: ``file:<name>``."""
    return f"file:{path.name}"


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``; :class:`InputError` if it is empty or over ``max_bytes``."""
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"file is {megabytes(size)}, over the {megabytes(max_bytes)} limit (max_bytes)")
    if size == 0:
        raise InputError("empty file")
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we read it
        raise InputError(f"file is over the {megabytes(max_bytes)} limit (max_bytes)")
    return data


def decode(data: bytes) -> str:
    """Text of ``data`` (BOM, UTF-8, then a Western fallback); :class:`InputError` for binary."""
    try:
        return decode_text(data)
    except DecodeError as exc:
        raise InputError(f"not a feed or article: {exc}") from None


# --------------------------------------------------------------------------- txt / md
def read_text_document(text: str, *, path: Path, markdown: bool | None = None,
                       input: str | None = None) -> Article:
    """One article from a plain-text or Markdown document: the first non-empty line is the
    title (unless it is longer than :data:`MAX_TITLE_CHARS`), the rest the text. Markdown
    front matter (``title:``/``date:``/``url:``) is used and Markdown markup is reduced to
    plain text. Without a date in the front matter, a ``YYYY-MM-DD`` in the file name dates
    the article (to the day)."""
    markdown = path.suffix.lower() in (".md", ".markdown") if markdown is None else markdown
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    front: dict[str, str] = {}
    if markdown:
        match = _FRONT_MATTER.match(text)
        if match:
            for line in match.group(1).splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    front[key.strip().lower()] = value.strip().strip("\"'")
            text = text[match.end():]
        text = _markdown_to_text(text)
    lines = text.strip().split("\n")
    if not lines or not lines[0].strip():
        raise InputError("empty file" if not text.strip() else "no text in file")
    first = " ".join(lines[0].split())
    title: str | None = front.get("title") or (first if len(first) <= MAX_TITLE_CHARS else None)
    if title is not None and (not front.get("title") or first.lower() == title.lower()):
        lines = lines[1:]  # the first line is the title (or repeats the front-matter title)
    body = "\n".join(lines).strip()
    url = front.get("url") or front.get("link")
    url = url if host_of(url) else None
    published = parse_date(front.get("date") or front.get("published"))
    meta = {"input": input or str(path), "format": "markdown" if markdown else "text"}
    if published is None and (published := date_in_name(path.name)) is not None:
        meta["published_from"] = "file name"  # a day: 00:00 UTC
    return Article(text=body, title=title, url=url, source=host_of(url) or file_source(path),
                   published=published, meta=meta)


def _markdown_to_text(text: str) -> str:
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEADING.sub(r"\1", text)
    text = _MD_QUOTE_LIST.sub("", text)
    text = re.sub(r"^\s*```.*$", "", text, flags=re.MULTILINE)
    return _MD_EMPHASIS.sub(r"\2", text)


# --------------------------------------------------------------------------- tables
def read_table(path: Path, options: IngestOptions) -> Iterator[Item]:
    """Articles from a JSON Lines, JSON or CSV/TSV file, one per row, in file order; a bad
    row yields an :class:`IngestError` and reading goes on. Raises :class:`InputError` when
    the file as a whole cannot be read (empty, binary, no text column, invalid JSON)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        rows: Iterator[tuple[str, Any]] = _json_rows(path, options)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path, options)
    else:
        rows = _csv_rows(path, options, delimiter="\t" if suffix == ".tsv" else ",")
    count = 0
    for where, row in rows:
        count += 1
        label = f"{path}#{where}"
        if isinstance(row, InputError):
            yield IngestError(label, str(row))
            continue
        try:
            yield row_article(row, options, input=str(path), where=where, path=path)
        except InputError as exc:
            yield IngestError(label, str(exc))
    if count == 0:
        raise InputError("no records in file")


def row_article(row: Mapping[str, Any], options: IngestOptions, *, input: str, where: str,
                path: Path) -> Article:
    """One article from a table row with the configured column names."""
    if not isinstance(row, Mapping):
        raise InputError(f"not an object but {type(row).__name__}")
    text = _cell(row, options.text_column)
    title = _cell(row, options.title_column)
    if not text and not title:
        raise InputError(f"no {options.text_column!r} (or {options.title_column!r}) value")
    url = _cell(row, options.url_column)
    url = url.strip() if url and host_of(url.strip()) else None
    raw_date = row.get(options.published_column)
    published = parse_date(raw_date)
    meta: dict[str, Any] = {"input": input, "format": path.suffix.lower().lstrip("."), "row": where}
    if raw_date not in (None, "") and published is None:
        meta["unparsed_published"] = _no_surrogates(str(raw_date)[:100])
    source = _cell(row, "source") or host_of(url) or file_source(path)
    return Article(text=text or "", title=" ".join(title.split()) if title else None, url=url,
                   source=source, published=published, meta=meta)


def _cell(row: Mapping[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, (dict, list)):
            return None
        value = str(value)
    value = _no_surrogates(value).strip()
    return value or None


def _no_surrogates(value: str) -> str:
    """``value`` with lone surrogates (JSON escapes such as ``"\\ud83d"`` without their pair)
    replaced by U+FFFD: they cannot be written as UTF-8, so they would fail the store and sinks."""
    return _LONE_SURROGATE.sub("\ufffd", value)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _open_text(path: Path) -> io.TextIOWrapper:
    """``path`` opened as text with the encoding of its start (BOM, UTF-8, else cp1252)."""
    if path.stat().st_size == 0:
        raise InputError("empty file")
    with path.open("rb") as handle:
        head = handle.read(65536)
    if looks_binary(head):
        raise InputError("not a feed or article: binary file")
    encoding = bom_encoding(head)
    if encoding is None:
        try:
            head.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:
            # A cut multi-byte character at the end of the sample is still UTF-8.
            encoding = "utf-8" if exc.start >= len(head) - 3 else "cp1252"
    return io.TextIOWrapper(path.open("rb"), encoding=encoding, errors="replace", newline="")


def _jsonl_rows(path: Path, options: IngestOptions) -> Iterator[tuple[str, Any]]:
    with _open_text(path) as handle:
        number = 0
        while True:
            line = handle.readline(options.max_bytes + 1)
            if not line:
                return
            number += 1
            where = f"line {number}"
            if len(line) > options.max_bytes:
                yield where, InputError(f"line longer than the {megabytes(options.max_bytes)} limit")
                while line and not line.endswith("\n"):  # skip the rest of the long line
                    line = handle.readline(options.max_bytes + 1)
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                row = InputError(_json_reason(exc, one_line=True))
            except RecursionError:  # one absurdly nested row; the rows after it are still read
                row = InputError("invalid JSON: nested too deeply")
            yield where, row


def _json_rows(path: Path, options: IngestOptions) -> Iterator[tuple[str, Any]]:
    data = decode(read_capped(path, options.max_bytes))
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise InputError(_json_reason(exc)) from None
    if isinstance(value, dict):
        for key in ("articles", "items", "data", "results"):
            if isinstance(value.get(key), list):
                value = value[key]
                break
        else:
            value = [value]
    if not isinstance(value, list):
        raise InputError("JSON file holds neither an object nor an array of objects")
    for index, row in enumerate(value, start=1):
        yield f"item {index}", row


def _json_reason(exc: ValueError, *, one_line: bool = False) -> str:
    """``invalid JSON: <what> at line L, column C`` (``at column C`` in a JSON Lines row): the
    JSON decoder's short account of what it expected (one of a fixed set of phrases such as
    "Extra data"), never a quote of the input."""
    if not isinstance(exc, json.JSONDecodeError):
        return "invalid JSON"
    where = f"column {exc.pos + 1}" if one_line else f"line {exc.lineno}, column {exc.colno}"
    return f"invalid JSON: {exc.msg} at {where}"


def _csv_reason(exc: csv.Error) -> str:
    """What the csv reader could not parse, in our words (its messages give advice about
    opening files that does not apply here)."""
    message = str(exc).lower()  # read to tell the cases apart, never shown
    if "nul" in message:
        return "it holds a NUL byte"
    if "field larger than field limit" in message:
        return "a field is longer than the size limit (max_bytes)"
    if "new-line character" in message or "unquoted field" in message:
        return "a line break inside an unquoted field"
    return "the csv reader cannot parse it"


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, min(limit, 2**31 - 1)))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _delimiter(header: str, default: str, options: IngestOptions) -> str:
    """The delimiter that splits the header line into a list naming the text or title column
    (``;``-separated exports are common); ``default`` when none does."""
    wanted = {options.text_column, options.title_column}
    for candidate in dict.fromkeys((default, ",", ";", "\t", "|")):
        names = next(csv.reader([header], delimiter=candidate), [])
        if wanted & {n.strip().lstrip("\ufeff") for n in names}:
            return candidate
    return default


def _csv_rows(path: Path, options: IngestOptions, delimiter: str) -> Iterator[tuple[str, Any]]:
    with _open_text(path) as handle, _csv_field_limit(options.max_bytes):
        delimiter = _delimiter(handle.readline(options.max_bytes), delimiter, options)
        handle.seek(0)
        reader = csv.DictReader(handle, delimiter=delimiter)
        try:
            columns = reader.fieldnames
        except csv.Error as exc:
            raise InputError(f"invalid CSV header: {_csv_reason(exc)}") from None
        if not columns:
            raise InputError("empty file")
        columns = [c.strip().lstrip("\ufeff") if c else c for c in columns]
        reader.fieldnames = columns
        if options.text_column not in columns and options.title_column not in columns:
            shown = ", ".join(repr(c) for c in columns[:12])
            raise InputError(f"no {options.text_column!r} or {options.title_column!r} column "
                             f"(columns: {shown})")
        yield from _dict_rows(handle, columns, delimiter, after=1)


class _Lines:
    """The lines a csv reader pulls, with the ones of the row being read kept (to re-read it)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line


def _unclosed_quote(lines: list[str], delimiter: str) -> bool:
    """Whether these raw lines of one row end inside a quoted field (the quote is never closed)."""
    try:
        for _ in csv.reader(lines, delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "end of data" in str(exc)
    return False


def _dict_rows(lines: Iterable[str], columns: list[str], delimiter: str, after: int) -> Iterator[tuple[str, Any]]:
    """Rows of CSV ``lines`` (the header already read; the first is line ``after + 1``). A quote
    that is never closed would make the rest of the file one field: that row is reported and
    the lines after it are read again as rows, so no article is lost silently. (A stray quote
    that a later row's quote happens to close cannot be told from a multi-line field.)"""
    source = _Lines(lines)
    reader = csv.DictReader(source, fieldnames=columns, delimiter=delimiter)
    while True:
        source.taken = []
        start = after + reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield f"line {after + reader.line_num}", InputError(f"invalid CSV row: {_csv_reason(exc)}")
            continue
        if len(source.taken) > 1 and _unclosed_quote(source.taken, delimiter):
            yield f"line {start}", InputError("invalid CSV row: a quoted field is never closed "
                                              "(the lines after it are read as rows)")
            yield from _dict_rows(source.taken[1:], columns, delimiter, after=start)
            return
        yield f"line {after + reader.line_num}", row
