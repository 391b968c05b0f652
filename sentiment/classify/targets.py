"""Target-level sentiment data: the sentiment of a text toward one named thing in it.

A :class:`TargetExample` is a text, the target it is about (an asset symbol, a company), the
character span that names the target, and the label toward it (an index into
``sentiment.schema.LABELS``). Loaders, one per format (:data:`TARGET_FORMATS`):

* ``finentity``: FinEntity (a JSON array of ``{"content", "annotations": [{"start", "end",
  "value", "label"}]}``). Some offsets are shifted in the release: the span used is the
  occurrence of ``value`` nearest to ``start``, so ``text[start:end] == value`` always holds.
* ``semeval-targets``: SemEval-2017 Task 5 headlines (``{"title", "company", "sentiment"}``),
  one example per scored company.
* ``fiqa-targets``: FiQA-2018 Task 1 (``{"sentence", "info": [{"target", "sentiment_score"}]}``),
  one example per scored target; a folder reads every scored file in it.
* ``crypto-targets``: the project's own JSON Lines, ``{"id", "text", "asset", "span": [start,
  end], "label", "category", "kind"}``, one line per (sentence, asset) pair.

SemEval and FiQA give a score in [-1, 1] per target, mapped to a label as the sentence
loaders map it (``sentiment.classify.datasets.score_label``: neutral within
``NEUTRAL_BAND`` of zero). They name a target without its offsets, so its span is found in the
text (:func:`locate`); a target that cannot be found is left out and counted in ``dropped``.

The split (:func:`target_splits`) is a fixed rule: FinEntity, SemEval and FiQA have no labelled
test file, so 20 % of their distinct texts (paragraphs, headlines, posts) are the test part
(``train_test_split(random_state=0)`` over the distinct normalised texts, in file order) and
10 % of the rest, by the same rule, is validation: every target of one text falls in the same
part. A ``test.jsonl`` of the crypto set is all test; its ``train.jsonl`` gives train and
validation.

What a target model reads (:func:`target_input`): the target's words, the tokenizer's
separator, then the text, ``"Ether [SEP] Bitcoin rose 3% while Ether fell 5%."``, so a
BERT tokenizer makes it ``[CLS] Ether [SEP] Bitcoin rose … [SEP]``: one model scores plain
sentences and targets, and truncation never cuts the target. A text longer than the model's
window is cut first to the sentences around the target (:func:`target_window`).

Also here, for the baselines of target-level evaluation: :func:`sentence_spans` (the sentences
of a paragraph) and :func:`clause_spans` (the clauses of a sentence, cut at contrast words such
as "while", "but", "even as" or a semicolon; the words are data, ``data/clauses.json``).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

from sklearn.model_selection import train_test_split

from sentiment.classify.datasets import (
    NEUTRAL_BAND,
    SEED,
    SPLITS,
    DataError,
    Unlabelled,
    label_index,
    normalise,
    score_label,
)

TARGET_FORMATS = ("finentity", "semeval-targets", "fiqa-targets", "crypto-targets")
CLAUSES_FILE = "clauses.json"
TEST_SIZE = 0.2        # share of distinct texts held out as test (FinEntity, SemEval, FiQA)
VALIDATION_SIZE = 0.1  # share of the remaining texts held out for validation
# Words that end a company name as SemEval and FiQA write it but a headline often leaves out.
COMPANY_SUFFIXES = frozenset({"plc", "inc", "corp", "corporation", "group", "holdings", "holding", "ltd",
                              "limited", "co", "company", "sa", "ag", "nv", "se", "llc", "&"})
FUZZY_MATCH = 0.8      # least similarity of a misspelt target ("Tailor Wimpey") to the words it names
_SPACE = " \t\r\n"
_EDGE = _SPACE + ",;:.!?-–—"


@dataclass(frozen=True)
class TargetExample:
    """One (text, target) pair with the label toward the target; ``text[span[0]:span[1]]`` is
    where the text names it."""

    text: str
    target: str
    span: tuple[int, int]
    label: int
    source: str = ""
    id: str = ""
    category: str = ""
    kind: str = ""

    @property
    def mention(self) -> str:
        """The words of the text that name the target."""
        return self.text[self.span[0]:self.span[1]]


@dataclass
class TargetData:
    """Target examples of one data set, and how many targets the loader left out, by reason."""

    examples: list[TargetExample]
    name: str = ""
    dropped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def labels(self) -> list[int]:
        return [ex.label for ex in self.examples]

    def take(self, indices: Iterable[int]) -> TargetData:
        return TargetData([self.examples[i] for i in indices], self.name, dict(self.dropped))

    def counts(self) -> dict[str, int]:
        """Examples per label name."""
        from sentiment.schema import LABELS

        found = Counter(self.labels)
        return {lab: found.get(i, 0) for i, lab in enumerate(LABELS)}


@dataclass
class TargetSplits:
    """The fixed train / validation / test parts of one target data set."""

    train: TargetData
    validation: TargetData
    test: TargetData

    def get(self, split: str) -> TargetData:
        if split == "all":
            parts = (self.train, self.validation, self.test)
            return TargetData([ex for p in parts for ex in p.examples], self.test.name, dict(self.test.dropped))
        if split not in ("train", "validation", "test"):
            raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        part: TargetData = getattr(self, split)
        return part


# --------------------------------------------------------------------------- spans
def _valid_span(text: str, value: object, where: str) -> tuple[int, int]:
    """``value`` as a ``(start, end)`` span inside ``text``, or a :class:`DataError` saying why not."""
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in value))
    if not ok:
        raise DataError(f"{where}span must be [start, end] (two integers), got {value!r}")
    start, end = int(value[0]), int(value[1])  # type: ignore[index]
    if not 0 <= start < end <= len(text):
        raise DataError(f"{where}span [{start}, {end}] is outside the text (length {len(text)})")
    if not text[start:end].strip():
        raise DataError(f"{where}span [{start}, {end}] covers no words")
    return start, end


def _word_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(phrase) + r"(?![A-Za-z0-9])", re.IGNORECASE)


def locate(text: str, target: str) -> tuple[int, int] | None:
    """Where ``text`` names ``target`` (a company or ticker as SemEval and FiQA give it), or
    ``None``. Tried in order: the name as a whole word, then without its legal suffixes
    ("Lloyds Banking Group PLC" → "Lloyds Banking"), inside a longer word ("CompaniesTesco"),
    the run of words most like it (at least :data:`FUZZY_MATCH` similar: "Tailor Wimpey" finds
    "Taylor Wimpey"), its initials ("Royal Bank of Scotland Group plc" → "RBS"), and last the
    longest run of its first words ("Valeant Pharmaceuticals International" → "Valeant")."""
    name = target.strip()
    words = name.split()
    while len(words) > 1 and words[-1].lower().strip(".,") in COMPANY_SUFFIXES:
        words.pop()
    core = " ".join(words)
    candidates = [c for c in dict.fromkeys((name, core)) if c]
    for cand in candidates:
        if m := _word_pattern(cand).search(text):
            return m.start(), m.end()
    for cand in candidates:
        if len(cand) >= 3 and (i := text.lower().find(cand.lower())) >= 0:
            return i, i + len(cand)
    if fuzzy := _most_like(text, core):
        return fuzzy
    initials = "".join(w[0] for w in words if w.lower() not in ("of", "and", "the") and w[0].isalpha())
    if len(initials) >= 2 and (m := re.search(r"(?<![A-Za-z0-9])" + initials.upper() + r"(?![A-Za-z0-9])", text)):
        return m.start(), m.end()
    for size in range(len(words) - 1, 0, -1):  # the longest run of its first words
        prefix = " ".join(words[:size]).strip(".,")
        if size == 1 and (len(prefix) < 4 or not prefix[0].isupper()):
            break
        if m := _word_pattern(prefix).search(text):
            return m.start(), m.end()
        if (i := text.find(prefix)) >= 0:
            return i, i + len(prefix)
    return None


def _most_like(text: str, phrase: str) -> tuple[int, int] | None:
    """The run of words of ``text`` most like ``phrase``, of as many words or one fewer ("JP
    Morgan" finds "JPMorgan"), if at least :data:`FUZZY_MATCH` similar."""
    tokens = [(m.start(), m.end()) for m in re.finditer(r"[\w&'.]+", text)]
    size = len(re.findall(r"[\w&'.]+", phrase))
    best, best_span = FUZZY_MATCH, None
    for width in range(max(1, size - 1), size + 1):
        for i in range(len(tokens) - width + 1):
            start, end = tokens[i][0], tokens[i + width - 1][1]
            ratio = SequenceMatcher(None, text[start:end].lower(), phrase.lower()).ratio()
            if ratio > best or (ratio == best and best_span is None):
                best, best_span = ratio, (start, end)
    return best_span


def _nearest(text: str, value: str, start: int) -> tuple[int, int] | None:
    """The occurrence of ``value`` in ``text`` nearest to offset ``start``."""
    found = [m.start() for m in re.finditer(re.escape(value), text)]
    if not found:
        return None
    best = min(found, key=lambda i: (abs(i - start), i))
    return best, best + len(value)


# --------------------------------------------------------------------------- loaders
def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None


def _score(value: object, where: str) -> float:
    try:
        score = float(str(value).strip())
    except ValueError:
        raise DataError(f"{where}sentiment score {value!r} is not a number") from None
    if not -1.0 <= score <= 1.0:
        raise DataError(f"{where}sentiment score {score} is outside [-1, 1]")
    return score


def _collect(rows: Iterable[tuple[str, TargetExample | None, str]], name: str) -> TargetData:
    """Examples from ``(where, example or None, reason)`` rows: an example whose (text, span)
    is already there with the same label is a duplicate, with another label a conflict (both
    left out: neither label can be scored as right)."""
    kept: dict[tuple[str, tuple[int, int]], TargetExample] = {}
    dropped: Counter[str] = Counter()
    conflicts: set[tuple[str, tuple[int, int]]] = set()
    for _, example, reason in rows:
        if example is None:
            dropped[reason] += 1
            continue
        key = (example.text, example.span)
        if key in conflicts:
            dropped["conflicting labels"] += 1
        elif key not in kept:
            kept[key] = example
        elif kept[key].label == example.label:
            dropped["duplicate"] += 1
        else:
            del kept[key]
            conflicts.add(key)
            dropped["conflicting labels"] += 2
    return TargetData(list(kept.values()), name, dict(dropped))


def read_finentity(path: str | Path) -> TargetData:
    """FinEntity's paragraphs, one example per annotated entity (see the module docstring)."""
    path = Path(path)
    doc = _load_json(path)
    if not isinstance(doc, list):
        raise DataError(f"{path}: FinEntity data is a JSON array of paragraphs")

    def rows() -> Iterable[tuple[str, TargetExample | None, str]]:
        for n, item in enumerate(doc, 1):
            where = f"{path}: paragraph {n}: "
            if not isinstance(item, dict) or not isinstance(item.get("content"), str):
                raise DataError(f"{where}expected an object with a 'content' text")
            text = item["content"]
            for a in item.get("annotations") or []:
                if not isinstance(a, dict) or not isinstance(a.get("value"), str) or not a["value"].strip():
                    raise DataError(f"{where}an annotation needs a 'value' (the entity's words)")
                start = a.get("start")
                if not isinstance(start, int) or isinstance(start, bool):
                    raise DataError(f"{where}annotation {a['value']!r}: 'start' must be an integer")
                span = _nearest(text, a["value"], start)
                if span is None:
                    yield where, None, "not found in text"
                    continue
                label = label_index(a.get("label", ""), f"{where}annotation {a['value']!r}: ")
                yield where, TargetExample(text, a["value"], span, label, "finentity", f"{n}:{span[0]}"), ""

    return _collect(rows(), path.stem)


def read_semeval_targets(path: str | Path, band: float = NEUTRAL_BAND) -> TargetData:
    """SemEval-2017 Task 5 headlines, one example per scored company. Raises
    :class:`~sentiment.classify.datasets.Unlabelled` for the released (unscored) test file."""
    path = Path(path)
    doc = _load_json(path)
    if not isinstance(doc, list):
        raise DataError(f"{path}: SemEval-2017 headlines are a JSON array")
    if doc and not any(isinstance(r, dict) and r.get("sentiment") is not None for r in doc):
        raise Unlabelled(f"{path}: no sentiment scores (an unlabelled test file?)")

    def rows() -> Iterable[tuple[str, TargetExample | None, str]]:
        for n, item in enumerate(doc, 1):
            where = f"{path}: item {n}: "
            if not isinstance(item, dict) or not isinstance(item.get("title"), str) \
                    or not isinstance(item.get("company"), str):
                raise DataError(f"{where}expected an object with 'title', 'company' and 'sentiment'")
            if item.get("sentiment") is None:
                yield where, None, "no score"
                continue
            label = score_label(_score(item["sentiment"], where), band)
            text = item["title"].strip()
            span = locate(text, item["company"])
            if span is None:
                yield where, None, "not found in text"
                continue
            yield where, TargetExample(text, item["company"], span, label, "semeval", str(item.get("id", n))), ""

    return _collect(rows(), path.stem)


def read_fiqa_targets(path: str | Path, band: float = NEUTRAL_BAND) -> TargetData:
    """FiQA-2018 Task 1, one example per scored target; a folder: every scored ``.json`` file
    in it, in name order (its unscored test files are skipped)."""
    path = Path(path)
    if path.is_dir():
        parts = []
        for file in sorted(path.glob("*.json")):
            try:
                parts.append(read_fiqa_targets(file, band))
            except Unlabelled:
                continue
        if not parts:
            raise DataError(f"{path}: no scored FiQA file in the folder")
        dropped: Counter[str] = Counter()
        for part in parts:
            dropped.update(part.dropped)
        return TargetData([ex for p in parts for ex in p.examples], path.name, dict(dropped))
    doc = _load_json(path)
    if not isinstance(doc, dict):
        raise DataError(f"{path}: FiQA data is a JSON object keyed by sentence id")
    infos = [t for row in doc.values() if isinstance(row, dict) for t in row.get("info") or []]
    if infos and not any(isinstance(t, dict) and t.get("sentiment_score") is not None for t in infos):
        raise Unlabelled(f"{path}: no sentiment scores (an unlabelled test file?)")

    def rows() -> Iterable[tuple[str, TargetExample | None, str]]:
        for key, row in doc.items():
            where = f"{path}: sentence {key}: "
            if not isinstance(row, dict) or not isinstance(row.get("sentence"), str):
                raise DataError(f"{where}expected an object with a 'sentence' and its 'info'")
            text = row["sentence"].strip()
            for t in row.get("info") or []:
                if not isinstance(t, dict) or not isinstance(t.get("target"), str):
                    raise DataError(f"{where}each 'info' entry needs a 'target'")
                if t.get("sentiment_score") is None:
                    yield where, None, "no score"
                    continue
                label = score_label(_score(t["sentiment_score"], where), band)
                span = locate(text, t["target"])
                if span is None:
                    yield where, None, "not found in text"
                    continue
                yield where, TargetExample(text, t["target"], span, label, "fiqa", str(key)), ""

    return _collect(rows(), path.stem)


def read_crypto_targets(path: str | Path) -> TargetData:
    """The project's crypto target set: JSON Lines of ``{"id", "text", "asset", "span",
    "label", "category", "kind"}`` (``id``, ``category`` and ``kind`` optional)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None

    def rows() -> Iterable[tuple[str, TargetExample | None, str]]:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}: "
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) \
                    or not isinstance(row.get("asset"), str) or not row["asset"].strip():
                raise DataError(f"{where}expected an object with 'text', 'asset', 'span' and 'label'")
            span = _valid_span(row["text"], row.get("span"), where)
            label = label_index(row.get("label", ""), where)
            yield where, TargetExample(row["text"], row["asset"].strip(), span, label, "crypto-targets",
                                       str(row.get("id", n)), str(row.get("category") or ""),
                                       str(row.get("kind") or "")), ""

    return _collect(rows(), path.stem)


def guess_target_format(path: str | Path) -> str | None:
    """``finentity`` or ``crypto-targets`` when the file (or a folder's ``test.jsonl``, else its
    ``train.jsonl``) looks like one, else ``None`` (SemEval and FiQA files look like their
    sentence-level formats: name ``semeval-targets`` or ``fiqa-targets`` to score their targets)."""
    path = Path(path)
    if path.is_dir():
        return guess_target_format(path / "test.jsonl") or guess_target_format(path / "train.jsonl")
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return None
    compact = re.sub(r"\s+", "", head.lstrip("\ufeff"))
    if compact.startswith("[") and '"content"' in compact and '"annotations"' in compact:
        return "finentity"
    first = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return None
    if isinstance(row, dict) and {"text", "asset", "span"} <= row.keys():
        return "crypto-targets"
    return None


def read_targets(path: str | Path, fmt: str = "auto", neutral_band: float = NEUTRAL_BAND) -> TargetData:
    """Every target example of one file in ``fmt`` (one of :data:`TARGET_FORMATS`; ``auto``:
    :func:`guess_target_format`)."""
    path = Path(path)
    if fmt == "auto":
        fmt = guess_target_format(path) or ""
        if not fmt:
            raise DataError(f"{path}: not a target-level file I recognise; pass --format "
                            f"({'|'.join(TARGET_FORMATS)})")
    if fmt == "finentity":
        return read_finentity(path)
    if fmt == "semeval-targets":
        return read_semeval_targets(path, neutral_band)
    if fmt == "fiqa-targets":
        return read_fiqa_targets(path, neutral_band)
    if fmt == "crypto-targets":
        return read_crypto_targets(path)
    raise DataError(f"unknown target format {fmt!r}; use one of {', '.join(TARGET_FORMATS)}")


# --------------------------------------------------------------------------- the split
def group_split(keys: Sequence[str], test_size: float, seed: int = SEED) -> tuple[list[int], list[int]]:
    """Indices of the kept and the held-out rows when ``test_size`` of the distinct ``keys``
    (in order of first appearance) are held out with ``train_test_split(random_state=seed)``:
    rows with the same key always fall on the same side."""
    groups = list(dict.fromkeys(keys))
    if len(groups) < 2:
        return list(range(len(keys))), []
    _, held = train_test_split(groups, test_size=test_size, random_state=seed)
    out = set(held)
    return [i for i, k in enumerate(keys) if k not in out], [i for i, k in enumerate(keys) if k in out]


def _split_by_text(data: TargetData, test_size: float) -> tuple[TargetData, TargetData]:
    keep, held = group_split([normalise(ex.text) for ex in data.examples], test_size)
    return data.take(keep), data.take(held)


def _crypto_file(path: Path, role: str) -> Path | None:
    """``train.jsonl`` or ``test.jsonl`` beside (or inside, for a folder) ``path``."""
    folder = path if path.is_dir() else path.parent
    cand = folder / f"{role}{path.suffix if path.is_file() else '.jsonl'}"
    return cand if cand.is_file() else None


def target_splits(path: str | Path, fmt: str = "auto", neutral_band: float = NEUTRAL_BAND) -> TargetSplits:
    """The fixed train / validation / test parts of a target data path (module docstring)."""
    path = Path(path)
    fmt = (guess_target_format(path) or "") if fmt == "auto" else fmt
    if fmt == "crypto-targets" and (path.is_dir() or path.stem.lower() in ("train", "test")):
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        test_file, train_file = _crypto_file(path, "test"), _crypto_file(path, "train")
        if test_file is None and train_file is None:
            raise DataError(f"{path}: no train.jsonl or test.jsonl")
        name = path.name if path.is_dir() else path.parent.name
        test = read_crypto_targets(test_file) if test_file else TargetData([], name)
        train, validation = TargetData([], name), TargetData([], name)
        if train_file:
            train, validation = _split_by_text(read_crypto_targets(train_file), VALIDATION_SIZE)
        return TargetSplits(train, validation, test)
    data = read_targets(path, fmt or "auto", neutral_band)
    rest, test = _split_by_text(data, TEST_SIZE)
    train, validation = _split_by_text(rest, VALIDATION_SIZE)
    return TargetSplits(train, validation, test)


# --------------------------------------------------------------------------- sentences and clauses
@lru_cache(maxsize=1)
def clause_words() -> dict[str, tuple[str, ...]]:
    """The subordinators, coordinators and abbreviations of ``data/clauses.json``."""
    text = resources.files("sentiment.classify").joinpath("data", CLAUSES_FILE).read_text(encoding="utf-8")
    doc = json.loads(text)
    return {key: tuple(str(w).lower() for w in doc[key]) for key in ("subordinators", "coordinators", "abbreviations")}


_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[$<A-Z0-9])")


def _trim(text: str, start: int, end: int, edge: str = _EDGE) -> tuple[int, int] | None:
    """``(start, end)`` without the characters of ``edge`` (spaces and punctuation) at its
    ends; ``None`` if no word is left."""
    while start < end and text[start] in edge:
        start += 1
    while end > start and text[end - 1] in edge:
        end -= 1
    return (start, end) if re.search(r"\w", text[start:end]) else None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text`` as ``(start, end)`` spans: a sentence ends at a line break, or
    at ``.``, ``!`` or ``?`` before a space and a capital, a digit or an opening quote, unless
    the word before the stop is an abbreviation ("Corp.", "U.S.") or an initial. Close to the
    sentences the tagging pipeline scores, without loading its parser. Spans keep their stop
    and lose only the spaces around them."""
    abbreviations = set(clause_words()["abbreviations"])
    cuts = [0]
    for m in _SENTENCE_END.finditer(text):
        word = re.search(r"[\w.]*$", text[cuts[-1]:m.start()])
        before = (word.group(0) if word else "").lower().strip(".")
        initials = re.fullmatch(r"[a-z](\.[a-z])*", before)  # "J." or "U.S."
        if m.group(0).startswith(".") and (before in abbreviations or initials):
            continue
        cuts.append(m.end())
    for m in re.finditer(r"\n", text):
        cuts.append(m.start())
    cuts = sorted(set(cuts)) + [len(text)]
    spans = [_trim(text, a, b, _SPACE) for a, b in pairwise(cuts)]
    return [s for s in spans if s] or [(0, len(text))]


@lru_cache(maxsize=1)
def _marker_patterns() -> tuple[re.Pattern[str], frozenset[str]]:
    words = clause_words()
    terms = sorted(set(words["subordinators"]) | set(words["coordinators"]), key=len, reverse=True)
    alternatives = [re.escape(t) if not t[0].isalpha() else r"(?<![\w$])" + re.escape(t).replace(r"\ ", r"\s+")
                    + r"(?!\w)" for t in terms]
    return re.compile("|".join(alternatives), re.IGNORECASE), frozenset(words["subordinators"])


def clause_spans(text: str) -> list[tuple[int, int]]:
    """The clauses of one sentence as ``(start, end)`` spans, cut at each contrast word of
    ``data/clauses.json`` (the word itself belongs to no clause). A subordinator ("while",
    "despite", "unlike", …) that opens the sentence or follows a cut opens a clause that ends at
    the next comma ("Unlike Ether, Bitcoin fell" → "Ether" | "Bitcoin fell"). A contrast word
    set off by commas on both sides ("Dogecoin, meanwhile, slid") cuts nothing. A comma inside a
    number ("$98,000") is not a comma here. Clauses lose the punctuation at their edges; a
    sentence without a contrast word is one clause, returned as it is."""
    pattern, subordinators = _marker_patterns()
    cuts: list[tuple[int, int]] = []  # (start, end) of each stretch that belongs to no clause
    for m in pattern.finditer(text):
        before, after = text[:m.start()].rstrip(), text[m.end():].lstrip()
        if before.endswith(",") and after.startswith(","):
            continue  # a parenthetical ", meanwhile,"
        cuts.append((m.start(), m.end()))
        previous_end = cuts[-2][1] if len(cuts) > 1 else 0
        opens = not re.search(r"\w", text[previous_end:m.start()])
        if opens and " ".join(m.group(0).lower().split()) in subordinators:
            comma = re.compile(r",(?=\s)").search(text, m.end())
            if comma:
                cuts.append((comma.start(), comma.end()))
    if not cuts:  # one clause: the sentence as it is, stop included
        return [_trim(text, 0, len(text), _SPACE) or (0, len(text))]
    cuts.sort()
    bounds = [0] + [x for cut in cuts for x in cut] + [len(text)]
    spans = [_trim(text, bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    return [s for s in spans if s] or [(0, len(text))]


def enclosing(spans: Sequence[tuple[int, int]], span: tuple[int, int]) -> tuple[int, int]:
    """The span of ``spans`` holding ``span``: the one that overlaps it most (the first on a
    tie), else the nearest before it."""
    start, end = span

    def overlap(s: tuple[int, int]) -> int:
        return min(end, s[1]) - max(start, s[0])

    best = max(spans, key=lambda s: (overlap(s), -abs(s[0] - start)))
    if overlap(best) > 0:
        return best
    before = [s for s in spans if s[0] <= start]
    return before[-1] if before else spans[0]


def target_window(text: str, span: tuple[int, int], max_chars: int) -> tuple[str, tuple[int, int]]:
    """The part of ``text`` a target model reads for the target at ``span``, and the span in it:
    the whole text when it has at most ``max_chars`` characters, else the sentence naming the
    target with as many whole neighbouring sentences (the next one first) as fit."""
    if len(text) <= max_chars:
        return text, span
    sentences = sentence_spans(text)
    first = last = sentences.index(enclosing(sentences, span))
    grew = True
    while grew:
        grew = False
        for cand in (last + 1, first - 1):
            if 0 <= cand < len(sentences):
                lo, hi = min(first, cand), max(last, cand)
                if sentences[hi][1] - sentences[lo][0] <= max_chars:
                    first, last, grew = lo, hi, True
    start = min(sentences[first][0], span[0])
    end = max(sentences[last][1], span[1])
    return text[start:end], (span[0] - start, span[1] - start)


def target_input(text: str, span: tuple[int, int], sep: str) -> str:
    """What a target model reads for the target at ``span`` of ``text``: the target's words as
    the text writes them, the tokenizer's separator token ``sep`` and the text."""
    return f"{text[span[0]:span[1]]} {sep} {text}"


def sentence_of(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The sentence of ``text`` that holds ``span``."""
    return enclosing(sentence_spans(text), span)


def clause_of(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The clause, within its sentence, of ``text`` that holds ``span`` (offsets into ``text``)."""
    s_start, s_end = sentence_of(text, span)
    sentence = text[s_start:s_end]
    inner = (max(span[0] - s_start, 0), min(span[1] - s_start, len(sentence)))
    c_start, c_end = enclosing(clause_spans(sentence), inner)
    return s_start + c_start, s_start + c_end


__all__ = [
    "TARGET_FORMATS",
    "TargetData",
    "TargetExample",
    "TargetSplits",
    "clause_of",
    "clause_spans",
    "clause_words",
    "enclosing",
    "group_split",
    "guess_target_format",
    "locate",
    "read_crypto_targets",
    "read_finentity",
    "read_fiqa_targets",
    "read_semeval_targets",
    "read_targets",
    "sentence_of",
    "sentence_spans",
    "target_input",
    "target_splits",
    "target_window",
]
