"""Text as it comes from the web, made plain: :func:`clean_text` for what is stored and
analysed, :func:`printable` for what is printed on a terminal, :func:`cut_point` for where a
text too long to analyse is cut.

Web pages and feeds carry characters a reader never sees: zero-width spaces and joiners, word
joiners and byte-order marks, bidi controls, soft hyphens, control characters, and
compatibility forms (fullwidth ``ＢＴＣ`` and ``５%``, the ``ﬁ`` ligature, no-break spaces). Left
in, they hide words from every matcher ("Bit\u200bcoin" is not "Bitcoin"). An
:class:`~sentiment.schema.Article` cleans its title and text once, when it is made, so the text
it stores is the text analysed and every offset in its tag record points into it.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ZWJ = "\u200d"
# Line breaks that are not "\n": NEL (a C1 control), the line and the paragraph separator.
_LINE_BREAKS = {"\x85": "\n", "\u2028": "\n", "\u2029": "\n\n"}
# Controls an article may keep: tab, line feed, vertical tab, form feed, carriage return.
_KEPT_CONTROLS = "\t\n\x0b\x0c\r"
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SKIN_TONES = range(0x1F3FB, 0x1F400)  # emoji modifiers, allowed before a ZWJ
_VARIATION_16 = "\ufe0f"  # emoji presentation selector


@lru_cache(maxsize=1)
def _format_characters() -> str:
    """Every format character (Unicode category Cf) of this Python's Unicode database. They sit
    in the first two planes and in the tag block of plane 14, so only those are scanned."""
    planes = (range(0x20000), range(0xE0000, 0xE1000))
    return "".join(chr(c) for plane in planes for c in plane if unicodedata.category(chr(c)) == "Cf")


@lru_cache(maxsize=1)
def _invisible() -> re.Pattern[str]:
    """Controls (except the whitespace ones) and format characters, as one character class."""
    members = "".join(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in _KEPT_CONTROLS)
    return re.compile("[" + re.escape(members + _format_characters() + "\u2028\u2029") + "]")


def _emoji_before(text: str, at: int) -> bool:
    """Whether the character before ``text[at]`` ends an emoji (a pictograph, possibly with a
    skin tone or the emoji presentation selector)."""
    if at == 0:
        return False
    ch = text[at - 1]
    return ch == _VARIATION_16 or ord(ch) in _SKIN_TONES or unicodedata.category(ch) == "So"


def _replace(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _LINE_BREAKS:
        return _LINE_BREAKS[ch]
    if ch == ZWJ:  # kept inside an emoji sequence (a family, a profession), dropped elsewhere
        text, at = match.string, match.start()
        after = text[at + 1] if at + 1 < len(text) else ""
        return ZWJ if after and unicodedata.category(after) == "So" and _emoji_before(text, at) else ""
    if "\x80" <= ch <= "\x9f":
        # A C1 control in web text is a Windows-1252 byte decoded as Latin-1 ("don\x92t"):
        # read it as the character it stands for, or drop it where cp1252 has none.
        try:
            return bytes([ord(ch)]).decode("cp1252")
        except UnicodeDecodeError:
            return ""
    return ""


def clean_text(text: str) -> str:
    """``text`` as a reader sees it, in one form for the whole pipeline.

    * format characters are dropped: zero-width spaces and non-joiners, word joiners,
      byte-order marks, bidi embeddings, overrides, isolates and marks, soft hyphens, tag
      characters. The zero-width joiner is kept inside an emoji sequence only, where it joins
      pictographs (👩‍💻) and hides no word;
    * control characters are dropped, except tab, line feed, vertical tab, form feed and
      carriage return; NEL and the Unicode line and paragraph separators become line breaks,
      and a C1 control is read as the Windows-1252 character it stands for;
    * compatibility forms are folded (NFKC): fullwidth letters and digits, ligatures,
      no-break and other fixed-width spaces (a plain space), ``…`` (three dots).

    Plain ASCII text without control characters comes back unchanged (the same object), so
    the ids and offsets of ordinary articles do not move. Cleaning is idempotent."""
    if text.isascii() and not _ASCII_CONTROLS.search(text):
        return text
    text = _invisible().sub(_replace, text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: no control character except line feed and tab,
    no format character (a bidi override would reorder what follows it on the screen, an
    escape sequence would drive the terminal), line and paragraph separators as spaces."""
    return _unprintable().sub(lambda m: " " if m.group() in "\u2028\u2029" else "", text)


@lru_cache(maxsize=1)
def _unprintable() -> re.Pattern[str]:
    controls = "".join(chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\t\n")
    return re.compile("[" + re.escape(controls + _format_characters() + "\u2028\u2029") + "]")


def cut_point(text: str, limit: int) -> int:
    """Where to cut ``text`` to at most ``limit`` characters: the last paragraph break in the
    final fifth of the window, else the last whitespace there, else ``limit``."""
    if len(text) <= limit:
        return len(text)
    floor = limit - limit // 5
    for sep in ("\n", " "):
        at = text.rfind(sep, floor, limit)
        if at > 0:
            return at
    return limit
