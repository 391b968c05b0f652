"""Price moves and price levels, attributed to the asset (or sector) they belong to.

The ``crypto_moves`` component reads the amounts (``crypto_numbers``), asset mentions
(``crypto_assets``) and sector mentions (``crypto_sectors``) of each sentence and walks them left
to right, keeping the current *subject* (an asset, a list of assets "BNB, Cardano, and Dogecoin",
or a sector) and the last direction word ("plunged", "was down", "rallied"):

* a percentage after a subject and a direction is a move of every asset in the subject
  ("XRP was down 7.5%, while BNB, Cardano, and Dogecoin were down over 8%" → four moves);
  "down 25% from its high of $4,885" also sets ``from_price``. Not moves: a percentage of
  another noun ("7.5% inflation"), of a ratio ("dominance drops below 80%"), or of a clause
  with its own subject ("after the consumer price index rose 3.4%", read from the parse);
* "from $X", "to $Y" after a direction set ``from_price``/``to_price``; "falling $5,000" sets
  ``change_abs``; "soared over $3,200" crosses a level (``to_price``) unless the amount is well
  under a price the sentence states ("from $110,000 … falling over $5,000"); nothing is a move
  under a modal ("may drop towards $100,000" is a target level);
* an asset that is the grammatical subject of a direction verb with no number gives a
  direction-only move ("Solana tumbled", "Ethereum saw significant losses").

An asset followed by a metric noun ("Bitcoin ETFs", "XRP Ledger's", "Ethereum dapp volume") is
not a subject. A weak asset mention (a word-like name, see ``assets``) that carries a numeric
move becomes strong: the move is the evidence.

Levels: a price-like amount gets the kind of the nearest keyword ("support level of $3,600",
"200-day moving average at $109,800", "its high of $4,885", "priced at $106,200", "towards
$100,000" → target) and the asset nearest before it (else after it, else the previous
sentence's subject, corrected when its price is implausible for that asset).

All word lists are in ``data/moves.json``. Results are plain dicts on ``doc._.moves``,
``doc._.sector_moves`` and ``doc._.levels``, each with ``sent`` = the sentence's (start, end)
character offsets in the doc.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from .resources import guarded, load_json

for _name in ("moves", "sector_moves", "levels"):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)

_GROUP_GLUE = {",", "and", "or", "&", "as", "well", "(", ")", "the", "both", "also", "plus", "along", "with"}
_BREAKS = {";", "while", "whereas", "but", "although", "though", "meanwhile"}
_NEG = {"not", "n't", "n’t", "never", "no"}
_PCT_SKIP = {"weekly", "daily", "monthly", "intraday", "price", "token"}


@dataclass
class _Lexicon:
    words: dict[str, str]  # single word → up/down/flat
    pairs: dict[tuple[str, str], str]  # two-word phrase → direction
    modal: frozenset[str]
    from_words: frozenset[str]
    to_words: frozenset[str]
    fillers: frozenset[str]
    change_fillers: frozenset[str]
    needs_amount: frozenset[str]
    pct_time_words: frozenset[str]
    report_verbs: frozenset[str]
    fading: frozenset[str]
    crossing_words: frozenset[str]
    non_subject: frozenset[str]
    level_kinds: dict[tuple[str, ...], str]
    window_left: int
    window_right: int
    max_price: float

    @classmethod
    def load(cls, data_file: str = "moves.json") -> _Lexicon:
        d = load_json(data_file)
        words: dict[str, str] = {}
        pairs: dict[tuple[str, str], str] = {}
        for direction, items in d["direction"].items():
            for w in items:
                parts = tuple(w.lower().split())
                if len(parts) == 1:
                    words[parts[0]] = direction
                else:
                    pairs[parts[:2]] = direction
        lv = d["levels"]
        kinds: dict[tuple[str, ...], str] = {}
        for kind, phrases in lv["kinds"].items():
            if kind.startswith("_"):
                continue
            for p in phrases:
                kinds[tuple(p.lower().replace("-", " - ").split())] = kind
        return cls(words=words, pairs=pairs, modal=frozenset(d["modal"]),
                   from_words=frozenset(d["from_words"]), to_words=frozenset(d["to_words"]),
                   fillers=frozenset(d["amount_fillers"]), change_fillers=frozenset(d["change_fillers"]),
                   needs_amount=frozenset(d["needs_amount"]), pct_time_words=frozenset(d["pct_time_words"]),
                   crossing_words=frozenset(d["crossing_words"]), report_verbs=frozenset(d["report_verbs"]),
                   fading=frozenset(d.get("fading_words", [])),
                   non_subject=frozenset(d["non_subject_followers"]), level_kinds=kinds,
                   window_left=int(lv["window_left"]), window_right=int(lv["window_right"]),
                   max_price=float(lv["max_price"]))

    @property
    def level_by_last(self) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        return self._index(-1)

    @property
    def level_by_first(self) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        return self._index(0)

    def _index(self, pos: int) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        cache = self.__dict__.setdefault("_level_index", {})
        if pos not in cache:
            idx: dict[str, list[tuple[tuple[str, ...], str]]] = {}
            for phrase, kind in self.level_kinds.items():
                idx.setdefault(phrase[pos], []).append((phrase, kind))
            cache[pos] = idx
        return cache[pos]

    def direction(self, tok: Token) -> str | None:
        nxt = tok.nbor(1).lower_ if tok.i + 1 < len(tok.doc) else ""
        pair = self.pairs.get((tok.lower_, nxt))
        if pair:
            return pair
        if tok.lower_ in ("up", "down") and (nxt == "to" and tok.dep_ != "advmod" or tok.dep_ == "prt"):
            return None  # "up to 5%", "shuts down", "sets up": not moves by themselves
        word = self.words.get(tok.lower_)
        if word and tok.lower_ in self.needs_amount:
            after = tok.doc[tok.i + 1:tok.i + 3]
            if not any(t.like_num or t.text in ("$", "€", "£", "+", "-") for t in after):
                return None  # "added that", "paring gains off its high"
        return word


_Record = dict[str, Any]  # a quantity, a mention, a move or a level: plain dicts
_Subjects = dict[int, tuple[str, str, int]]  # start token → ("asset"|"sector", key, end token)


@dataclass
class _Clause:
    """The clause being read: its subject (the assets or sectors the next amount belongs to),
    the last direction word and whether a modal or question makes it a forecast."""
    subject: list[tuple[str, str]] = field(default_factory=list)  # ("asset"|"sector", key)
    subject_end: int = -1
    direction: str | None = None
    dir_since_subject: bool = False
    dir_index: int = -1
    modal: bool = False


@dataclass
class _DocScan:
    """What the scan of one document shares across its sentences: the inputs read from the
    earlier components and the results found so far."""
    doc: Doc
    quants: list[_Record]
    mentions: list[_Record]
    subjects_at: _Subjects
    quant_at: dict[int, _Record]  # start token → a money or percent amount
    low: list[str]  # every token, lower-cased
    moves: list[_Record] = field(default_factory=list)
    sector_moves: list[_Record] = field(default_factory=list)
    levels: list[_Record] = field(default_factory=list)
    consumed: set[int] = field(default_factory=set)  # amounts used as a change ("falling over $5,000")
    carry_asset: str | None = None  # the last asset subject, for levels in later sentences


@dataclass
class _SentenceScan:
    """The scan of one sentence: the sentence, its question clauses, the moves found in it so
    far and the clause state, with the document scan it belongs to."""
    ctx: _DocScan
    sent: Span
    questions: set[int]  # tokens of a question clause: forecasts, not moves
    moves: list[_Record] = field(default_factory=list)
    clause: _Clause = field(default_factory=_Clause)

    @property
    def doc(self) -> Doc:
        return self.ctx.doc

    @property
    def key(self) -> tuple[int, int]:
        """The sentence's character offsets, stored on every result as ``sent``."""
        return (self.sent.start_char, self.sent.end_char)

    def mentions(self) -> list[_Record]:
        """The asset mentions that start in this sentence."""
        return [m for m in self.ctx.mentions if self.sent.start <= m["start"] < self.sent.end]


