"""HTML: main text of saved or fetched article pages (trafilatura), and feed HTML snippets to text.

The page's own metadata gives title, URL (``<link rel=canonical>`` / ``og:url``) and
publication time. trafilatura's date extraction keeps the day only, so the full timestamp
is looked up first in the meta tags and JSON-LD fields listed in ``data/html_date_meta.json``.
"""
from __future__ import annotations

import html as htmllib
import json
import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import lxml.etree
import lxml.html
import trafilatura

from sentiment.ingest.dates import parse_date
from sentiment.ingest.records import InputError
from sentiment.schema import Article, canonical_url

_BLOCK_TAGS = {"p", "div", "section", "article", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5",
               "h6", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr", "figure", "figcaption",
               "header", "footer", "aside", "hr", "main", "nav", "address"}
_DROP_TAGS = ("script", "style", "noscript", "iframe", "svg", "form", "template", "object")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.DOTALL)
# Fewer words than this is navigation or a stub, not an article (trafilatura's fallbacks
# return whatever text a page has, e.g. a lone "Home" link).
MIN_ARTICLE_WORDS = 5
_ENTITY_REF = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.IGNORECASE)


@lru_cache(maxsize=1)
def _date_fields() -> dict[str, list[str]]:
    text = resources.files("sentiment.ingest").joinpath("data/html_date_meta.json").read_text("utf-8")
    data = json.loads(text)
    return {"meta": [m.lower() for m in data["meta"]], "jsonld": list(data["jsonld"])}


def host_of(url: str | None) -> str | None:
    """The host of ``url`` without ``www.`` (the ``source`` of web articles)."""
    canon = canonical_url(url)
    if not canon:
        return None
    return canon.split("/")[2].split(":")[0] or None


def clean_line(text: str | None) -> str | None:
    """A one-line string (titles): entities decoded (feeds sometimes escape twice), tags
    removed, whitespace collapsed; ``None`` when nothing is left."""
    if not text:
        return None
    if "<" in text:
        text = html_to_text(text)
    for _ in range(2):
        if not _ENTITY_REF.search(text):
            break
        text = htmllib.unescape(text)
    text = " ".join(text.split())
    return text or None


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML snippet (a feed summary or ``content:encoded``): scripts and
    styles dropped, block elements become paragraphs separated by a blank line."""
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment:
        return _tidy(htmllib.unescape(fragment))
    try:
        root = lxml.html.fragment_fromstring(_XML_DECL.sub("", fragment), create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return _tidy(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)))
    return _element_text(root)


def _element_text(root: Any) -> str:
    for bad in root.xpath("|".join(f"//{t}" for t in _DROP_TAGS)):
        bad.drop_tree()
    for el in root.iter():
        # Source line breaks are plain whitespace; only <br> and block elements break lines.
        el.text = _flat(el.text)
        el.tail = _flat(el.tail)
        if not isinstance(el.tag, str):  # comments, processing instructions
            continue
        tag = el.tag.lower()
        if tag == "br":
            el.tail = "\n" + (el.tail or "")
        elif tag in _BLOCK_TAGS:
            el.text = "\n\n" + (el.text or "")
            el.tail = "\n\n" + (el.tail or "")
    return _tidy(root.text_content())


def _flat(text: str | None) -> str | None:
    return text.replace("\r", " ").replace("\n", " ") if text else text


def _tidy(text: str) -> str:
    """Collapse spaces; paragraphs (blank-line separated) joined by one blank line."""
    text = text.replace("\xa0", " ").replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        para = "\n".join(line for line in lines if line)
        if para:
            paragraphs.append(para)
    return "\n\n".join(paragraphs)


def extract_article(page: str, *, input: str, url: str | None = None,
                    source: str | None = None) -> Article:
    """The article in an HTML page: main text (trafilatura), title, URL and publication time
    from the page metadata. ``url`` is where the page came from (the page's canonical URL
    wins when it names one); ``source`` is used when no URL is known (``file:<name>``). Raises :class:`InputError` when the page has no article text."""
    page = _XML_DECL.sub("", page, count=1)
    try:
        tree = lxml.html.document_fromstring(page)
    except (lxml.etree.ParserError, ValueError):
        raise InputError("not an HTML page: lxml cannot parse it") from None
    published = _published(tree)
    doc = trafilatura.bare_extraction(tree, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, deduplicate=False)
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not text:
        raise InputError("no article text found in the HTML page")
    title = clean_line(getattr(doc, "title", None))
    page_url = getattr(doc, "url", None)
    final_url = page_url if canonical_url(page_url) else url
    if published is None:
        published = parse_date(getattr(doc, "date", None))
    text = _drop_leading_title(text, title)
    if len(text.split()) < MIN_ARTICLE_WORDS:
        raise InputError("no article text found in the HTML page")
    return Article(text=text, title=title, url=final_url, source=host_of(final_url) or source,
                   published=published, meta={"input": input, "format": "html"})


def _drop_leading_title(text: str, title: str | None) -> str:
    if title:
        first, _, rest = text.partition("\n")
        if " ".join(first.split()).lower() == title.lower() and rest.strip():
            return rest.strip()
    return text


def _published(tree: Any) -> datetime | None:
    fields = _date_fields()
    found: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in fields["meta"] and meta.get("content") and key not in found:
            found[key] = meta.get("content")
    for key in fields["meta"]:
        if key in found:
            value = parse_date(found[key])
            if value:
                return value
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text_content())
        except ValueError:
            continue
        for key in fields["jsonld"]:
            value = parse_date(_find_key(data, key))
            if value:
                return value
    return None


def _find_key(data: Any, key: str, depth: int = 0) -> Any:
    if depth > 6:
        return None
    if isinstance(data, dict):
        if isinstance(data.get(key), str):
            return data[key]
        children = list(data.values())
    elif isinstance(data, list):
        children = data
    else:
        return None
    for child in children:
        found = _find_key(child, key, depth + 1)
        if found:
            return found
    return None
