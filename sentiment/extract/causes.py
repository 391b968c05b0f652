"""Market drivers ("causes") named in text, by rule files kept as data (``data/causes.json``).

Each cause type of the schema's taxonomy (fed_hawkish, hack_exploit, etf_outflow…) has rules; a
rule fires on a sentence when every one of its phrase groups occurs in the sentence and none of
its ``none`` phrases does ("inflows" near "ETF" is an inflow, unless the sentence says they
"slowed" or were "less than" before); technical rules also need a crypto subject in the
sentence. Phrases are matched by :class:`resources.PhraseSet`, a prefix index over lower-cased
tokens: spaCy's ``Matcher`` with ``REGEX`` predicates for the ``word*`` stems cost about 75 ms per
700-word article here, the index about 10. A phrase right after a negation ("no", "not",
"without") does not count, nor does an event's phrase after a hypothetical ("could help", "in
case of a hack"), and a yes/no question ("Could this be a short squeeze?") states no cause (the
word lists are in the rule file).

Each candidate a rule finds is then judged stated or not by :class:`~.stated.StatedModel` (its
weights are ``data/stated.json``; a file with no weights keeps every candidate). The
``crypto_causes`` component stores ``doc._.causes`` as a list of ``{"type", "sent", "span",
"p_stated"}`` dicts, one per type and sentence that states it, in text order: ``sent`` the
sentence's character offsets, ``span`` those of the cause's words (from the first to the last
phrase of the rule that matched, or that rule's last phrase when they lie far apart),
``p_stated`` the model's probability (``None`` without a model).
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..schema import Score
from .resources import PhraseSet, guarded, load_json, phrase_words
from .stated import STATED_FILE, StatedModel, candidate_features, word_lists

MAX_CUE_CHARS = 60  # cause words longer than this are cut to the rule's last phrase

if not Doc.has_extension("causes"):
    Doc.set_extension("causes", default=None)


def cause_types() -> list[str]:
    """The cause types the rule file defines, in file order."""
    return list(load_json("causes.json")["causes"])


DIRECTIONS_FILE = "cause_directions.json"


def prior_direction(cause_type: str, evidence: str, data_file: str = DIRECTIONS_FILE) -> str:
    """The way a cause of this type pushes the market, from the type's table entry: its
    ``direction``, or ``other`` when the evidence holds one of the entry's ``words`` ("delists",
    "cooling inflation", "approves"); ``neutral`` for a type the table does not know."""
    entry = load_json(data_file)["types"].get(cause_type)
    if entry is None:
        return "neutral"
    text = " " + " ".join(re.findall(r"[\w-]+", evidence.lower())) + " "
    if entry.get("other") and any(f" {w}" in text for w in entry.get("words", [])):
        return str(entry["other"])
    return str(entry["direction"])


def prior_score(cause_type: str, evidence: str, data_file: str = DIRECTIONS_FILE) -> Score:
    """The fixed score of :func:`prior_direction` (the table's ``probs`` for that direction)."""
    return Score.from_probs(load_json(data_file)["probs"][prior_direction(cause_type, evidence, data_file)])


@Language.factory("crypto_causes", default_config={"data_file": "causes.json", "stated_file": STATED_FILE})
def make_crypto_causes(nlp: Language, name: str, data_file: str, stated_file: str) -> CauseTagger:
    return CauseTagger(nlp, name, data_file=data_file, stated_file=stated_file)


class CauseTagger:
    """spaCy component: cause mentions per sentence (see the module docstring)."""

    def __init__(self, nlp: Language, name: str = "crypto_causes", *, data_file: str = "causes.json",
                 stated_file: str = STATED_FILE) -> None:
        self.name = name
        self.data_file = data_file
        self.stated_file = stated_file
        self.stated: StatedModel | None = None
        self.words: Any = {}
        #: Keep every candidate and store its features (``"features"``), for fitting the model.
        self.record_features = False
        self.phrases = PhraseSet()
        self.rules: list[tuple[str, int, int, bool]] = []  # (type, rule index, groups, needs_asset)
        self.negations: frozenset[str] = frozenset()
        self.question_starts: frozenset[str] = frozenset()
        self.hypotheticals: frozenset[str] = frozenset()
        self.events: frozenset[str] = frozenset()
        self.negating_keys: set[str] = set()
        self.initialize(nlp=nlp)

    def initialize(self, get_examples: Any = None, *, nlp: Language | None = None) -> None:
        """Compile the rule file into one phrase set."""
        if nlp is None:
            return
        data = load_json(self.data_file)
        self.negations = frozenset(data["negations"])
        self.question_starts = frozenset(data.get("question_starts", []))
        self.hypotheticals = frozenset(data.get("hypotheticals", []))
        self.events = frozenset(data.get("events", []))
        self.phrases = PhraseSet()
        self.rules = []
        self.negating_keys = set()
        for ctype, rules in data["causes"].items():
            for r, rule in enumerate(rules):
                for g, group in enumerate(rule["all"]):
                    key = f"{ctype}|{r}|{g}"
                    self.phrases.add(key, group)
                    if any(set(phrase_words(p)) & self.negations for p in group):
                        self.negating_keys.add(key)
                if rule.get("none"):
                    self.phrases.add(f"{ctype}|{r}|none", rule["none"])
                self.rules.append((ctype, r, len(rule["all"]), bool(rule.get("needs_asset"))))
        self.phrases.add("|asset_words", data.get("asset_words", []))
        self.stated = StatedModel.load(self.stated_file) if self.stated_file else None
        self.words = word_lists(self.stated_file or STATED_FILE)

    def _yes_no_question(self, sent: Span) -> bool:
        """"Could this be a short squeeze?", "Will the SEC approve it?": asked, not stated."""
        words = [t for t in sent if not (t.is_punct or t.is_space)]
        ends = [t for t in sent if not t.is_space]
        return bool(words and ends) and ends[-1].text == "?" and words[0].lower_ in self.question_starts

    def _hypothetical(self, doc: Doc, start: int, sent_start: int) -> bool:
        """"could help", "expect to buy", "in case of a hack": within three tokens of the clause."""
        for j in range(start - 1, max(sent_start, start - 4) - 1, -1):
            if doc[j].is_punct:
                return False
            if doc[j].lower_ in self.hypotheticals:
                return True
        return False

    def _negated(self, doc: Doc, start: int, sent_start: int) -> bool:
        return any(doc[j].lower_ in self.negations for j in range(max(sent_start, start - 3), start))

    @guarded(("causes",))
    def __call__(self, doc: Doc) -> Doc:
        sents = list(doc.sents)
        sent_of = [0] * len(doc)
        for n, s in enumerate(sents):
            for i in range(s.start, s.end):
                sent_of[i] = n
        hits: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)  # sentence → key → first token span
        for m in doc._.asset_mentions or []:
            hits[sent_of[m["start"]]].setdefault("|asset_words", (m["start"], m["end"]))
        named_asset = {sent_of[m["start"]] for m in doc._.asset_mentions or []}
        for key, start, end in self.phrases.find([t.lower_ for t in doc]):
            n = sent_of[start]
            if not key.endswith("|none") and key not in self.negating_keys \
                    and self._negated(doc, start, sents[n].start):
                continue
            if not key.endswith("|none") and key.split("|", 1)[0] in self.events \
                    and self._hypothetical(doc, start, sents[n].start):
                continue
            hits[n].setdefault(key, (start, end))
        candidates: list[tuple[int, str, int, list[tuple[int, int]]]] = []
        for n in sorted(hits):
            if self._yes_no_question(sents[n]):
                continue
            keys = hits[n]
            types: list[str] = []
            for ctype, r, groups, needs_asset in self.rules:
                if ctype in types or f"{ctype}|{r}|none" in keys or needs_asset and "|asset_words" not in keys:
                    continue
                if all(f"{ctype}|{r}|{g}" in keys for g in range(groups)):
                    types.append(ctype)
                    candidates.append((n, ctype, r, [keys[f"{ctype}|{r}|{g}"] for g in range(groups)]))
        per_type: dict[str, int] = defaultdict(int)
        for _, ctype, _, _ in candidates:
            per_type[ctype] += 1
        found: list[dict[str, Any]] = []
        for n, ctype, rule, cues in candidates:
            s = sents[n]
            item: dict[str, Any] = {"type": ctype, "sent": (s.start_char, s.end_char),
                                    "span": self._cue_span(doc, cues), "p_stated": None}
            if self.stated is not None or self.record_features:
                features = candidate_features(s, cues, ctype, self.words, index=n, n_sents=len(sents),
                                              same_type=per_type[ctype], names_asset=n in named_asset,
                                              rule=rule)
                if self.record_features:
                    item["features"] = features
                if self.stated is not None:
                    item["p_stated"] = round(self.stated.probability(features), 4)
                    if item["p_stated"] < self.stated.threshold and not self.record_features:
                        continue
            found.append(item)
        doc._.causes = found
        return doc

    @staticmethod
    def _cue_span(doc: Doc, cues: list[tuple[int, int]]) -> tuple[int, int]:
        """Character offsets of the cause's words: from the first matched phrase to the last,
        or the rule's last phrase alone when that runs over :data:`MAX_CUE_CHARS`."""
        start = doc[min(s for s, _ in cues)].idx
        last = doc[max(e for _, e in cues) - 1]
        end = last.idx + len(last.text)
        if end - start > MAX_CUE_CHARS:
            s, e = cues[-1]
            start, end = doc[s].idx, doc[e - 1].idx + len(doc[e - 1].text)
        return start, end