@Language.factory("crypto_moves", default_config={"data_file": "moves.json"})
def make_crypto_moves(nlp: Language, name: str, data_file: str) -> MoveTagger:
    return MoveTagger(nlp, name, data_file=data_file)


class MoveTagger:
    """spaCy component: price moves, sector moves and price levels (see the module docstring).

    Needs ``crypto_numbers`` and ``crypto_assets`` (and optionally ``crypto_sectors``) before
    it, and sentence boundaries (parser or senter)."""

    def __init__(self, nlp: Language, name: str = "crypto_moves", *, data_file: str = "moves.json") -> None:
        self.name = name
        self.data_file = data_file
        self.lex = _Lexicon.load(data_file)

    def initialize(self, get_examples: Any = None, *, nlp: Language | None = None) -> None:
        """Reload the lexicon from the data file."""
        self.lex = _Lexicon.load(self.data_file)

    # ---------------------------------------------------------------- main
    @guarded(("moves", "sector_moves", "levels"))
    def __call__(self, doc: Doc) -> Doc:
        scan = self._start(doc)
        for sent in doc.sents:
            self._scan_sentence(scan, sent)
        _fix_carried_levels(scan.levels, scan.moves)
        doc._.moves = _dedupe(scan.moves, ("asset", "direction", "change_pct", "from_price", "to_price",
                                           "change_abs", "sent"))
        doc._.sector_moves = _dedupe(scan.sector_moves, ("name", "change_pct", "sent"))
        doc._.levels = _dedupe(scan.levels, ("asset", "price", "kind"))
        return doc

    def _start(self, doc: Doc) -> _DocScan:
        """Read the earlier components' results: the amounts, and the mentions that can be a subject."""
        quants = list(doc._.quantities or [])
        mentions = doc._.asset_mentions or []
        unit_starts = {q["tok_end"] for q in quants if q["kind"] == "number"}
        subjects_at: _Subjects = {}
        for m in mentions:
            if self._is_subject(doc, m, unit_starts):
                subjects_at[m["start"]] = ("asset", m["symbol"], m["end"])
        for s in doc._.sector_mentions or []:
            if s.get("subject", True):
                subjects_at.setdefault(s["start"], ("sector", s["name"], s["end"]))
        quant_at = {q["tok_start"]: q for q in quants if q["kind"] in ("money", "percent")}
        return _DocScan(doc=doc, quants=quants, mentions=mentions, subjects_at=subjects_at,
                        quant_at=quant_at, low=[t.lower_ for t in doc])

    def _scan_sentence(self, scan: _DocScan, sent: Span) -> None:
        """Moves with amounts, then direction-only moves, then the levels of one sentence."""
        s = _SentenceScan(ctx=scan, sent=sent, questions=self._question_tokens(scan.doc, sent))
        self._walk(s)
        s.moves += [mv for mv in self._verb_moves(s) if mv["_tok"] not in s.questions]
        s.moves += [mv for mv in self._adjacent_moves(s) if mv["_tok"] not in s.questions]
        scan.moves += s.moves
        # a price move next to a weak mention ("Bonk lost 6%") is the evidence it lacked
        moved = {mv["asset"] for mv in s.moves if mv["change_pct"] is not None or mv["to_price"]
                 or mv["from_price"] or mv["change_abs"]}
        for m in s.mentions():
            if m["strength"] == "weak" and m["symbol"] in moved:
                m["strength"] = "strong"
        scan.carry_asset = self._levels(s)

    def _walk(self, s: _SentenceScan) -> None:
        """Left to right over the sentence: subjects, clause breaks, modals, direction words and
        the amounts they govern."""
        doc, sent, clause, lex = s.doc, s.sent, s.clause, self.lex
        i = sent.start
        while i < sent.end:
            if i in s.ctx.subjects_at:
                i = self._take_subject(s, i)
                continue
            tok = doc[i]
            if tok.lower_ in _BREAKS or tok.text == ";":
                clause.modal = False
                clause.subject, clause.dir_since_subject = [], False  # "…, while Bitgert has risen 60%"
            if tok.lower_ in lex.modal or i in s.questions or (
                    tok.lower_ == "set" and i + 1 < sent.end and doc[i + 1].lower_ == "for"):
                clause.modal = True
            q = s.ctx.quant_at.get(i)
            if q is None:
                d = lex.direction(tok)
                if d:
                    clause.direction, clause.dir_index = d, i
                    clause.dir_since_subject = bool(clause.subject)
                i += 1
                continue
            if q["kind"] == "percent" and not q["range"]:
                self._percent(s, q)
            elif q["kind"] == "money" and not q["range"] and q["value"] <= lex.max_price \
                    and clause.subject and clause.dir_since_subject and not clause.modal:
                self._money(s, q)
            i = q["tok_end"]

    @staticmethod
    def _take_subject(s: _SentenceScan, i: int) -> int:
        """A subject starts at ``i``: it joins the current list ("BNB, Cardano, and Dogecoin")
        or starts a new clause. Returns the token after it."""
        clause = s.clause
        kind, k, end = s.ctx.subjects_at[i]
        glue = all(t.lower_ in _GROUP_GLUE for t in s.doc[clause.subject_end:i]) if clause.subject else False
        if clause.subject and glue and clause.subject_end >= 0 and not clause.dir_since_subject:
            if (kind, k) not in clause.subject:
                clause.subject.append((kind, k))
        else:
            clause.subject = [(kind, k)]
            clause.dir_since_subject = False
            clause.modal = False
        clause.subject_end = end
        return end

    # ---------------------------------------------------------------- helpers
    def _is_subject(self, doc: Doc, m: _Record, unit_starts: set[int]) -> bool:
        """Whether an asset mention can be the subject of a move (not "Bitcoin ETFs",
        "46,000 Bitcoins", "BTC-USDT")."""
        end = m["end"]
        nxt = doc[end] if end < len(doc) else None
        if nxt is not None and nxt.lower_ in ("'s", "’s") and end + 1 < len(doc):
            nxt = doc[end + 1]  # "XRP Ledger's", "Bitcoin's hashrate"
            if nxt.lower_ in ("has", "had", "is", "was", "have"):
                return False  # "USDT's has slipped to 6.3%": USDT's (dominance), an elided noun
        # "Ethereum dapp volume rises", "Tether's stablecoin dominance drops": the asset only
        # modifies the noun that moves
        if nxt is not None and nxt.lower_ in ("held", "locked", "staked", "deposited", "stored") \
                and end + 1 < len(doc) and doc[end + 1].lower_ in ("in", "on", "at", "by"):
            return False  # "ETH held in accumulation wallets jumps 65%": the holdings move
        j = nxt.i if nxt is not None else len(doc)
        if nxt is not None and nxt.like_num and "." in nxt.text:
            j += 1  # "Ethereum 2.0 node count"
        while j < min(len(doc), end + 4):
            if doc[j].lower_ in self.lex.non_subject:
                return False
            if not (doc[j].tag_.startswith("NN") or doc[j].lower_ in ("'s", "’s")):
                break
            j += 1
        if nxt is not None and nxt.text in ("-", "/") and end + 2 < len(doc) and doc[end + 1].is_upper \
                and doc[end + 2].lower_ in self.lex.non_subject:
            return False  # "the BTC-USDT trading pair"; "SOL/USDT traded at" keeps SOL
        if m["start"] in unit_starts:
            return False
        prev = doc[m["start"] - 1] if m["start"] else None
        # the quote of a pair ("BTC-USDT") is never the subject
        return not (prev is not None and prev.text in ("-", "/") and m["start"] >= 2 and doc[m["start"] - 2].is_upper)

    @staticmethod
    def _foreign_subject(doc: Doc, word: Token, subjects_at: _Subjects) -> bool:
        """Whether the verb a direction word belongs to has a grammatical subject that is a noun
        other than an asset or sector ("the consumer price index rose 3.4%"). Needs the parse."""
        verb = word if word.tag_.startswith("VB") else word.head
        covered = {i for s, (_, _, e) in subjects_at.items() for i in range(s, e)}
        for child in verb.children:
            if child.dep_ in ("nsubj", "nsubjpass"):
                if child.i in covered or child.tag_ in ("PRP", "WDT", "WP", "EX", "DT"):
                    return False
                span = range(child.left_edge.i, child.right_edge.i + 1)
                return not any(i in covered for i in span)
        return False

    def _skip_back(self, s: _SentenceScan, i: int, extra: frozenset[str] = frozenset()) -> int:
        """Index of the first token before ``i`` that is not a filler word."""
        doc, lex = s.doc, self.lex
        j = i - 1
        while j >= s.sent.start and (doc[j].lower_ in lex.fillers or doc[j].lower_ in extra
                                     or doc[j].text == "$") and doc[j].lower_ not in lex.from_words \
                and doc[j].lower_ not in lex.to_words:
            j -= 1
        return j

    @staticmethod
    def _title_case(sent: Span) -> bool:
        """A headline written in title case: most words of four letters or more capitalised."""
        words = [t for t in sent if t.is_alpha and len(t) > 3]
        return len(words) >= 2 and sum(t.text[0].isupper() for t in words) >= 0.7 * len(words)

    @staticmethod
    def _question_tokens(doc: Doc, sent: Span) -> set[int]:
        """Tokens of a clause that ends in "?": a forecast ("Will Cardano fall by 20%?"), unless it
        asks why or how ("Why Is Bitcoin Up 5% Today?" states the move)."""
        out: set[int] = set()
        for qm in [t.i for t in sent if t.text == "?"]:
            qs = qm
            while qs > sent.start and doc[qs - 1].text not in (":", ",", "–", "—", "-", ".", "!"):
                qs -= 1
            if doc[qs].lower_ not in ("why", "how", "what", "here", "here's", "where"):
                out.update(range(qs, qm))
        return out

    # ---------------------------------------------------------------- percentages
    def _percent(self, s: _SentenceScan, q: _Record) -> None:
        """A percentage: a move of every asset (or sector) of the subject, unless it is the
        percentage of something else or has no direction."""
        subject = self._percent_subject(s, q)
        if not subject or s.clause.modal:
            return
        nxt, end2 = self._word_after_percent(s, q)
        if self._percent_of_other(s, q, nxt):
            return
        direction = self._percent_direction(s, q, end2)
        if direction is None:
            return
        value = abs(q["value"])
        if direction == "down" and value > 100:
            return  # "slipped 15% … after a 200%+ surge": no price falls more than 100%
        pct = 0.0 if direction == "flat" else (-value if direction == "down" else value)
        from_price = self._from_price(s, q)
        for kind, name in subject:
            if kind == "sector":
                s.ctx.sector_moves.append({"name": name, "change_pct": pct, "sent": s.key})
            else:
                s.moves.append({"asset": name, "direction": direction, "change_pct": pct,
                                "from_price": from_price, "to_price": None, "change_abs": None,
                                "sent": s.key, "_tok": q["tok_start"]})

    @staticmethod
    def _percent_subject(s: _SentenceScan, q: _Record) -> list[tuple[str, str]]:
        """The clause's subject, or with none yet one after in/for/of/by ("a 5% drop in Bitcoin")."""
        if s.clause.subject:
            return s.clause.subject
        end = q["tok_end"]
        for j in range(end, min(s.sent.end, end + 5)):
            if j in s.ctx.subjects_at and s.doc[j - 1].lower_ in ("in", "for", "of", "by"):
                return [s.ctx.subjects_at[j][:2]]
        return []

    def _word_after_percent(self, s: _SentenceScan, q: _Record) -> tuple[Token | None, int]:
        """The word after the percentage and its index, past "weekly", "price", "token" when a
        direction word follows them ("14% weekly gain", "68% price drop", "7.5% token drop")."""
        doc, sent, end = s.doc, s.sent, q["tok_end"]
        skip = 0
        while end + skip < sent.end - 1 and skip < 2 and doc[end + skip].lower_ in _PCT_SKIP:
            skip += 1
        if skip and self.lex.direction(doc[end + skip]) is not None:
            return doc[end + skip], end + skip
        return (doc[end] if end < sent.end else None), end

    def _percent_of_other(self, s: _SentenceScan, q: _Record, nxt: Token | None) -> bool:
        """Whether the percentage is not a price change: of another noun, a ratio's reading or a
        distance from a level."""
        doc, sent, lex, end = s.doc, s.sent, self.lex, q["tok_end"]
        if nxt is not None and (nxt.tag_.startswith("NN") or nxt.tag_ == "JJ") \
                and nxt.lower_ not in lex.pct_time_words and lex.direction(nxt) is None:
            return True  # "7.5% inflation", "a 5% stake": the percentage of something else
        prev = doc[q["tok_start"] - 1] if q["tok_start"] > sent.start else None
        if prev is not None and prev.lower_ in ("below", "above", "under", "beneath") and not q["signed"]:
            return True  # "dominance drops below 80%": a level of a ratio, not a change
        j0 = q["tok_start"] - 1
        while j0 > sent.start and doc[j0].lower_ in ("about", "around", "roughly", "nearly", "just", "some"):
            j0 -= 1
        if j0 >= sent.start and doc[j0].lower_ in ("to", "at") and not q["signed"] \
                and not (j0 > sent.start and doc[j0 - 1].lower_ == "up"):
            return True  # "slipped to 6.3%", "comes in at 4.2%": a reading of a ratio, not a change
        if nxt is not None and nxt.lower_ in ("below", "above", "under"):
            return True  # "10% below its record": a distance from a level
        if nxt is not None and nxt.lower_ == "in" and end + 1 < sent.end:
            n2 = doc[end + 1]
            n3 = doc[end + 2] if end + 2 < sent.end else None
            if n2.lower_ in lex.non_subject or (n3 is not None and n2.tag_.startswith(("NN", "JJ"))
                                                and n3.lower_ in lex.non_subject):
                return True  # "drops 58% in volume", "160% in exchange deposits"
        return False

    def _percent_direction(self, s: _SentenceScan, q: _Record, end2: int) -> str | None:
        """The direction of a percentage: its sign, a word right after ("9% drop", "5% higher"),
        else the clause's last direction word unless that word has a subject of its own."""
        if q["signed"]:
            return "down" if q["value"] < 0 else "up"
        doc, sent, clause = s.doc, s.sent, s.clause
        if end2 < sent.end:
            t = doc[end2]
            # only "a 9% drop", "5% higher": not the next clause's verb
            if not (t.lower_ in ("of", "in", "from", "at", "on") or t.is_punct or t.lower_ in _BREAKS
                    or end2 in s.ctx.subjects_at or t.tag_.startswith(("VB", "MD", "CC", "IN"))):
                direction = self.lex.direction(t)
                if direction:
                    return direction
        if clause.direction is not None and sent.start <= clause.dir_index < q["tok_start"]:
            if self._foreign_subject(doc, doc[clause.dir_index], s.ctx.subjects_at):
                return None  # "Bitcoin fell after the consumer price index rose 3.4%": CPI's rise
            return clause.direction  # this subject's word, or the sentence's ("BTC fell 3%, ETH 5%")
        return None

    def _from_price(self, s: _SentenceScan, q: _Record) -> float | None:
        """The price a percentage move started from ("down about 25% from its high of $4,885")."""
        doc, sent, lex, end = s.doc, s.sent, self.lex, q["tok_end"]
        j = end
        while j < min(sent.end, end + 3) and doc[j].lower_ not in lex.from_words:
            j += 1
        if j < sent.end and doc[j].lower_ in lex.from_words:
            for k in range(j + 1, min(sent.end, j + 7)):
                mq = s.ctx.quant_at.get(k)
                if mq is not None and mq["kind"] == "money" and mq["value"] <= lex.max_price:
                    return mq["value"]
        return None

    # ---------------------------------------------------------------- money amounts
    def _money(self, s: _SentenceScan, q: _Record) -> None:
        """A money amount after a subject and a direction: the move's from or to price, or its
        absolute change; merged into the subject's move of this sentence when there is one."""
        if q["scaled"] and q["value"] >= 1e6:
            return  # "XRP sales fall to $1.75M": not a price
        role = self._money_role(s, q)
        clause = s.clause
        assets = [k for kind, k in clause.subject if kind == "asset"]
        if role is None or not assets or clause.direction is None:
            return
        value = q["value"]
        if role == "change_abs":
            value = -value if clause.direction == "down" else value
        for sym in assets:
            target = None
            for mv in reversed(s.moves):
                if mv["asset"] == sym and mv["direction"] == clause.direction and mv.get(role) is None:
                    target = mv
                    break
            if target is None:
                target = {"asset": sym, "direction": clause.direction, "change_pct": None, "from_price": None,
                          "to_price": None, "change_abs": None, "sent": s.key, "_tok": q["tok_start"]}
                s.moves.append(target)
            target[role] = value
        if role == "change_abs":
            s.ctx.consumed.add(q["tok_start"])

    def _money_role(self, s: _SentenceScan, q: _Record) -> str | None:
        """``from_price`` ("from $X"), ``to_price`` ("to $Y", "soared over $3,200"), ``change_abs``
        ("falling $5,000") or None when the amount does not follow the direction word."""
        doc, lex, clause = s.doc, self.lex, s.clause
        j = self._skip_back(s, q["tok_start"], frozenset({"below", "above", "under", "over"}))
        prev = doc[j].lower_ if j >= s.sent.start else ""
        if prev in lex.from_words:
            return "from_price"
        if prev in lex.to_words:
            return "to_price"
        # "falling over $5,000": the direction word right before the amount
        k = q["tok_start"] - 1
        crossing = False
        while k > clause.dir_index and (doc[k].lower_ in lex.change_fillers or doc[k].text == "$"):
            crossing = crossing or doc[k].lower_ in lex.crossing_words
            k -= 1
        if k != clause.dir_index or clause.direction == "flat":
            return None
        if crossing:
            # "soared over $3,200" crosses a level; "falling over $5,000" (from $110,000) is a
            # change: only an amount well under a price stated for the asset is a change
            known = [float(mv[r]) for mv in s.moves for r in ("from_price", "to_price") if mv.get(r)]
            return "change_abs" if any(q["value"] < 0.5 * p for p in known) else "to_price"
        return "change_abs"

    # ---------------------------------------------------------------- direction-only moves
    def _verb_moves(self, s: _SentenceScan) -> list[_Record]:
        """Direction-only moves: "Solana tumbled", "Bitcoin and Ether rallied", "ETH was flat"."""
        doc = s.doc
        out: list[_Record] = []
        seen = {m["asset"] for m in s.moves}
        for m in s.mentions():
            if m["symbol"] in seen or m["strength"] != "strong":
                continue
            if m["start"] not in s.ctx.subjects_at:
                continue  # "Ethereum 2.0 node count drops", "ETH held in wallets jumps"
            tok = doc[m["end"] - 1]
            while tok.dep_ == "conj" and tok.head.i != tok.i:
                tok = tok.head
            if tok.dep_ not in ("nsubj", "nsubjpass") or not (m["start"] <= tok.i < m["end"]) and tok.i >= m["end"]:
                continue
            head = tok.head
            direction = self._verb_direction(head)
            if direction is None or not head.tag_.startswith("VB"):
                continue
            if any(c.lower_ == "in" and any(g.dep_ == "pobj" and g.lower_ in self.lex.non_subject for g in c.children)
                   for c in head.children):
                continue  # "drop in whale transactions": a metric's move
            children = {c.lower_ for c in head.children}
            if children & _NEG or children & self.lex.modal or head.dep_ in ("xcomp", "relcl"):
                continue
            seen.add(m["symbol"])
            out.append({"asset": m["symbol"], "direction": direction, "change_pct": 0.0 if direction == "flat" else None,
                        "from_price": None, "to_price": None, "change_abs": None, "sent": s.key,
                        "_tok": head.i})
        return out

    def _verb_direction(self, head: Token) -> str | None:
        """The direction stated by the verb an asset is the subject of: its object after a
        report verb ("saw significant losses"), else the verb or its complement ("was flat")."""
        lex = self.lex
        objects = [c for c in head.children if c.dep_ in ("dobj", "dative")]
        if head.lower_ in lex.report_verbs:
            # "Ethereum saw significant losses", "Solana posted gains"; not "saw a surge in volume"
            return next((lex.words.get(o.lower_) for o in objects if o.lower_ in lex.words
                         and not any(c.lower_ == "in" and any(g.lower_ in lex.non_subject for g in c.children)
                                     or c.dep_ == "compound" and c.lower_ in lex.non_subject
                                     for c in o.children)), None)
        if objects:
            return None  # "Ripple adds $765 million to…", "Dogecoin gains ground"
        cands = [c for c in [head] + [c for c in head.children if c.dep_ in ("acomp", "advmod", "attr")]
                 if c.lower_ not in lex.needs_amount]
        return next((d for c in cands if (d := lex.direction(c)) is not None), None)

    def _adjacent_moves(self, s: _SentenceScan) -> list[_Record]:
        """Direction-only moves the parse misses in headlines ("XRP Jumps", "Cardano, Dogecoin and
        XRP Surge Overnight", "XRP tumbles despite…"): a direction word right after the asset, or
        after a list of assets, past "price" and a "(TICKER)"."""
        doc, sent = s.doc, s.sent
        out: list[_Record] = []
        seen = {m["asset"] for m in s.moves}
        starts = {m["start"]: m for m in s.mentions()}
        group: list[_Record] = []
        j = sent.start
        while j < sent.end:
            m = starts.get(j)
            if m is None:
                if doc[j].lower_ not in _GROUP_GLUE or doc[j].text == "(":
                    group = []
                j += 1
                continue
            if m["strength"] == "strong" and m["start"] in s.ctx.subjects_at:
                group.append(m)
            j = m["end"]
            if j < sent.end and doc[j].text == "(":  # "Bitcoin (BTC)"
                close = next((k for k in range(j, min(sent.end, j + 4)) if doc[k].text == ")"), None)
                j = close + 1 if close is not None else j
            while j < sent.end and doc[j].lower_ in ("price", "prices"):
                j += 1
            if j >= sent.end or doc[j].lower_ in _GROUP_GLUE or j in starts:
                continue  # the list goes on
            direction = self._headline_direction(s, j, group)
            if direction is not None:
                for g in group:
                    if g["symbol"] not in seen:
                        seen.add(g["symbol"])
                        out.append({"asset": g["symbol"], "direction": direction,
                                    "change_pct": 0.0 if direction == "flat" else None, "from_price": None,
                                    "to_price": None, "change_abs": None, "sent": s.key, "_tok": j})
            group = []
        return out

    def _headline_direction(self, s: _SentenceScan, j: int, group: list[_Record]) -> str | None:
        """The direction of the word at ``j`` right after a list of assets, when it reads as the
        list's verb; None when it is not one or a modal, negation, amount or metric makes it no move."""
        doc, sent, lex = s.doc, s.sent, self.lex
        word = doc[j]
        direction = lex.direction(word)
        nxt = doc[j + 1] if j + 1 < sent.end else None
        clause = doc[max(sent.start, group[0]["start"] - 4) if group else j:j]
        # a verb, a capitalised headline word, or a lower-case "tumbles"/"dived" the tagger took
        # for a noun; not "the Bitcoin crash of 2018"
        verb_like = word.tag_.startswith("VB") or word.text[:1].isupper() and self._title_case(sent) \
            or word.lower_.endswith(("s", "ed")) and word.tag_ in ("NNS", "NN")
        if direction is None or not verb_like or word.lower_ in lex.needs_amount or word.dep_ == "amod" \
                or any(c.dep_ in ("dobj", "dative") for c in word.children) \
                or any(t.lower_ in _NEG or t.lower_ in lex.modal for t in clause) \
                or nxt is not None and (nxt.lower_ == "in"  # "Surge in Trading Activity"
                                        or nxt.lower_ in lex.fading  # "Bitcoin Rally Fades"
                                        or nxt.lower_ in lex.modal  # "a Bitcoin Crash May Be Imminent"
                                        or nxt.lower_ in ("is", "are", "was", "were", "has", "have")
                                        or nxt.like_num or nxt.text in ("$", "€", "£", "+", "-")):
            return None  # an amount after it was the amount's to judge ("Drops 58% in Volume")
        if word.lower_.startswith("gain") and nxt is not None and nxt.is_alpha \
                and nxt.lower_ not in ("as", "after", "on", "amid", "while", "despite", "today", "again"):
            return None  # "Dogecoin Gains More US Ground", "gains traction": not a price move
        return direction

    # ---------------------------------------------------------------- levels
    def _levels(self, s: _SentenceScan) -> str | None:
        """The price levels of a sentence, each given the asset nearest before it, else after it,
        else the one carried from earlier sentences. Returns the asset to carry on."""
        sent, ctx, lex = s.sent, s.ctx, self.lex
        sent_assets = s.mentions()
        for q in ctx.quants:
            if not (sent.start <= q["tok_start"] < sent.end) or q["kind"] != "money" or q["range"]:
                continue
            if q["tok_start"] in ctx.consumed or q["value"] <= 0 or q["value"] > lex.max_price:
                continue  # "falling over $5,000" is a change, not a price
            if q["scaled"] and q["value"] >= 1e6:
                continue
            if q["tok_end"] < sent.end and lex.direction(s.doc[q["tok_end"]]) is not None:
                continue  # "a $800 correction": a change, not a price
            kind = self._level_of(s, q)
            if kind is None:
                continue
            before = [m for m in sent_assets if m["end"] <= q["tok_start"] and m["start"] in ctx.subjects_at]
            after = [m for m in sent_assets if m["start"] >= q["tok_end"] and m["start"] in ctx.subjects_at]
            asset = before[-1]["symbol"] if before else (after[0]["symbol"] if after else ctx.carry_asset)
            ctx.levels.append({"asset": asset, "price": q["value"], "kind": kind, "sent": s.key,
                               "_carried": not (before or after)})
        subs = [m for m in sent_assets if m["start"] in ctx.subjects_at]
        return subs[-1]["symbol"] if subs else (ctx.carry_asset if sent_assets else None)

    def _level_of(self, s: _SentenceScan, q: _Record) -> str | None:
        """The kind of level a price-like amount is, or None when it is none: its keyword, a
        destination under a modal, and a stated price under a modal is a target."""
        doc, sent, lex, low = s.doc, s.sent, self.lex, s.ctx.low
        kind = self._level_kind(s, q)
        if kind is None:
            # "a break below it would open the way to $2,650": a destination under a modal
            j = self._skip_back(s, q["tok_start"], frozenset({"below", "above", "under", "over"}))
            if j >= sent.start and doc[j].lower_ in lex.to_words \
                    and any(t.lower_ in lex.modal for t in doc[sent.start:j]):
                kind = "target"
        if kind == "price" and (any(t.lower_ in lex.modal for t in doc[sent.start:q["tok_start"]])
                                or q["tok_start"] >= 2 and low[q["tok_start"] - 2] == "to"):
            kind = "target"  # "Will XRP hit $5?", "could reach $10": a forecast
        return kind

    def _level_kind(self, s: _SentenceScan, q: _Record) -> str | None:
        """The nearest level keyword around the amount ("support level of", "the $105,000 key
        support level"); a close specific keyword beats the plain price phrase."""
        doc, sent, lex, low = s.doc, s.sent, self.lex, s.ctx.low
        best: tuple[int, str] | None = None
        cands: list[tuple[int, str]] = []
        # keywords ending before the amount (indexed by their last word)
        stop = max(sent.start, q["tok_start"] - lex.window_left)
        for dist, j in enumerate(range(q["tok_start"] - 1, stop - 1, -1)):
            if low[j] == ";" or (low[j] == "%" and j > sent.start):
                break
            for phrase, kind in lex.level_by_last.get(low[j], ()):
                n = len(phrase)
                if j - n + 1 >= sent.start and tuple(low[j - n + 1:j + 1]) == phrase:
                    if kind == "price" and dist > 2:
                        continue
                    cands.append((dist, kind))
                    if best is None or dist < best[0]:
                        best = (dist, kind)
            if best is not None and dist >= 3:
                break
            if low[j] in lex.to_words:
                break  # "from its $5.58 high to $4.78": "to" starts the amount's own phrase
        # keywords right after the amount ("the $105,000 key support level")
        for dist, j in enumerate(range(q["tok_end"], min(sent.end, q["tok_end"] + lex.window_right))):
            if doc[j].is_punct:
                break
            for phrase, kind in lex.level_by_first.get(low[j], ()):
                if kind in ("price", "target"):
                    continue
                if tuple(low[j:j + len(phrase)]) == phrase and (best is None or dist < best[0]):
                    best = (dist, kind)
        if best is not None and best[1] in ("price", "target"):
            # "next support sits at $2,900": a close specific keyword beats the price phrase
            specific = [c for c in cands if c[1] not in ("price", "target") and c[0] <= 3]
            if specific:
                best = min(specific)
        return best[1] if best else None


