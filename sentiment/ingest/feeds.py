"""RSS 0.9x/1.0/2.0 and Atom feeds (feedparser): one Article per entry.

Feed XML is checked with defusedxml before feedparser sees it: any DTD entity declaration
(billion laughs, external entities) rejects the whole feed, nothing is expanded or resolved.
A malformed or truncated feed keeps the entries feedparser could recover; with none it is an
error. An entry's text is its full content (``content:encoded``/Atom content) when present,
else its summary, HTML stripped; with ``fetch_linked`` an entry that has only a summary gets
the main text of its linked page instead (the summary stays when that fails).
"""
from __future__ import annotations

import io
import re
import xml.sax
from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import Any
from xml.etree import ElementTree

import defusedxml
import defusedxml.ElementTree
import feedparser

from sentiment.ingest.dates import parse_date
from sentiment.ingest.detect import has_entity_declarations
from sentiment.ingest.html import clean_line, host_of, html_to_text
from sentiment.ingest.records import IngestError, IngestOptions, InputError, Item
from sentiment.reasons import describe, kind
from sentiment.schema import Article

PageFetcher = Callable[[str], Article]

# An empty <dc:description/> after <description> would overwrite the summary in feedparser
# (both map to ``summary``); CoinDesk's feed has exactly that, so empty ones are dropped first.
_EMPTY_DC_DESCRIPTION = re.compile(rb"<dc:description\s*/>|<dc:description>\s*</dc:description>")


# A numeric character reference to no character (a lone UTF-16 surrogate "&#xD83D;", or past
# U+10FFFF): feedparser fails the whole feed on it, so it is read as U+FFFD instead.
_NUMERIC_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _replace_bad_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, digits = match.group(1), match.group(2)
    if len((hex_digits or digits).lstrip(b"0")) > 8:  # far past U+10FFFF (and too long for int())
        return b"&#xFFFD;"
    value = int(hex_digits, 16) if hex_digits is not None else int(digits)
    return b"&#xFFFD;" if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF else match.group(0)


def check_xml_safety(data: bytes) -> None:
    """Raise :class:`InputError` if ``data`` declares DTD entities or references external
    ones. Merely malformed XML passes (feedparser may still recover entries from it)."""
    if has_entity_declarations(data):
        raise InputError("unsafe XML: DTD entity declarations are refused "
                         "(entity-expansion / external-entity attack)")
    try:
        defusedxml.ElementTree.fromstring(data, forbid_dtd=False, forbid_entities=True,
                                          forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise InputError(f"unsafe XML refused: {type(exc).__name__}") from None
    except (ElementTree.ParseError, ValueError, LookupError):  # LookupError: unknown encoding
        pass


def read_feed(data: bytes, *, input: str, options: IngestOptions | None = None,
              content_type: str | None = None, base_url: str | None = None,
              fetch_page: PageFetcher | None = None) -> Iterator[Item]:
    """Articles (and per-entry errors) of the feed in ``data``, in document order.

    Raises :class:`InputError` (before yielding anything) for an unsafe, unparseable or
    non-feed document. A valid feed without entries yields one skipped :class:`IngestError`."""
    options = options or IngestOptions()
    check_xml_safety(data)
    headers = {"content-type": content_type} if content_type else {}
    if base_url:
        headers["content-location"] = base_url
    # A stream, never the bytes: feedparser would fetch a document that looks like a URL.
    data = _NUMERIC_REF.sub(_replace_bad_ref, _EMPTY_DC_DESCRIPTION.sub(b"", data))
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=headers,
                                  resolve_relative_uris=True, sanitize_html=True)
    except (LookupError, ValueError, ArithmeticError) as exc:  # e.g. a damaged encoding declaration
        raise InputError(f"malformed feed: feedparser cannot read it ({kind(exc)})") from None
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("bozo"):
            raise InputError(f"malformed feed: {_bozo_reason(parsed)}")
        if not parsed.get("version"):
            raise InputError("not a feed: no RSS, RDF or Atom root element")
        yield IngestError(input, "feed has no entries", skipped=True)
        return
    feed = parsed.get("feed") or {}
    feed_meta = {"feed": clean_line(feed.get("title")), "feed_format": parsed.get("version") or None}
    if parsed.get("bozo"):
        feed_meta["feed_warning"] = _bozo_reason(parsed)
    fallback_source = host_of(feed.get("link")) or host_of(base_url) or _file_source(input, base_url)
    for number, entry in enumerate(entries, start=1):
        try:
            yield _entry_article(entry, number, input=input, options=options, feed_meta=feed_meta,
                                 fallback_source=fallback_source, fetch_page=fetch_page)
        except InputError as exc:
            yield IngestError(f"{input}#entry {number}", str(exc))


