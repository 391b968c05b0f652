"""Market figures stated in text: liquidations, fund flows, market-cap changes, hack losses,
holdings changes and Fear & Greed readings.

The ``crypto_figures`` component classifies each amount of a sentence by the keywords around it
(all in ``data/figures.json``): a sentence about liquidations gives ``liquidations`` /
``liquidations_long`` / ``liquidations_short`` / ``largest_liquidation`` (by the words in the
amount's clause) and ``traders_liquidated`` (a count of people/positions); flows are signed by
the nearest flow word (outflows and redemptions are negative) and are ``etf_flow`` when the
sentence names an ETF, else ``fund_flow``; market-cap changes are signed by their verb; a money
amount near "losses"/"stolen" within two sentences of a hack is a ``hack_loss``; "reduced their
Bitcoin holdings by over 46,000 Bitcoins" is a ``holdings_change`` of −46000 BTC. Results are
plain dicts on ``doc._.figures`` (``kind``, ``value``, ``unit``, ``asset``, ``sent``).
"""
from __future__ import annotations

import re
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from .resources import guarded, load_json

if not Doc.has_extension("figures"):
    Doc.set_extension("figures", default=None)

MIN_AGGREGATE = 1e6  # money below this is a price, not a flow, liquidation total or loss
_CLAUSE_SPLIT = re.compile(r"[,;:—–]|\bwhile\b|\bwhereas\b|\bbut\b")
_YEARISH = re.compile(r"^(19|20)\d\d$")
_APPROX = r"(?:(?:about|around|nearly|roughly|almost|over|under|some|just|a|an)\s+)*"
_FROM = re.compile(r"\bfrom\s+" + _APPROX + r"$")
# "shed $110B to $3.2T", "market cap surpasses $100B", "holdings reach 402,100 BTC": a level or
# a total, not a change
_LEVEL_BEFORE = re.compile(r"\b(?:to|at|from|of|reach\w*|past|surpass\w*|exceed\w*|tops?|hits?|holds|above)\s+"
                           + _APPROX + r"$")


def keyword_regex(words: list[str]) -> re.Pattern[str]:
    """One regex for a keyword list: ``word*`` is a prefix, spaces match any whitespace."""
    parts = []
    for w in sorted(words, key=len, reverse=True):
        stem = w.endswith("*")
        body = r"\s+".join(re.escape(x) for x in w.rstrip("*").lower().split())
        parts.append(body + (r"[\w-]*" if stem else ""))
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w])")


class _Rules:
    def __init__(self, data_file: str = "figures.json") -> None:
        d = load_json(data_file)
        liq, flow, mcap, hack, hold, fng = (d[k] for k in ("liquidation", "flow", "market_cap", "hack",
                                                              "holdings", "fear_greed"))
        self.liq = keyword_regex(liq["trigger"])
        self.liq_long = keyword_regex(liq["long"])
        self.liq_short = keyword_regex(liq["short"])
        self.liq_largest = keyword_regex(liq["largest"])
        self.count_nouns = {w.lower() for w in liq["count_nouns"]}
        self.flow = keyword_regex(flow["trigger"])
        self.flow_neg = keyword_regex(flow["negative"])
        self.flow_pos = keyword_regex(flow["positive"])
        self.etf = keyword_regex(flow["etf"])
        self.mcap = keyword_regex(mcap["trigger"])
        self.mcap_neg = keyword_regex(mcap["negative"])
        self.mcap_pos = keyword_regex(mcap["positive"])
        self.hack = keyword_regex(hack["trigger"])
        self.hack_amount = keyword_regex(hack["amount_words"])
        self.hack_lookback = int(hack["lookback_sentences"])
        self.hold = keyword_regex(hold["trigger"])
        self.hold_neg = keyword_regex(hold["negative"])
        self.hold_pos = keyword_regex(hold["positive"])
        self.hold_verbs = keyword_regex(hold["verbs_alone"])
        self.fng = keyword_regex(fng["trigger"])
        self.fng_window = int(fng["window"])


_NEGATED = re.compile(r"(?:\bnot|n['’]t|\bwithout|\bno|\bnever)\s+(?:\w+\s+)?$")


def _nearest_sign(text: str, pos: int, neg: re.Pattern[str], pos_re: re.Pattern[str]) -> int:
    """−1 or +1 by the keyword nearest to ``pos`` (0 when neither occurs); negated keywords
    ("without selling") do not count."""
    best: tuple[int, int] | None = None
    for sign, rx in ((-1, neg), (1, pos_re)):
        for m in rx.finditer(text):
            if _NEGATED.search(text[max(0, m.start() - 30):m.start()]):
                continue
            dist = min(abs(m.start() - pos), abs(m.end() - pos))
            if best is None or dist < best[0]:
                best = (dist, sign)
    return best[1] if best else 0


@Language.factory("crypto_figures", default_config={"data_file": "figures.json"})
def make_crypto_figures(nlp: Language, name: str, data_file: str) -> FigureTagger:
    return FigureTagger(nlp, name, data_file=data_file)