def _fix_carried_levels(levels: list[dict[str, Any]], moves: list[dict[str, Any]]) -> None:
    """A level whose sentence names no asset took the previous sentence's; if its price is far
    (beyond 2x) from every price the document states for that asset but close to another
    asset's, it belongs to that other asset ("the $95,000 support" is Bitcoin's, not Ether's)."""
    known: dict[str, list[float]] = {}
    for lv in levels:
        if not lv["_carried"] and lv["asset"]:
            known.setdefault(lv["asset"], []).append(lv["price"])
    for mv in moves:
        for k in ("from_price", "to_price"):
            if mv.get(k):
                known.setdefault(mv["asset"], []).append(mv[k])

    def plausible(asset: str | None, price: float) -> bool:
        return any(0.5 <= price / p <= 2.0 for p in known.get(asset or "", []))

    for lv in levels:
        if lv.pop("_carried", False) and not plausible(lv["asset"], lv["price"]):
            fits = [a for a in known if plausible(a, lv["price"])]
            if len(fits) == 1:
                lv["asset"] = fits[0]


def _dedupe(items: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    seen = set()
    out = []
    for it in items:
        k = tuple(it.get(x) for x in keys)
        if k not in seen:
            seen.add(k)
            it.pop("_tok", None)
            out.append(it)
    return out
