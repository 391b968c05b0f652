"""People, organisations, exchanges and places, from the NER, cleaned for crypto news.

The ``crypto_entities`` component runs after ``ner`` and ``crypto_assets``: it labels known
exchanges (``data/entities.json``) ``EXCHANGE``, drops coins and tickers the plain model takes
for PERSON/ORG ("Bitcoin", "Cardano"), numbers, URLs, non-Latin junk and one-letter strays, trims
"the …" and "…'s", drops names found only in headings ("Balancer Hacked", "SocialFi Sector Leads") and
market jargon (a stoplist), and keeps PERSON, ORG, GPE, LOC and EXCHANGE. The result is
``doc._.entities``: a de-duplicated list of ``{"text", "label"}`` dicts in text order.
"""
from __future__ import annotations

import re
from typing import Any

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from .assets import load_gazetteer
from .resources import guarded, load_json
from .sectors import sector_aliases

if not Doc.has_extension("entities"):
    Doc.set_extension("entities", default=None)

KEEP_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "EXCHANGE"})
_LATIN = re.compile(r"[A-Za-z]")
_NON_LATIN = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0900-\u0dff\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")
_JUNK = re.compile(r"https?:|www\.|@|/|\\|\.com\b|\d{3,}|[•●■▪►#*_=<>{}\[\]|]")
_TRIM_LEAD = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_TRIM_TAIL = re.compile(r"(?:'s|’s|')$|[\s,:;!?\-–—\"“”()]+$|(?<![A-Z])\.$")
_TRIM_HEAD_PUNCT = re.compile(r"^[\s.,:;!?\-–—\"“”()'’]+")
_ABBREV_END = re.compile(r"(?:\b[A-Z]\.|\b(?:Inc|Corp|Ltd|Co|Jr|Sr)\.)$")


def exchange_names() -> dict[str, str]:
    """Every exchange surface form → its canonical name."""
    out: dict[str, str] = {}
    for name, forms in load_json("entities.json")["exchanges"].items():
        for f in (name, *forms):
            out[f] = name
    return out


@Language.factory("crypto_entities", default_config={})
def make_crypto_entities(nlp: Language, name: str) -> EntityCleaner:
    return EntityCleaner(nlp, name)


class EntityCleaner:
    """spaCy component: cleaned entities on ``doc._.entities`` (see the module docstring)."""

    def __init__(self, nlp: Language, name: str = "crypto_entities") -> None:
        self.name = name
        self.gazetteer = load_gazetteer()
        self.exchanges = exchange_names()
        data = load_json("entities.json")
        self.stoplist = frozenset(w.lower() for w in data["stoplist"])
        self.stop_substrings = tuple(w.lower() for w in data["stop_substrings"])
        self.stoplist |= sector_aliases()
        self.initialize(nlp=nlp)

    def initialize(self, get_examples: Any = None, *, nlp: Language | None = None) -> None:
        """Build the exchange matcher (case-sensitive: "Gemini", not "gemini")."""
        if nlp is None:
            return
        self.matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
        for form in self.exchanges:
            self.matcher.add(self.exchanges[form], [nlp.make_doc(form)])

    def clean(self, text: str) -> str | None:
        """The display form of an entity text, or ``None`` when it is junk."""
        text = " ".join(text.split())
        text = _TRIM_HEAD_PUNCT.sub("", _TRIM_LEAD.sub("", text))
        for _ in range(2):
            text = _TRIM_TAIL.sub("", text)
        if len(text) < 2 or not _LATIN.search(text) or _NON_LATIN.search(text) or _JUNK.search(text):
            return None
        low = text.lower()
        if low in self.stoplist or text.islower() or "," in text or any(x in low for x in self.stop_substrings):
            return None
        if self.gazetteer.lookup(text) is not None or self.gazetteer.by_symbol.get(text.upper()) is not None \
                and text.isupper():
            return None
        letters = sum(c.isalpha() for c in text)
        if letters < 0.5 * len(text.replace(" ", "")):
            return None
        return text

    @guarded(("entities",))
    def __call__(self, doc: Doc) -> Doc:
        items: list[tuple[int, str, str]] = []
        exchange_tokens: set[int] = set()
        coin_tokens = {i for m in (doc._.asset_mentions or []) for i in range(m["start"], m["end"])}
        for match_id, s, e in self.matcher(doc):
            if s in coin_tokens:
                continue  # "Binance" in "Binance Coin" names the coin
            items.append((s, doc.vocab.strings[match_id], "EXCHANGE"))
            exchange_tokens.update(range(s, e))
        heading = _heading_tokens(doc)
        for ent in doc.ents:
            if ent.label_ not in KEEP_LABELS or any(t.i in exchange_tokens for t in ent):
                continue
            if _only_coins(ent, coin_tokens) or all(t.i in heading for t in ent):
                continue
            # "U.S. Bitcoin" → "U.S.": coins at the edges are not part of the name
            s, e = ent.start, ent.end
            while s < e and doc[e - 1].i in coin_tokens:
                e -= 1
            while s < e and doc[s].i in coin_tokens:
                s += 1
            text = self.clean(doc[s:e].text) if s < e else None
            if text is not None:
                items.append((ent.start, text, ent.label_ if (s, e) == (ent.start, ent.end) else ""))
        persons = [t for _, t, lab in items if lab == "PERSON" and " " in t]
        # a trimmed entity ("U.S." from "U.S. Bitcoin") takes the label the text has elsewhere
        labels: dict[str, str] = {}
        for _, text, label in items:
            if label:
                labels.setdefault(text.lower(), label)
        seen: set[str] = set()
        out: list[dict[str, str]] = []
        for _, text, label in sorted(items, key=lambda x: x[0]):
            key = text.lower()
            label = labels.get(key, "")
            if not label or label == "PERSON" and " " not in text and any(p.endswith(" " + text) for p in persons):
                continue  # "Stockton" after "Katie Stockton"
            if key not in seen:
                seen.add(key)
                out.append({"text": text, "label": label})
        doc._.entities = out
        return doc


def _only_coins(ent: Span, coin_tokens: set[int]) -> bool:
    content = [t for t in ent if not (t.is_punct or t.is_stop)]
    return bool(content) and all(t.i in coin_tokens for t in content)


def _heading_tokens(doc: Doc) -> set[int]:
    """Tokens of headline-style text: a Title Case sentence ("Balancer Hacked"), or a Title Case
    label before a colon ("Total Market Cap Drop: …")."""
    out: set[int] = set()
    for sent in doc.sents:
        words = [t for t in sent if t.is_alpha and not (t.is_stop and t.is_lower)]
        if words and len(words) <= 14 and sum(t.text[:1].isupper() for t in words) >= 0.7 * len(words):
            out.update(range(sent.start, sent.end))
            continue
        colon = next((t.i for t in sent[:9] if t.text == ":"), None)
        if colon is not None:
            label = [t for t in doc[sent.start:colon] if t.is_alpha and not (t.is_stop and t.is_lower)]
            if label and sum(t.text[:1].isupper() for t in label) >= 0.6 * len(label):
                out.update(range(sent.start, colon))
    return out
