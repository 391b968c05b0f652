"""Stated or not: whether a cause candidate's sentence states the driver as acting now.

The cause rules find sentences that *name* a driver; many of those do not *state* it: they ask
("What is the regulatory outlook?"), suppose ("If the Fed pivots…"), forecast or advocate
("regulation will crush…", "lawmakers should act"), deny, recall history ("after China's
crackdown in 2021") or name it as background. :func:`candidate_features` describes a candidate
by its sentence's parse and words; :class:`StatedModel` is a logistic regression over those
features whose weights are package data (``data/stated.json``, fitted by
``research/tools/fit_stated.py`` on articles read by hand). The words the features look for are
in the same file, so both travel together.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from spacy.tokens import Span, Token

from .resources import data_path, load_json

STATED_FILE = "stated.json"
_YEAR = re.compile(r"^(19|20)\d\d$")
_VERB_TAGS = ("VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "MD")


def _governor(tok: Token) -> Token:
    """The verb that governs a token: the token itself or its nearest verbal ancestor."""
    cur = tok
    for _ in range(12):
        if cur.tag_ in _VERB_TAGS or cur.pos_ in ("VERB", "AUX"):
            return cur
        if cur.head is cur:
            return cur
        cur = cur.head
    return cur


def _starts(word: str, prefixes: Iterable[str]) -> bool:
    return any(word.startswith(p) for p in prefixes)


def _cue_role(tok: Token, words: Mapping[str, Any]) -> str:
    """Where a cause's first word sits in the parse: subject, object, the object of a
    background or a causal preposition, or elsewhere."""
    cur = tok
    for _ in range(4):  # up from a compound or a modifier to the head noun
        if cur.dep_ in ("compound", "amod", "nmod", "poss") and cur.head is not cur:
            cur = cur.head
        else:
            break
    if cur.dep_ in ("nsubj", "nsubjpass", "csubj"):
        return "subject"
    if cur.dep_ in ("dobj", "attr", "oprd"):
        return "object"
    if cur.dep_ == "pobj":
        prep = cur.head.lower_
        if prep in words["background"]:
            return "background_prep"
        if prep in words["causal_preps"]:
            return "causal_prep"
        return "other_prep"
    if cur.dep_ == "ROOT":
        return "root"
    return "other"


def in_condition(tok: Token, words: Mapping[str, Any]) -> bool:
    """Whether a token lies inside a clause opened by a condition word ("if", "unless"…): the
    token or one of its heads has that word as its ``mark``."""
    cur = tok
    for _ in range(12):
        if any(c.dep_ == "mark" and c.lower_ in words["conditions"] for c in cur.children):
            return True
        if cur.head is cur:
            return False
        cur = cur.head
    return False


def candidate_features(sent: Span, cues: list[tuple[int, int]], cause_type: str, words: Mapping[str, Any], *,
                       index: int, n_sents: int, same_type: int, names_asset: bool,
                       rule: int = 0) -> dict[str, float]:
    """The features of one candidate: ``sent`` its sentence, ``cues`` the token spans (doc
    indices) of the rule phrases that matched (``rule`` the index of that rule among its
    type's), ``index``/``n_sents`` its sentence's position in
    the doc, ``same_type`` how many sentences of the doc are candidates of that type,
    ``names_asset`` whether the sentence names a crypto asset. ``words`` are the word lists of
    the model file."""
    doc = sent.doc
    toks = [t for t in sent if not t.is_space]
    lower = [t.lower_ for t in toks]
    text = " " + " ".join(lower) + " "
    first = min(s for s, _ in cues) if cues else sent.start
    before = [t.lower_ for t in doc[max(sent.start, first - 4):first]]
    before_all = [t.lower_ for t in doc[sent.start:first]]
    gov = _governor(doc[first]) if cues else sent.root
    aux = {c.lower_ for c in gov.children if c.dep_ in ("aux", "auxpass") or c.tag_ == "MD"}
    f: dict[str, float] = {"bias": 1.0, f"type={cause_type}": 1.0, f"rule={cause_type}|{rule}": 1.0}
    if cues:
        f[f"cue={_cue_role(doc[first], words)}"] = 1.0

    def has(name: str, seq: Iterable[str]) -> bool:
        return any(w in words[name] for w in seq)

    def phrase(name: str) -> bool:
        return any(f" {p} " in text for p in words[name])

    f["question"] = float(bool(toks) and toks[-1].text == "?")
    f["condition_before"] = float(has("conditions", before_all))
    f["condition"] = float(has("conditions", lower))
    f["in_condition"] = float(bool(cues) and in_condition(doc[first], words))
    f["future"] = float(bool(aux & set(words["future"])) or has("future", before))
    f["modal"] = float(bool(aux & set(words["modals"])) or has("modals", before))
    f["forecast"] = float(any(_starts(w, words["forecast"]) for w in lower))
    f["advocacy"] = float(any(_starts(w, words["advocacy"]) for w in lower))
    f["negation"] = float(any(c.dep_ == "neg" for c in gov.children) or has("negations", before))
    f["quote"] = float(any(ch in sent.text for ch in "“”\""))
    f["attribution"] = float(any(_starts(w, words["attribution"]) for w in lower))
    f["year"] = float(any(_YEAR.match(w) for w in lower))
    f["year_prep"] = float(any(_YEAR.match(t.lower_) and any(x.lower_ in words["time_preps"] for x in toks[max(0, k - 3):k])
                               for k, t in enumerate(toks)))
    f["past_phrase"] = float(phrase("past_phrases"))
    f["background_clause"] = float(has("background", before_all) or phrase("background_phrases"))
    f["past_perfect"] = float("had" in aux or any(a.lower_ == "had" and b.tag_ == "VBN" for a, b in pairwise(toks)))
    f["verb_past"] = float(gov.tag_ == "VBD")
    f["verb_present"] = float(gov.tag_ in ("VBZ", "VBP", "VBG"))
    f["no_verb"] = float(not any(t.tag_ in _VERB_TAGS for t in toks))
    f["asset"] = float(names_asset)
    f["move"] = float(any(_starts(w, words["moves"]) for w in lower))
    f["causal"] = float(any(_starts(w, words["causal"]) for w in lower) or phrase("causal_phrases"))
    f["first_person"] = float(has("first_person", lower))
    f["single_sentence"] = float(n_sents == 1)
    f["first_three"] = float(index < 3 and n_sents > 1)
    f["position"] = index / (n_sents - 1) if n_sents > 1 else 0.0
    f["position_abs"] = min(index, 20) / 20
    f["same_type"] = math.log1p(max(0, same_type - 1))
    f["length"] = min(1.0, len(toks) / 50)
    return f


@dataclass(frozen=True)
class StatedModel:
    """A logistic regression over :func:`candidate_features`: P(stated) = σ(w·x), except that
    a candidate with one of the ``vetoes`` features (its words inside an "if" clause) is not
    stated whatever the weights say."""

    weights: Mapping[str, float]
    threshold: float
    words: Mapping[str, Any]
    vetoes: tuple[str, ...] = ()
    #: cause types a veto does not apply to (the Fed's and inflation's "would raise rates" is
    #: an expectation the market trades on as much as an event)
    exempt: Mapping[str, tuple[str, ...]] | None = None
    #: vetoes that apply to these cause types only
    only: Mapping[str, tuple[str, ...]] | None = None

    @classmethod
    def load(cls, name: str = STATED_FILE) -> StatedModel | None:
        """The model of a data file, or ``None`` when the file has neither weights nor vetoes
        (the rules alone). With vetoes and no weights, every candidate is stated unless vetoed."""
        if not data_path(name).is_file():
            raise FileNotFoundError(f"stated-cause model file not found: {data_path(name)}")
        data = load_json(name)
        if not data.get("weights") and not data.get("vetoes"):
            return None
        return cls(dict(data.get("weights") or {}), float(data.get("threshold", 0.5)), data["words"],
                   tuple(data.get("vetoes", ())),
                   {k: tuple(v) for k, v in (data.get("veto_exempt") or {}).items()},
                   {k: tuple(v) for k, v in (data.get("veto_only") or {}).items()})

    def vetoed(self, features: Mapping[str, float]) -> bool:
        """Whether a veto feature is set, for a type the veto applies to."""
        types = {k.split("=", 1)[1] for k, v in features.items() if k.startswith("type=") and v}
        exempt, only = self.exempt or {}, self.only or {}
        return any(features.get(v) and not types & set(exempt.get(v, ())) and (v not in only or types & set(only[v]))
                   for v in self.vetoes)

    def probability(self, features: Mapping[str, float]) -> float:
        if self.vetoed(features):
            return 0.0
        if not self.weights:
            return 1.0
        z = sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def word_lists(name: str = STATED_FILE) -> Mapping[str, Any]:
    """The word lists of a model file (also used to compute features before any fit)."""
    return load_json(name)["words"]
