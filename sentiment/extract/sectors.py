"""Market sectors named in text (DeFi, Layer1, Meme, SocialFi…), from ``data/sectors.json``.

The ``crypto_sectors`` component stores mentions on ``doc._.sector_mentions`` as dicts
``{"name", "start", "end", "text", "subject"}`` (token offsets; ``subject``: whether the mention
can carry a move, i.e. "sector"/"tokens" follows it or it is a "…coins" alias). Strong aliases ("DeFi", "memecoins")
count alone; weak ones ("AI", "NFT", "Meme") only when a word like "sector" or "tokens" follows.
Their moves ("the DeFi sector fell 7.66%") are read by the ``crypto_moves`` component.
"""
from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from .resources import guarded, load_json

if not Doc.has_extension("sector_mentions"):
    Doc.set_extension("sector_mentions", default=None)


def sector_names() -> list[str]:
    """The canonical sector names of the taxonomy."""
    return [s["name"] for s in load_json("sectors.json")["sectors"]]


def sector_aliases() -> frozenset[str]:
    """Every lower-cased sector name and alias (entities never take these)."""
    out: set[str] = set()
    for s in load_json("sectors.json")["sectors"]:
        out.update(a.lower() for a in (s["name"], *s["strong"], *s["weak"]))
    return frozenset(out)


@Language.factory("crypto_sectors", default_config={"data_file": "sectors.json"})
def make_crypto_sectors(nlp: Language, name: str, data_file: str) -> SectorTagger:
    return SectorTagger(nlp, name, data_file=data_file)


class SectorTagger:
    """spaCy component: finds sector mentions (see the module docstring)."""

    def __init__(self, nlp: Language, name: str = "crypto_sectors", *, data_file: str = "sectors.json") -> None:
        self.name = name
        self.data_file = data_file
        data = load_json(data_file)
        self.context = {w.lower() for w in data["context_words"]}
        self.initialize(nlp=nlp)

    def initialize(self, get_examples: Any = None, *, nlp: Language | None = None) -> None:
        """Build the phrase matcher from the taxonomy."""
        if nlp is None:
            return
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for s in load_json(self.data_file)["sectors"]:
            if s["strong"]:
                self.matcher.add("S|" + s["name"], [nlp.make_doc(a) for a in s["strong"]])
            if s["weak"]:
                self.matcher.add("W|" + s["name"], [nlp.make_doc(a) for a in s["weak"]])

    @guarded(("sector_mentions",))
    def __call__(self, doc: Doc) -> Doc:
        label = {}
        spans = []
        movable = {s["name"]: s.get("movable", True) for s in load_json(self.data_file)["sectors"]}
        for match_id, s, e in self.matcher(doc):
            kind, name = doc.vocab.strings[match_id].split("|", 1)
            if kind == "W":
                nxt = doc[e] if e < len(doc) else None
                if nxt is None or nxt.lower_ not in self.context:
                    continue
            span = doc[s:e]
            label[(s, e)] = name
            spans.append(span)
        out = []
        for sp in filter_spans(spans):
            name = label[(sp.start, sp.end)]
            nxt = doc[sp.end] if sp.end < len(doc) else None
            subject = movable[name] and ((nxt is not None and nxt.lower_ in self.context)
                                         or sp[-1].lower_.endswith(("coins", "tokens")))
            out.append({"name": name, "start": sp.start, "end": sp.end, "text": sp.text, "subject": subject})
        doc._.sector_mentions = out
        return doc
