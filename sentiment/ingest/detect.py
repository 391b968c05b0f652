"""Turning raw bytes into text, and telling what kind of document they hold.

Decoding order: byte-order mark, then a declared charset (HTTP header, XML declaration or
HTML ``<meta>``), then strict UTF-8, then a detector. Single-byte Western guesses from
charset detection are unreliable on short texts (latin-1 news often comes back as cp1250,
which turns "déjà" into "déjŕ"), so only the detector's confident non-Western answers are
trusted and everything else falls back to cp1252 (a superset of latin-1's printable range).
"""
from __future__ import annotations

import codecs
import re
from typing import Literal

Kind = Literal["feed", "html", "text", "binary", "unknown"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# Encodings a charset detector names reliably: multi-byte and non-Latin scripts.
_TRUSTED_DETECTIONS = ("utf_16", "utf_32", "shift_jis", "cp932", "euc_j", "gb", "hz", "big5",
                       "cp950", "euc_kr", "cp949", "johab", "iso2022", "koi8", "cp1251", "cp866",
                       "mac_cyrillic", "iso8859_5", "cp1253", "iso8859_7", "cp1255", "iso8859_8",
                       "cp1256", "iso8859_6", "tis_620", "cp874")
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.IGNORECASE)
_FEED_ROOT = re.compile(r"<(?:[\w-]+:)?(rss|feed|RDF)\b", re.IGNORECASE)
_HTML_START = re.compile(r"<(!doctype\s+html|html|head|body|article|meta|title)\b", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


class DecodeError(ValueError):
    """Bytes that are not text (the message is the reason shown to the user)."""


def bom_encoding(data: bytes) -> str | None:
    """The encoding named by a byte-order mark at the start of ``data``, if any."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not text in any encoding we read: NUL bytes or many control
    characters in the first 8 KiB (UTF-16/32 with a byte-order mark is text)."""
    head = data[:8192]
    if not head or bom_encoding(head):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(head) > 0.05


def declared_charset(data: bytes, content_type: str | None = None) -> str | None:
    """The charset declared by an HTTP Content-Type, an XML declaration or an HTML meta tag,
    if Python knows it."""
    candidates = []
    if content_type:
        header = re.search(r"charset\s*=\s*[\"']?([\w.-]+)", content_type, re.IGNORECASE)
        if header:
            candidates.append(header.group(1))
    head = data[:4096]
    for pattern in (_XML_DECL, _META_CHARSET):
        found = pattern.search(head)
        if found:
            candidates.append(found.group(1).decode("ascii", "ignore"))
    for name in candidates:
        try:
            return codecs.lookup(name).name
        except LookupError:
            continue
    return None


def decode_text(data: bytes, content_type: str | None = None) -> str:
    """Decode ``data`` to text (see the module docstring for the order); raises
    :class:`DecodeError` for binary data."""
    bom = bom_encoding(data)
    if bom:
        try:
            return data.decode(bom)
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid {bom} text after byte-order mark (at byte {exc.start})") from None
    if looks_binary(data):
        raise DecodeError("binary file")
    declared = declared_charset(data, content_type)
    if declared:
        # A declared charset is trusted when it decodes; a wrong declaration falls through.
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guess = _detect(data)
    if guess:
        try:
            return data.decode(guess)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return data.decode("latin-1")


def _detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional: the cp1252 fallback still reads Western text
        return None
    best = from_bytes(data[:65536]).best()
    if best is None:
        return None
    name = best.encoding.lower()
    return name if name.startswith(_TRUSTED_DETECTIONS) else None


def has_entity_declarations(data: bytes) -> bool:
    """True when an XML/HTML document declares DTD entities (the billion-laughs and external
    entity attacks need them; no real feed or page does)."""
    return bool(_ENTITY_DECL.search(data))


def sniff(data: bytes, content_type: str | None = None, suffix: str = "") -> Kind:
    """What ``data`` holds: a feed, an HTML page, plain text or binary. The content itself
    decides first (servers often label feeds ``text/html`` or ``text/plain``); the
    content type and the file suffix decide only when the content is not telling."""
    if not data.strip():
        return "unknown"
    if looks_binary(data):
        return "binary"
    try:
        head = decode_text(data[:4096], content_type)
    except DecodeError:
        return "binary"
    stripped = re.sub(r"^(\s|<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", "", head, flags=re.DOTALL)
    if _FEED_ROOT.match(stripped):
        return "feed"
    if _HTML_START.search(head[:2048]):
        return "html"
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in ("application/rss+xml", "application/atom+xml", "application/rdf+xml",
                 "application/xml", "text/xml") or suffix in (".rss", ".atom", ".rdf", ".xml"):
        return "feed"
    if ctype in ("text/html", "application/xhtml+xml") or suffix in (".html", ".htm", ".xhtml"):
        return "html"
    if ctype in ("text/plain", "text/markdown") or suffix in (".txt", ".md", ".markdown"):
        return "text"
    return "unknown"