class FigureTagger:
    """spaCy component: market figures (see the module docstring). Needs ``crypto_numbers`` and
    ``crypto_assets`` before it, and sentence boundaries."""

    def __init__(self, nlp: Language, name: str = "crypto_figures", *, data_file: str = "figures.json") -> None:
        self.name = name
        self.data_file = data_file
        self.rules = _Rules(data_file)

    def initialize(self, get_examples: Any = None, *, nlp: Language | None = None) -> None:
        """Reload the keyword lists from the data file."""
        self.rules = _Rules(self.data_file)

    @guarded(("figures",))
    def __call__(self, doc: Doc) -> Doc:
        r = self.rules
        quants = doc._.quantities or []
        mentions = doc._.asset_mentions or []
        mention_at = {m["start"]: m for m in mentions}
        figures: list[dict[str, Any]] = []
        recent_hack = -10**9
        for n, sent in enumerate(doc.sents):
            text = sent.text.lower()
            base = sent.start_char
            if r.hack.search(text):
                recent_hack = n
            sent_q = [q for q in quants if sent.start <= q["tok_start"] < sent.end and not q["range"]
                      and q["kind"] != "percent"]
            if not sent_q:
                continue
            sent_assets = [m["symbol"] for m in mentions if sent.start <= m["start"] < sent.end]
            key = (sent.start_char, sent.end_char)
            for q in sent_q:
                pos = q["start"] - base
                unit = self._unit(q, mention_at)
                if unit is None:
                    continue
                clause = self._clause(text, pos)
                clause_assets = [m["symbol"] for m in mentions
                                 if sent.start <= m["start"] < sent.end
                                 and clause[0] <= doc[m["start"]].idx - base < clause[1]]
                kind, value = self._classify(text, pos, clause, q, unit, n - recent_hack, bool(sent_assets))
                if kind is None:
                    continue
                asset = unit if unit not in ("USD", "EUR", "GBP", "JPY", "count", "index") else None
                if asset is None and kind not in ("liquidations", "liquidations_long", "liquidations_short",
                                                  "traders_liquidated", "market_cap_change", "fear_greed_index"):
                    asset = clause_assets[0] if clause_assets else (sent_assets[0] if sent_assets else None)
                elif asset is None and kind == "largest_liquidation" and sent_assets:
                    asset = sent_assets[0]
                figures.append({"kind": kind, "value": value, "unit": unit, "asset": asset, "sent": key})
        seen = set()
        out = []
        for f in figures:
            k = (f["kind"], f["value"], f["unit"])
            if k not in seen:
                seen.add(k)
                out.append(f)
        doc._.figures = out
        return doc

    def _unit(self, q: dict[str, Any], mention_at: dict[int, dict[str, Any]]) -> str | None:
        if q["kind"] == "money":
            return q["currency"] or "USD"
        m = mention_at.get(q["tok_end"])
        if m is not None:
            return m["symbol"]
        if q["unit"] in self.rules.count_nouns:
            return "count"
        if q["unit"] is None and 0 <= q["value"] <= 100 and not _YEARISH.match(q["text"]):
            return "index"  # a bare number: only ever used as an index reading
        return None

    @staticmethod
    def _clause(text: str, pos: int) -> tuple[int, int]:
        start, end = 0, len(text)
        for m in _CLAUSE_SPLIT.finditer(text):
            if m.end() <= pos:
                start = m.end()
            elif m.start() > pos:
                end = m.start()
                break
        return start, end

    def _classify(self, text: str, pos: int, clause: tuple[int, int], q: dict[str, Any], unit: str,
                  since_hack: int, has_asset: bool) -> tuple[str | None, float]:
        r = self.rules
        value = abs(q["value"])
        ctext = text[clause[0]:clause[1]]
        money = unit in ("USD", "EUR", "GBP", "JPY")
        is_asset = unit not in ("USD", "EUR", "GBP", "JPY", "count", "index")
        before = text[max(0, pos - 24):pos]
        if unit == "index":
            m = r.fng.search(text)
            if m and m.end() <= pos and len(text[m.end():pos].split()) <= r.fng_window \
                    and not _FROM.search(before):
                return "fear_greed_index", value  # "fell to 21", not "from 55" (the earlier reading)
            return None, 0.0
        if r.liq.search(text):
            if unit == "count":
                return "traders_liquidated", value
            if money and value >= MIN_AGGREGATE:
                if r.liq_long.search(ctext):
                    return "liquidations_long", value
                if r.liq_short.search(ctext):
                    return "liquidations_short", value
                if r.liq_largest.search(ctext) or (r.liq_largest.search(text) and not re.search(r"\btotal", text)):
                    return "largest_liquidation", value
                return "liquidations", value
        if unit == "count":
            return None, 0.0
        if money and value < MIN_AGGREGATE:
            money = False  # a price ("$118,400"), not a market aggregate
            if not is_asset:
                return None, 0.0
        if money and since_hack == 0 and r.hack_amount.search(text):
            return "hack_loss", value
        if r.flow.search(text) and (money or is_asset):
            sign = _nearest_sign(text, pos, r.flow_neg, r.flow_pos)
            if sign:
                return ("etf_flow" if r.etf.search(text) else "fund_flow"), sign * value
        if money and since_hack <= r.hack_lookback and r.hack_amount.search(text):
            return "hack_loss", value
        if money and r.mcap.search(text) and value >= 1e8 and not _LEVEL_BEFORE.search(before):
            sign = _nearest_sign(text, pos, r.mcap_neg, r.mcap_pos)
            if sign:
                return "market_cap_change", sign * value
        if _LEVEL_BEFORE.search(before):
            return None, 0.0  # holdings or market cap "reach", "surpass" or "hold" a total
        if r.hold.search(text) and (is_asset or money and has_asset):
            sign = _nearest_sign(text, pos, r.hold_neg, r.hold_pos)
            if sign:
                return "holdings_change", sign * value
        if is_asset and r.hold_verbs.search(text):
            sign = _nearest_sign(text, pos, r.hold_neg, r.hold_pos)
            if sign:
                return "holdings_change", sign * value
        return None, 0.0
