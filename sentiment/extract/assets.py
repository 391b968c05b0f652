"""Crypto assets named in text: the gazetteer and the ``crypto_assets`` spaCy component.

The gazetteer (``data/assets.tsv``) lists the ~300 largest assets with symbol, name, aliases and
the surface forms that are also ordinary words ("sol", "one", "ton", "near", "link"…). A ticker
counts when written in upper case or as a cashtag (``$SOL``); names and aliases match in any case.
An *ambiguous* form counts only with evidence: a cashtag, a trading pair (``BTC-USDT``), upper
case in a sentence that is not all capitals, an amount right next to it, a following "token",
"coin", "protocol"…, a place in a list of coins ("Bitcoin, Litecoin, Ripple and Dogecoin"), or,
for the coin names marked ``+`` ("Avalanche", "Polygon", "Near", "Pepe"…), a capitalised form in
a sentence about crypto markets ("Avalanche rallied 8%", "Pepe was listed on Binance": the
sentence holds one of the gazetteer's *market cues*; not "an avalanche of orders", "Pepe the
Frog"). Otherwise a capitalised ambiguous form mid-sentence is kept as *weak* and counts only
when the article names the same asset with evidence elsewhere (decided by the Extractor).
*Strict* forms (``!ath``, ``!not``, ``!trump``…) need more than upper case or a list; ``~tether``
is a word only in lower case. A name followed by Inc/Corp/Group… is a company, and one inside a
headline's trailing publisher tag ("… – Bitcoin News") is the publisher.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from .resources import guarded, read_text

# Words after a form that show a crypto asset is meant ("NEAR Protocol", "Render token").
_EVIDENCE_FOLLOWERS = {"token", "tokens", "coin", "coins", "protocol", "network", "price", "prices",
                       "blockchain", "mainnet", "chain", "holders", "ecosystem", "meme", "memecoin"}
_EVIDENCE_PRECEDERS = ("layer-2", "layer2", "l2", "network", "protocol", "blockchain", "memecoin", "rollup")
_COMPANY_SUFFIX = {"inc", "corp", "group", "ltd", "llc", "plc"}
_NOT_A_MENTION_SUFFIX = {"style", "like", "esque", "type", "inspired", "themed", "sized"}
_PAIR_RE = re.compile(r"(?<![\w$])\$?([A-Za-z0-9]{2,10})\s?[-/]\s?([A-Z0-9]{2,10})\b(?!-)")
_QUOTES = {"USD", "USDT", "USDC", "EUR", "KRW", "JPY", "GBP", "PERP", "BUSD", "FDUSD", "TRY", "BRL"}
_CASHTAG_RE = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,9})\b")
_GLUED_QUOTES = sorted(_QUOTES | {"BTC", "ETH"}, key=len, reverse=True)  # longest first: BTCUSDT, not BTCUSD+T
_NOUN_TAGS = {"NNP", "NNPS", "NN", "NNS"}
_NOT_A_NAME_TAGS = {"IN", "RB", "RBR", "RBS", "RP"}  # "Near $100K", "Near the close": a preposition or adverb
_LIST_SEPARATORS = {",", "and", "or", "&"}
_PRICE_SIZED = 1_000_000  # a dollar amount under this is a price ("$0.85", "$17,000"), above a deal size


@dataclass(frozen=True)
class Asset:
    """One gazetteer entry."""

    symbol: str
    name: str
    aliases: tuple[str, ...] = ()
    ambiguous: frozenset[str] = field(default_factory=frozenset)  # lower-cased forms
    strict: frozenset[str] = field(default_factory=frozenset)  # lower-cased forms
    lower_only: frozenset[str] = field(default_factory=frozenset)  # only the lower-case form is a word
    market_names: frozenset[str] = field(default_factory=frozenset)  # the coin in a market sentence
    kind: str = "coin"


class Gazetteer:
    """The asset list, indexed by symbol and by lower-cased surface form, and the market cues:
    the words (``word*``: a prefix) that make a sentence about crypto markets."""

    def __init__(self, assets: list[Asset], market_cues: tuple[str, ...] = ()) -> None:
        self.assets = assets
        self.market_cues = frozenset(c.lower() for c in market_cues if not c.endswith("*"))
        self.market_cue_prefixes = tuple(c[:-1].lower() for c in market_cues if c.endswith("*"))
        self.by_symbol: dict[str, Asset] = {a.symbol: a for a in assets}
        self.by_form: dict[str, Asset] = {}  # lower-cased name/alias → asset
        for a in assets:
            for form in (a.name, *a.aliases):
                key = form.lower()
                other = self.by_form.get(key)
                if other is not None and other.symbol != a.symbol:
                    raise ValueError(f"alias {form!r} maps to both {other.symbol} and {a.symbol}")
                self.by_form[key] = a

    def __len__(self) -> int:
        return len(self.assets)

    def lookup(self, text: str) -> Asset | None:
        """The asset a ticker (exact upper case) or a name/alias (any case) stands for."""
        return self.by_symbol.get(text) or self.by_form.get(text.lower())

    def is_market_cue(self, word: str) -> bool:
        """Whether a token (lower-cased) is one of the market cues."""
        return word in self.market_cues or word.startswith(self.market_cue_prefixes)

    @classmethod
    def from_tsv(cls, text: str) -> Gazetteer:
        """Parse the TSV gazetteer format of ``data/assets.tsv``: comment lines (``#``), setting
        lines (``@name<TAB>a|b|…``; ``@market_cues`` is the one there is), a header, then one
        asset a line."""
        assets = []
        cues: list[str] = []
        header_seen = False
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if line.startswith("@"):
                if cols[0].strip() != "@market_cues" or len(cols) != 2:
                    raise ValueError(f"assets.tsv line {n}: unknown setting {cols[0].strip()!r}")
                cues += [c.strip() for c in cols[1].split("|") if c.strip()]
                continue
            if not header_seen:
                header_seen = True
                continue
            if len(cols) != 5:
                raise ValueError(f"assets.tsv line {n}: expected 5 columns, got {len(cols)}")
            symbol, name, aliases, ambiguous, kind = (c.strip() for c in cols)
            amb = [f for f in ambiguous.split("|") if f]
            assets.append(Asset(symbol=symbol.upper(), name=name,
                                aliases=tuple(a for a in aliases.split("|") if a),
                                ambiguous=frozenset(f.lstrip("!~+").lower() for f in amb),
                                lower_only=frozenset(f[1:].lower() for f in amb if f.startswith("~")),
                                strict=frozenset(f[1:].lower() for f in amb if f.startswith("!")),
                                market_names=frozenset(f[1:].lower() for f in amb if f.startswith("+")),
                                kind=kind or "coin"))
        return cls(assets, tuple(cues))


@lru_cache(maxsize=4)
def load_gazetteer(data_file: str = "assets.tsv") -> Gazetteer:
    """The asset gazetteer (the package's, or a TSV of the same format; parsed once per process)."""
    return Gazetteer.from_tsv(read_text(data_file))


for _name in ("asset_mentions",):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


@Language.factory("crypto_assets", default_config={"overwrite_ents": True, "data_file": "assets.tsv"})
def make_crypto_assets(nlp: Language, name: str, overwrite_ents: bool, data_file: str) -> AssetTagger:
    return AssetTagger(nlp, name, overwrite_ents=overwrite_ents, data_file=data_file)


class AssetTagger:
    """spaCy component: finds asset mentions and stores them on ``doc._.asset_mentions``.

    Each mention is a dict ``{"symbol", "start", "end", "text", "strength"}`` with token offsets and
    strength ``"strong"`` (counts) or ``"weak"`` (counts only if the article names the asset
    with evidence elsewhere). With ``overwrite_ents`` the NER's PERSON/ORG/GPE… entities that
    cover a coin ("Bitcoin" as PERSON) are removed from ``doc.ents``. Place it after the
    ``crypto_numbers`` component when present (amounts next to a ticker are evidence)."""

    def __init__(self, nlp: Language, name: str = "crypto_assets", *, overwrite_ents: bool = True,
                 data_file: str = "assets.tsv") -> None:
        self.name = name
        self.overwrite_ents = overwrite_ents
        self.gazetteer = load_gazetteer(data_file)
        self.initialize(nlp=nlp)

    def initialize(self, get_examples: Any = None, *, nlp: Language | None = None) -> None:
        """Build the phrase matcher over all names and aliases."""
        if nlp is None:
            return
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for asset in self.gazetteer.assets:
            forms = {asset.name, *asset.aliases}
            self.matcher.add(asset.symbol, [nlp.make_doc(f) for f in forms])

    # ---------------------------------------------------------------- evidence
    @staticmethod
    def _mostly_upper(sent: Span) -> bool:
        words = [t for t in sent if t.is_alpha and len(t) > 1]
        return bool(words) and sum(t.is_upper for t in words) > 0.6 * len(words)

    @staticmethod
    def _amount_near(doc: Doc, start: int, end: int, amounts: set[int], reach: int = 3) -> bool:
        """An amount within ``reach`` tokens after the mention, or right before it ("$SOL 5%")."""
        for i in range(end, min(len(doc), end + reach)):
            if i in amounts:
                return True
            if doc[i].is_sent_start:
                break
        return start - 1 in amounts and not doc[start - 1].like_num

    @staticmethod
    def _publisher_tag(doc: Doc, span: Span) -> bool:
        """A name in a headline's trailing publisher tag: "… – Bitcoin News", "- Ethereum World
        News": after the last dash, a few capitalised words ending the text in "News"."""
        tail = doc[span.end:span.end + 3]
        end = next((t.i for t in tail if t.text == "News"), None)
        if end is None or any(not t.is_space for t in doc[end + 1:]):
            return False
        for i in range(span.start - 1, max(-1, span.start - 6), -1):
            if doc[i].text in ("-", "–", "—", "|"):
                return all(t.text[:1].isupper() or t.is_space or t.text == "and" for t in doc[i + 1:span.start])
        return False

    def _market_sentence(self, doc: Doc, span: Span, price_amounts: set[int], sure: set[int]) -> bool:
        """Whether the sentence of a capitalised coin name ("+" in the gazetteer) is about crypto
        markets, so the name is the coin: it holds a market cue (price, token, listing, hack,
        ETF, rallied…) other than the name itself, a percentage, a price-sized dollar amount
        ("$0.85", not "$165M") or another asset that needs no evidence ("Tether's USDT to launch
        on Avalanche"). Not when the word reads as a preposition or adverb ("Near $100K") or as
        an adjective ("a Stellar year", "Volatility Is Near"), is followed by "of" ("Avalanche
        of orders"), modifies another noun in a headline ("In The Near Future"), or, in a
        sentence-case sentence, is part of a longer proper name ("Sky News", "Shytoshi Kusama")."""
        if not self.gazetteer.market_cues and not self.gazetteer.market_cue_prefixes:
            return False
        sent = span.sent
        nxt = doc[span.end] if span.end < sent.end else None
        tag = span[-1].tag_
        if tag in _NOT_A_NAME_TAGS or nxt is not None and nxt.lower_ == "of":
            return False
        if tag.startswith("JJ") and not (nxt is not None and self._cue_or_asset(nxt)):
            return False  # "a Stellar year", "Volatility Is Near"; not "Stellar rallies"
        prev = doc[span.start - 1] if span.start > sent.start else None
        if self._title_case(sent):  # "In The Near Future": in a headline, a modifier of another noun
            if prev is not None and prev.lower_ in ("the", "a", "an") and nxt is not None and nxt.tag_ in _NOUN_TAGS \
                    and not self._cue_or_asset(nxt):
                return False
        elif any(self._other_name(t) for t in (prev, nxt) if t is not None):
            return False
        return any(t.i in price_amounts or t.i in sure or self.gazetteer.is_market_cue(t.lower_)
                   for t in sent if not span.start <= t.i < span.end)

    @staticmethod
    def _listed_with_coins(doc: Doc, span: Span, sure: set[int]) -> bool:
        """A name in a list of coins: next to an unambiguous asset name across a comma, "and",
        "or" or "&" ("Bitcoin, Ethereum, Litecoin, Ripple", "Polygon, Polkadot, and Kusama")."""
        sent = span.sent
        for step, edge in ((-1, span.start - 1), (1, span.end)):
            i, seps = edge, 0
            while sent.start <= i < sent.end and doc[i].lower_ in _LIST_SEPARATORS and seps < 2:
                i, seps = i + step, seps + 1
            if seps and sent.start <= i < sent.end and i in sure:
                return True
        return False

    def _cue_or_asset(self, tok: Token) -> bool:
        return self.gazetteer.is_market_cue(tok.lower_) or self.gazetteer.lookup(tok.text) is not None

    def _other_name(self, tok: Token) -> bool:
        """A capitalised word (a proper noun if it starts the sentence) that is neither an asset
        nor a market cue: beside an ambiguous name in a sentence-case sentence it makes a longer
        proper name ("Sky News", "Shytoshi Kusama")."""
        return tok.is_title and (not tok.is_sent_start or tok.tag_ in ("NNP", "NNPS")) and not self._cue_or_asset(tok)

    @staticmethod
    def _title_case(sent: Span) -> bool:
        """A headline-style sentence: most of its words capitalised."""
        words = [t for t in sent if t.is_alpha and len(t) > 3]
        return bool(words) and sum(t.text[:1].isupper() for t in words) > 0.6 * len(words)

    def _strength(self, doc: Doc, span: Span, asset: Asset, amounts: set[int], price_amounts: set[int],
                  sure: set[int], cashtag_or_pair: bool) -> str | None:
        text = span.text
        form = text.lower()
        if cashtag_or_pair:
            return "strong"
        nxt = doc[span.end] if span.end < len(doc) else None
        if nxt is not None and nxt.text in ("-", "–") and span.end + 1 < len(doc) \
                and doc[span.end + 1].lower_ in _NOT_A_MENTION_SUFFIX:
            return None  # "Polkadot-style dots"
        if nxt is not None and nxt.text.rstrip(".").lower() in _COMPANY_SUFFIX:
            return None  # "BTC Inc.", "ETC Group": a company
        if self._publisher_tag(doc, span):
            return None  # "… – Markets and Prices Bitcoin News": the publisher, not the coin
        if form not in asset.ambiguous:
            return "strong"
        if form in asset.lower_only:
            return None if text.islower() else "strong"
        if text.islower():
            return None  # "a ton of", "link to", "near 0.01%": lower-case words are words
        if nxt is not None and nxt.lower_ in _EVIDENCE_FOLLOWERS:
            return "strong"
        # "(TON)" right after the name or "Toncoin (TON)": the parenthesised ticker is evidence
        if span.start >= 2 and doc[span.start - 1].text == "(":
            prev = self.gazetteer.lookup(doc[span.start - 2].text)
            if prev is not None and prev.symbol == asset.symbol:
                return "strong"
        if form in asset.strict:
            return None
        # "Ethereum layer-2 network Blast", "Ethereum L2 Blast", "the Drift protocol": a kind noun before it
        before3 = doc[max(0, span.start - 3):span.start].text.lower().replace(" ", "")
        if before3.endswith(_EVIDENCE_PRECEDERS):
            return "strong"
        # an amount right next to it: "SOL 5%", "SOL rose 5%" (upper case), "Render +12%" (any case);
        # not "near $100K" (a preposition) nor "Stacks Launch $165M" (a headline)
        reach = 3 if text.isupper() else 1
        if self._amount_near(doc, span.start, span.end, amounts, reach) and span[-1].tag_ not in ("IN", "RB", "JJ"):
            return "strong"
        if text.isupper() and len(text) > 1 and not self._mostly_upper(span.sent):
            return "strong"
        if text[:1].isupper() and not text.isupper():
            if form in asset.market_names and self._market_sentence(doc, span, price_amounts, sure):
                return "strong"  # "Avalanche rallied 8%", "Pepe was listed on Binance"
            if self._listed_with_coins(doc, span, sure):
                return "strong"  # "Bitcoin, Ethereum, Litecoin, Ripple, Dogecoin Rates Today"
        if text[:1].isupper() and not text.isupper() and not span[0].is_sent_start:
            before = doc[span.start - 1] if span.start else None
            if before is not None and (before.is_punct and before.text not in {",", "(", "'", '"'}):
                return None  # after a bullet/colon: a heading word, not a name
            return "weak"
        return None

    # ---------------------------------------------------------------- main
    @guarded(("asset_mentions",))
    def __call__(self, doc: Doc) -> Doc:
        gaz = self.gazetteer
        amounts: set[int] = set()
        price_amounts: set[int] = set()  # percentages and price-sized dollar amounts: market cues
        for q in doc._.quantities or []:
            if q["kind"] in ("money", "percent"):
                amounts.update(range(q["tok_start"], q["tok_end"]))
                if q["kind"] == "percent" or abs(q["value"]) < _PRICE_SIZED:
                    price_amounts.update(range(q["tok_start"], q["tok_end"]))
        candidates: list[tuple[Span, Asset, bool]] = []
        # cashtags ($SOL) and trading pairs (BTC-USDT, ETH/USD)
        forced: dict[tuple[int, int], str] = {}
        for m in _CASHTAG_RE.finditer(doc.text):
            asset = gaz.by_symbol.get(m.group(1).upper())
            span = doc.char_span(m.start(1), m.end(1), alignment_mode="expand")
            if asset and span is not None:
                forced[(span.start, span.end)] = asset.symbol
        for m in _PAIR_RE.finditer(doc.text):
            base, quote = m.group(1).upper(), m.group(2).upper()
            if base not in gaz.by_symbol or not (quote in gaz.by_symbol or quote in _QUOTES):
                continue
            if not m.group(1).isupper() and not m.group(0).startswith("$"):
                continue
            for g, sym in ((1, base), (2, quote)):
                span = doc.char_span(m.start(g), m.end(g), alignment_mode="expand")
                if sym in gaz.by_symbol and span is not None:
                    forced[(span.start, span.end)] = sym
        for tok in doc:  # a pair written as one word: BTCUSD, ETHUSDT (chart captions)
            base = _glued_pair_base(tok.text, gaz)
            if base is not None and (tok.i, tok.i + 1) not in forced:
                forced[(tok.i, tok.i + 1)] = base
        for (s, e), sym in forced.items():
            candidates.append((doc[s:e], gaz.by_symbol[sym], True))
        # tickers: exact upper-case tokens
        for tok in doc:
            asset = gaz.by_symbol.get(tok.text)
            if asset is not None and (tok.i, tok.i + 1) not in forced and len(tok.text) > 1:
                if "/" in tok.text or tok.like_url:
                    continue
                candidates.append((doc[tok.i:tok.i + 1], asset, False))
        # names and aliases, any case
        for match_id, s, e in self.matcher(doc):
            if (s, e) in forced:
                continue
            candidates.append((doc[s:e], gaz.by_symbol[doc.vocab.strings[match_id]], False))
        # longest span wins; remember which asset each kept span stands for
        by_span = {(sp.start, sp.end): (asset, f) for sp, asset, f in candidates}
        kept = filter_spans([sp for sp, _, _ in candidates])
        # tokens of mentions that need no evidence ("Bitcoin", "$SOL"): context for the ambiguous ones
        sure = {i for sp in kept if by_span[(sp.start, sp.end)][1]
                or sp.text.lower() not in by_span[(sp.start, sp.end)][0].ambiguous for i in range(sp.start, sp.end)}
        mentions: list[dict[str, Any]] = []
        for sp in kept:
            asset, f = by_span[(sp.start, sp.end)]
            strength = self._strength(doc, sp, asset, amounts, price_amounts, sure, f)
            if strength is None:
                continue
            mentions.append({"symbol": asset.symbol, "start": sp.start, "end": sp.end,
                             "text": sp.text, "strength": strength})
        doc._.asset_mentions = mentions
        if self.overwrite_ents and mentions:
            covered = {i for m in mentions for i in range(m["start"], m["end"])}
            doc.ents = [e for e in doc.ents if not _is_coin_entity(e, covered)]
        return doc


def _glued_pair_base(text: str, gaz: Gazetteer) -> str | None:
    """The base asset of a trading pair written as one upper-case word ("BTCUSD" → BTC, "ETHBTC"
    → ETH): a known symbol followed by a quote currency or BTC/ETH; None for anything else."""
    if len(text) < 5 or not text.isupper() or not text.isalnum() or text in gaz.by_symbol:
        return None
    for quote in _GLUED_QUOTES:
        base = text[:-len(quote)]
        if text.endswith(quote) and len(base) >= 2 and base in gaz.by_symbol:
            return base
    return None


def _is_coin_entity(ent: Span, covered: set[int]) -> bool:
    """An entity that is only a coin name ("Bitcoin" as PERSON, "Solana's" as GPE); entities that
    merely contain one ("iShares Bitcoin Trust") are kept."""
    content = [t for t in ent if not (t.is_punct or t.is_stop or t.lower_ in {"'s", "’s"})]
    return bool(content) and all(t.i in covered for t in content) or (
        any(t.i in covered for t in ent) and len(content) <= 1)