def _entry_article(entry: Any, number: int, *, input: str, options: IngestOptions,
                   feed_meta: dict[str, Any], fallback_source: str | None,
                   fetch_page: PageFetcher | None) -> Article:
    link = _entry_link(entry)
    title = clean_line(entry.get("title"))
    contents = [c.get("value") or "" for c in entry.get("content") or []]
    full = max((html_to_text(c) for c in contents), key=len, default="")
    summary = html_to_text(entry.get("summary") or "")
    from_content = bool(full) and len(full) >= len(summary)
    text = _drop_leading_headers(full if from_content else summary, (title, feed_meta.get("feed")))
    meta: dict[str, Any] = {"input": input, "format": "feed", "entry": number, **feed_meta,
                            "text_from": "content" if from_content else "summary"}
    if options.fetch_linked and not full and link and fetch_page is not None:
        try:
            page = fetch_page(link)
            text, meta["text_from"] = page.text, "page"
            meta["page_url"] = page.url
        except InputError as exc:
            meta["fetch_error"] = str(exc)
        except (OSError, ValueError) as exc:
            meta["fetch_error"] = describe(exc)
    if not text and not title:
        raise InputError("entry has neither title nor text")
    categories = [clean_line(t.get("term")) for t in entry.get("tags") or []]
    if any(categories):
        meta["categories"] = [c for c in categories if c]
    if entry.get("author"):
        meta["author"] = clean_line(entry.get("author"))
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed", "published", "updated"):
        # dict.get: only the dates the entry has; feedparser's own get maps a missing
        # "updated" to "published" (deprecated, with a warning, and slated for removal)
        published = parse_date(dict.get(entry, key))
        if published:
            break
    return Article(text=text, title=title, url=link, source=host_of(link) or fallback_source,
                   published=published, meta={k: v for k, v in meta.items() if v is not None})


def _drop_leading_headers(text: str, headers: tuple[str | None, ...]) -> str:
    """Text without leading paragraphs that only repeat the title or the feed's name."""
    wanted = {h.lower() for h in headers if h}
    paragraphs = text.split("\n\n")
    while len(paragraphs) > 1 and paragraphs[0].strip().lower() in wanted:
        paragraphs.pop(0)
    return "\n\n".join(paragraphs)


def _entry_link(entry: Any) -> str | None:
    candidates = [entry.get("link")]
    candidates += [l.get("href") for l in entry.get("links") or [] if l.get("rel") == "alternate"]
    if entry.get("guidislink"):
        candidates.append(entry.get("id"))
    for value in candidates:
        value = (value or "").strip()
        if host_of(value):
            return value
    return None


def _file_source(input: str, base_url: str | None) -> str | None:
    if base_url:
        return None
    return f"file:{PurePath(input).name}"


def _bozo_reason(parsed: Any) -> str:
    """What feedparser found wrong with a feed, in our words (its messages quote the parser)."""
    exc = parsed.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXParseException):
        return f"XML syntax error at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return "its declared character encoding is wrong"
    if isinstance(exc, feedparser.CharacterEncodingUnknown):
        return "its character encoding is unknown"
    if isinstance(exc, feedparser.NonXMLContentType):
        return "it is served as a content type that is not XML"
    if isinstance(exc, feedparser.UndeclaredNamespace):
        return "it uses an undeclared XML namespace"
    return f"feedparser cannot read it ({kind(exc)})" if exc is not None else "feedparser cannot read it"
