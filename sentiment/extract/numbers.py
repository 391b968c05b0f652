"""Money amounts, percentages and counts in the forms news writes them.

``"$1.279 billion"``, ``"$33.9587 million"``, ``"$1.2B"``, ``"$946M"``, ``"10k"``, ``"€2 billion"``,
``"nearly 9%"``, ``"-3.2%"``, ``"46,000 Bitcoins"``, ``"1.1 zettahashes"``. The parser works on plain
strings (:func:`find_quantities`, :func:`parse_money`); the ``crypto_numbers`` spaCy component
puts what it finds on ``doc._.quantities`` as plain dicts (so Docs pickle across processes).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from .resources import guarded

SCALES: dict[str, Decimal] = {
    "k": Decimal(10) ** 3, "thousand": Decimal(10) ** 3,
    "m": Decimal(10) ** 6, "mn": Decimal(10) ** 6, "mln": Decimal(10) ** 6, "million": Decimal(10) ** 6,
    "b": Decimal(10) ** 9, "bn": Decimal(10) ** 9, "billion": Decimal(10) ** 9,
    "t": Decimal(10) ** 12, "tn": Decimal(10) ** 12, "trillion": Decimal(10) ** 12,
}
CURRENCIES: dict[str, str] = {"$": "USD", "us$": "USD", "usd": "USD", "dollars": "USD", "dollar": "USD",
                              "€": "EUR", "eur": "EUR", "euros": "EUR", "euro": "EUR",
                              "£": "GBP", "gbp": "GBP", "pounds": "GBP", "¥": "JPY", "jpy": "JPY",
                              "yen": "JPY", "usdt": "USD", "usdc": "USD"}

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
QUANTITY_RE = re.compile(
    r"(?<![\w.,$€£¥])"
    r"(?P<sign>[+\-−](?=(?:US\$|[$€£¥])?\d|\.\d))?"
    r"(?P<cur>US\$|\$|€|£|¥|(?:USD|EUR)\s)?\s?"
    rf"(?P<num>{_NUM})"
    r"(?:(?P<sp>\s?)(?P<scale>(?i:trillion|billion|million|thousand|bn|tn|mn|mln)|[kKmMbBtT])(?![\w]))?"
    r"(?:\s?(?P<pct>%|(?i:percent|per\s?cent|pct)\b))?"
    r"(?:\s(?P<cur2>USD|(?i:dollars|euros)|EUR|USDT|USDC)\b)?",
)
_RANGE_BEFORE = re.compile(r"\d%?\s?[-–]\s?$")


@dataclass(frozen=True)
class Quantity:
    """One amount found in text; ``start``/``end`` are character offsets."""

    start: int
    end: int
    value: float
    kind: str  # "money" | "percent" | "number"
    currency: str | None = None
    scaled: bool = False
    signed: bool = False  # written with an explicit + or − sign
    range: bool = False  # second half of a range such as "30-40%"
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _to_float(num: str, scale: str | None) -> float | None:
    try:
        value = Decimal(num.replace(",", ""))
    except InvalidOperation:
        return None
    if scale:
        value *= SCALES[scale.lower()]
    return float(value)


def find_quantities(text: str) -> list[Quantity]:
    """Every money amount, percentage and plain number in ``text``, in order."""
    out: list[Quantity] = []
    for m in QUANTITY_RE.finditer(text or ""):
        scale = m.group("scale")
        cur = m.group("cur") or m.group("cur2")
        # a lone letter scale ("m", "b") needs a currency or must be glued on ("$5m", "10k")
        if scale and len(scale) == 1 and (m.group("sp") or (not cur and scale.lower() not in "k")):
            scale = None
        value = _to_float(m.group("num"), scale)
        end = m.end("num")
        if scale:
            end = m.end("scale")
        if m.group("pct"):
            end = m.end("pct")
        if m.group("cur2"):
            end = m.end("cur2")
        if value is None or (end < len(text) and text[end].isalnum()):
            continue  # "1INCH", "3x", "ETH2" are names, not amounts
        sign = m.group("sign")
        start = m.start("sign") if sign else (m.start("cur") if m.group("cur") else m.start("num"))
        is_range = bool(_RANGE_BEFORE.search(text[max(0, start - 4):start]))
        if is_range and out and out[-1].end >= start - 3:
            out[-1] = replace(out[-1], range=True)
        negative = bool(sign) and sign in "-−" and not is_range
        if negative:
            value = -value
        kind = "percent" if m.group("pct") else ("money" if cur else "number")
        currency = CURRENCIES.get(cur.strip().lower()) if cur else None
        out.append(Quantity(start=start, end=end, value=value,
                            kind=kind, currency=currency, scaled=bool(scale),
                            signed=bool(sign) and not is_range, range=is_range,
                            text=text[start:end]))
    return out


def parse_quantity(text: str) -> Quantity | None:
    """The first amount in ``text`` (money, percentage or number), or ``None``."""
    found = find_quantities(text)
    return found[0] if found else None


def parse_money(text: str) -> float | None:
    """The value of the first money amount or plain number in ``text`` (``"$1.2B"`` → 1.2e9,
    ``"below $105,000"`` → 105000.0); ``None`` when there is none. Percentages are skipped."""
    for q in find_quantities(text):
        if q.kind != "percent":
            return q.value
    return None


def parse_percent(text: str) -> float | None:
    """The value of the first percentage in ``text`` (``"nearly 9%"`` → 9.0), or ``None``."""
    for q in find_quantities(text):
        if q.kind == "percent":
            return q.value
    return None


def format_money(value: float, *, compact: bool = False) -> str:
    """A USD amount as news writes it: ``$1,279,000,000.00`` or, compact, ``$1.279B``.

    :func:`parse_money` reads both forms back: the plain form to the cent, the compact form
    to float precision."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if compact:
        for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
            if value >= scale:
                return f"{sign}${value / scale:.12g}{suffix}"
    return f"{sign}${value:,.2f}"


if not Doc.has_extension("quantities"):
    Doc.set_extension("quantities", default=None)


@Language.factory("crypto_numbers", default_config={})
def make_crypto_numbers(nlp: Language, name: str) -> NumberTagger:
    return NumberTagger(nlp, name)


class NumberTagger:
    """spaCy component: finds amounts and stores them on ``doc._.quantities``.

    Each entry is a dict of :class:`Quantity` fields plus ``tok_start``/``tok_end`` (token
    indices) and ``unit``: the lower-cased word right after a plain number (``"bitcoins"``,
    ``"people"``; not a stop word such as "on"), else ``None``."""

    def __init__(self, nlp: Language, name: str = "crypto_numbers") -> None:
        self.name = name

    def initialize(self, get_examples: Any = None, *, nlp: Language | None = None) -> None:
        """Nothing to learn; present for spaCy's component protocol."""

    @guarded(("quantities",))
    def __call__(self, doc: Doc) -> Doc:
        found: list[dict[str, Any]] = []
        for q in find_quantities(doc.text):
            span = doc.char_span(q.start, q.end, alignment_mode="expand")
            if span is None or len(span) == 0:
                continue
            d = q.to_dict()
            d["tok_start"], d["tok_end"] = span.start, span.end
            nxt = doc[span.end] if span.end < len(doc) else None
            d["unit"] = nxt.lower_ if (nxt is not None and nxt.is_alpha and not nxt.is_stop
                                       and q.kind == "number") else None
            found.append(d)
        doc._.quantities = found
        return doc
