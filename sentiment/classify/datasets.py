"""Labelled sentiment data: loaders for the public sets and the fixed evaluation protocol.

Every loader returns a :class:`LabelledTexts` whose labels are indices into
``sentiment.schema.LABELS`` (0 bearish, 1 neutral, 2 bullish), whatever the file used.

The protocol (so our numbers compare with FinBERT's):

* Financial PhraseBank (``Sentences_50Agree.txt``): ``train_test_split(test_size=0.2,
  random_state=0)`` on the file's order gives the test part; 10 % of the rest (again
  ``random_state=0``) is validation. This is ProsusAI/finBERT's ``scripts/datasets.py``.
* Twitter Financial News: ``sent_valid.csv`` is the test set; 10 % of ``sent_train.csv``
  (``random_state=0``) is validation.
* FiQA-2018 Task 1 and SemEval-2017 Task 5 headlines (``--format fiqa|semeval``) carry a
  sentiment *score* in [-1, 1], not a label: a score within :data:`NEUTRAL_BAND` of zero is
  neutral, below it bearish, above it bullish (FiQA: the mean over a sentence's targets). Their
  released test files are unlabelled, so they are training data only.
* Any other file: a file named ``test.*`` (or ``*_test.*``) is all test, a file named
  ``train.*`` has no test rows (10 % validation); a file with neither name is split like
  PhraseBank (20 % test, then 10 % validation).
* Unlabelled text (:func:`read_texts`: one text per line, or a column of a CSV/TSV/JSONL file)
  serves as a distillation *transfer set*: a teacher labels it, a student learns from that.

Training never sees a test text: :func:`training_data` drops from train and validation every
text (normalised) that appears in any test split of the recipe.
"""
from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.model_selection import train_test_split

from sentiment.schema import LABELS

FORMATS = ("phrasebank", "tfns", "csv", "tsv", "jsonl", "fiqa", "semeval")
TEXT_FORMATS = FORMATS + ("lines",)  # what an unlabelled ("split": "transfer") entry may be
UNLABELLED = -1  # the label of a transfer-set text: the teacher's probabilities are its target
SCORED_FORMATS = ("fiqa", "semeval")
SPLITS = ("train", "validation", "test", "all")
SEED = 0  # the protocol's random_state, fixed by FinBERT's published split

# Label names accepted in generic files (case-insensitive) → LABELS index.
_LABEL_NAMES = {
    "bearish": 0, "negative": 0, "neg": 0,
    "neutral": 1, "neu": 1,
    "bullish": 2, "positive": 2, "pos": 2,
}
# Scores in [-1, 1] (FiQA, SemEval-2017) whose magnitude is below this are neutral. Chosen where
# the PhraseBank-trained classifier's own labels turn from neutral to bearish or bullish on those
# headlines (−0.25 and +0.3: it calls most |score| < 0.25 headlines neutral), so the mapped
# labels mean what the PhraseBank labels mean. A recipe entry may set its own "neutral_band".
NEUTRAL_BAND = 0.25
# Twitter Financial News integer labels: 0 Bearish, 1 Bullish, 2 Neutral.
_TFNS_LABELS = {"0": 0, "1": 2, "2": 1}


class DataError(ValueError):
    """A data file that cannot be read as labelled sentiment data (says which file and line)."""


class Unlabelled(DataError):
    """A data file in a known format whose rows carry no labels (a released, unscored test set)."""


@dataclass
class LabelledTexts:
    """Texts with labels (indices into ``LABELS``) and where they came from."""

    texts: list[str]
    labels: list[int]
    name: str = ""
    sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError("texts and labels differ in length")
        if not self.sources:
            self.sources = [self.name] * len(self.texts)

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: Iterable[int], name: str | None = None) -> LabelledTexts:
        idx = list(indices)
        return LabelledTexts([self.texts[i] for i in idx], [self.labels[i] for i in idx],
                             name if name is not None else self.name, [self.sources[i] for i in idx])

    def counts(self) -> dict[str, int]:
        """Examples per label, and ``unlabelled`` (transfer-set texts) when there are any."""
        counts = {lab: sum(1 for y in self.labels if y == i) for i, lab in enumerate(LABELS)}
        unlabelled = sum(1 for y in self.labels if y == UNLABELLED)
        return {**counts, "unlabelled": unlabelled} if unlabelled else counts

    @staticmethod
    def concat(parts: Sequence[LabelledTexts], name: str = "") -> LabelledTexts:
        return LabelledTexts([t for p in parts for t in p.texts], [y for p in parts for y in p.labels],
                             name, [s for p in parts for s in p.sources])


@dataclass
class Splits:
    """The protocol's three disjoint parts of one data set."""

    train: LabelledTexts
    validation: LabelledTexts
    test: LabelledTexts

    def get(self, split: str) -> LabelledTexts:
        if split == "all":
            return LabelledTexts.concat([self.train, self.validation, self.test], self.test.name)
        if split not in ("train", "validation", "test"):
            raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        return getattr(self, split)


# --------------------------------------------------------------------------- labels
def label_index(value: object, where: str = "") -> int:
    """Index into ``LABELS`` of a label name (bearish/neutral/bullish or negative/neutral/positive,
    any case). Integers are refused: their meaning differs between data sets."""
    key = str(value).strip().lower()
    if key in _LABEL_NAMES:
        return _LABEL_NAMES[key]
    hint = " (integer labels are ambiguous: use --format tfns for Twitter Financial News)" \
        if key.lstrip("-").isdigit() else ""
    raise DataError(f"{where}unknown label {value!r}; expected bearish/neutral/bullish or "
                    f"negative/neutral/positive{hint}")


def normalise(text: str) -> str:
    """Text as compared for overlap between splits: lower case, single spaces."""
    return " ".join(re.findall(r"\w+", text.lower()))


# --------------------------------------------------------------------------- readers
def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # the original PhraseBank release is ISO-8859-1


def read_phrasebank(path: str | Path) -> LabelledTexts:
    """Financial PhraseBank ``sentence@label`` lines (UTF-8 or latin-1), in file order."""
    path = Path(path)
    texts: list[str] = []
    labels: list[int] = []
    for n, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        text, sep, label = line.rpartition("@")
        if not sep or not text.strip():
            raise DataError(f"{path}:{n}: expected 'sentence@label', got {line[:80]!r}")
        texts.append(text.strip())
        labels.append(label_index(label, f"{path}:{n}: "))
    return LabelledTexts(texts, labels, path.stem)


def read_tfns(path: str | Path) -> LabelledTexts:
    """Twitter Financial News ``text,label`` CSV (0 bearish, 1 bullish, 2 neutral)."""
    path = Path(path)
    texts: list[str] = []
    labels: list[int] = []
    reader = csv.DictReader(_read_text(path).splitlines(keepends=True))
    if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
        raise DataError(f"{path}: expected a CSV header with 'text' and 'label', got {reader.fieldnames}")
    for n, row in enumerate(reader, 2):
        label = (row.get("label") or "").strip()
        if label not in _TFNS_LABELS:
            raise DataError(f"{path}: row {n}: TFNS label must be 0, 1 or 2, got {label!r}")
        texts.append((row.get("text") or "").strip())
        labels.append(_TFNS_LABELS[label])
    return LabelledTexts(texts, labels, path.stem)


def _table_rows(path: Path, fmt: str) -> tuple[list[str], Iterator[tuple[str, dict]]]:
    """(header, then (where, row) pairs) of a CSV, TSV or JSON Lines file; ``where`` names the
    line or row for error messages. CSV/TSV keys are lower-cased (headers vary in case); a line
    that is not JSON raises :class:`DataError` when it is reached, one that is not an object
    reads as an empty row."""
    text = _read_text(path)
    if fmt == "jsonl":
        def objects() -> Iterator[tuple[str, dict]]:
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{n}: not JSON ({exc.msg})") from None
                yield f"{path}:{n}: ", row if isinstance(row, dict) else {}
        return [], objects()
    if fmt in ("csv", "tsv"):
        reader = csv.DictReader(text.splitlines(keepends=True), delimiter="\t" if fmt == "tsv" else ",")
        return list(reader.fieldnames or []), (
            (f"{path}: row {n}: ", {(k or "").strip().lower(): v for k, v in row.items()})
            for n, row in enumerate(reader, 2))
    raise DataError(f"unknown table format {fmt!r}")


def read_table(path: str | Path, fmt: str) -> LabelledTexts:
    """A CSV, TSV or JSON Lines file with ``text`` and ``label`` fields (label names)."""
    path = Path(path)
    texts: list[str] = []
    labels: list[int] = []
    header, rows = _table_rows(path, fmt)
    if fmt != "jsonl" and not {"text", "label"} <= {f.strip().lower() for f in header}:
        raise DataError(f"{path}: expected a header with 'text' and 'label', got {header}")
    for where, row in rows:
        if fmt == "jsonl" and ("text" not in row or "label" not in row):
            raise DataError(f"{where}expected an object with 'text' and 'label'")
        label = row.get("label")
        texts.append(str(row.get("text") or "").strip())
        labels.append(label_index("" if label is None else label, where))
    return LabelledTexts(texts, labels, path.stem)


def score_label(score: float, band: float = NEUTRAL_BAND) -> int:
    """Index into ``LABELS`` of a sentiment score in [-1, 1]: neutral within ``band`` of zero."""
    if score <= -band:
        return 0
    return 2 if score >= band else 1


def _score(value: object, where: str) -> float:
    try:
        score = float(str(value).strip())
    except ValueError:
        raise DataError(f"{where}sentiment score {value!r} is not a number") from None
    if not -1.0 <= score <= 1.0:
        raise DataError(f"{where}sentiment score {score} is outside [-1, 1]")
    return score


def _scored_rows(doc: object, fmt: str, path: Path) -> list[tuple[str, object, list[object]]]:
    """(where, text, scores) of each row of a parsed FiQA or SemEval file; missing scores dropped."""
    def fields(row: object, text_key: str) -> tuple[object, list[object]]:
        if not isinstance(row, dict):
            return None, []
        if fmt == "fiqa":  # one score per target of the sentence
            scores = [t.get("sentiment_score") for t in row.get("info") or [] if isinstance(t, dict)]
        else:
            scores = [row.get("sentiment")]
        return row.get(text_key), [s for s in scores if s is not None]

    if fmt == "fiqa":
        if not isinstance(doc, dict):
            raise DataError(f"{path}: FiQA data is a JSON object keyed by sentence id")
        return [(f"{path}: sentence {key}: ", *fields(row, "sentence")) for key, row in doc.items()]
    if fmt == "semeval":
        if not isinstance(doc, list):
            raise DataError(f"{path}: SemEval-2017 headlines are a JSON array")
        return [(f"{path}: item {n}: ", *fields(row, "title")) for n, row in enumerate(doc, 1)]
    raise DataError(f"unknown scored format {fmt!r}; use fiqa or semeval")


def read_scored(path: str | Path, fmt: str, band: float = NEUTRAL_BAND) -> LabelledTexts:
    """FiQA-2018 Task 1 (a JSON object of ``{"sentence", "info": [{"sentiment_score"}, …]}``,
    one score per target, averaged) or SemEval-2017 Task 5 headlines (a JSON array of
    ``{"title", "sentiment"}``); scores become labels with :func:`score_label`. Raises
    :class:`Unlabelled` for a file without any score (the released test files)."""
    path = Path(path)
    if not 0.0 <= band < 1.0:
        raise DataError(f"{path}: neutral band {band} must be in [0, 1)")
    try:
        doc = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    rows = _scored_rows(doc, fmt, path)
    if rows and not any(scores for _, _, scores in rows):
        raise Unlabelled(f"{path}: no sentiment scores (an unlabelled test file?)")
    texts: list[str] = []
    labels: list[int] = []
    for where, text, scores in rows:
        if not isinstance(text, str) or not scores:
            raise DataError(f"{where}expected a text and at least one sentiment score")
        values = [_score(s, where) for s in scores]
        texts.append(text.strip())
        labels.append(score_label(sum(values) / len(values), band))
    return LabelledTexts(texts, labels, path.stem)


def read_texts(path: str | Path, fmt: str = "auto", column: str = "text") -> LabelledTexts:
    """The texts of a file without their labels (each labelled :data:`UNLABELLED`): one text per
    line (``lines``), the ``column`` field of a CSV, TSV or JSON Lines file, or the texts of any
    labelled format (a FiQA or SemEval test file too: its missing scores do not matter here).
    Empty texts are skipped. ``auto`` reads a ``.txt`` file as lines unless it is PhraseBank's."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if fmt == "auto":
        plain = path.suffix.lower() == ".txt" and not path.name.lower().startswith("sentences_")
        fmt = "lines" if plain else guess_format(path)
    if fmt == "lines":
        texts = _read_text(path).splitlines()
    elif fmt in ("csv", "tsv", "jsonl"):
        header, rows = _table_rows(path, fmt)
        key = column if fmt == "jsonl" else column.strip().lower()
        if fmt != "jsonl" and key not in {f.strip().lower() for f in header}:
            raise DataError(f"{path}: no {column!r} column; the header has {header}")
        texts = []
        for where, row in rows:
            if fmt == "jsonl" and not isinstance(row.get(key), str):
                raise DataError(f"{where}expected an object with a text field {column!r}")
            texts.append(str(row.get(key) or ""))
    elif fmt in SCORED_FORMATS:
        try:
            doc = json.loads(_read_text(path))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
        texts = [text if isinstance(text, str) else "" for _, text, _ in _scored_rows(doc, fmt, path)]
    elif fmt in FORMATS:
        texts = read(path, fmt).texts
    else:
        raise DataError(f"unknown format {fmt!r}; use one of {', '.join(TEXT_FORMATS)}")
    texts = [t.strip() for t in texts if t and t.strip()]
    return LabelledTexts(texts, [UNLABELLED] * len(texts), path.stem)


def _sniff_json(path: Path) -> str:
    """fiqa, semeval or jsonl for a ``.json`` file, from its first bytes."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return "jsonl"
    compact = re.sub(r"\s+", "", head)
    if compact.startswith("[") and '"title"' in compact:
        return "semeval"
    if compact.startswith("{") and '"sentence"' in compact and '"info"' in compact:
        return "fiqa"
    return "jsonl"


def guess_format(path: str | Path) -> str:
    """The format of a data path from its name (``Sentences_*.txt`` → phrasebank, ``sent_*.csv``
    or a folder holding them → tfns, else the extension)."""
    path = Path(path)
    if path.is_dir():
        if (path / "sent_valid.csv").exists():
            return "tfns"
        raise DataError(f"{path}: a folder is only understood for Twitter Financial News "
                        "(sent_train.csv + sent_valid.csv) or train/test files with --format")
    name = path.name.lower()
    if name.startswith("sentences_") or name.endswith(".txt"):
        return "phrasebank"
    if name.startswith("sent_") and name.endswith(".csv"):
        return "tfns"
    ext = path.suffix.lower().lstrip(".")
    if ext in ("csv", "tsv", "jsonl"):
        return ext
    if ext == "json":
        return _sniff_json(path)
    raise DataError(f"{path}: cannot tell the format from the name; pass --format ({'|'.join(FORMATS)})")


def read(path: str | Path, fmt: str = "auto", neutral_band: float = NEUTRAL_BAND) -> LabelledTexts:
    """Every row of one data file, labels mapped to ``LABELS`` indices (``neutral_band``: for
    the scored formats, see :func:`score_label`)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt = guess_format(path) if fmt == "auto" else fmt
    if fmt == "phrasebank":
        return read_phrasebank(path)
    if fmt == "tfns":
        return read_tfns(path)
    if fmt in ("csv", "tsv", "jsonl"):
        return read_table(path, fmt)
    if fmt in SCORED_FORMATS:
        return read_scored(path, fmt, neutral_band)
    raise DataError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


# --------------------------------------------------------------------------- protocol
def _split(data: LabelledTexts, test_size: float) -> tuple[LabelledTexts, LabelledTexts]:
    if len(data) < 2:
        return data, data.take([])
    idx = list(range(len(data)))
    keep, held = train_test_split(idx, test_size=test_size, random_state=SEED)
    return data.take(keep), data.take(held)


def _role(path: Path) -> str:
    """"test", "train" or "" from a file name (``test.jsonl``, ``crypto_test.csv``, ``sent_valid``)."""
    stem = path.stem.lower()
    if stem in ("test", "sent_valid") or stem.endswith(("_test", "-test")):
        return "test"
    if stem in ("train", "sent_train") or stem.endswith(("_train", "-train")):
        return "train"
    return ""


def _sibling(path: Path, role: str) -> Path | None:
    """The train file beside a test file or the reverse (``test.jsonl`` ↔ ``train.jsonl``)."""
    stem = path.stem
    swaps = {"test": ("train",), "train": ("test",), "sent_valid": ("sent_train",), "sent_train": ("sent_valid",)}
    for old, news in swaps.items():
        if stem.lower() == old or stem.lower().endswith(("_" + old, "-" + old)):
            for new in news:
                cand = path.with_name(stem[: len(stem) - len(old)] + new + path.suffix)
                if cand.exists():
                    return cand
    return None


def splits(path: str | Path, fmt: str = "auto", neutral_band: float = NEUTRAL_BAND) -> Splits:
    """The protocol's train/validation/test parts of a data path (see the module docstring).

    ``path`` may be a PhraseBank file, the TFNS folder or one of its files, or a generic file;
    for a ``train``/``test`` pair of files, either one (the other is found beside it). An
    unlabelled test file beside a train file (FiQA's) counts as no test file."""
    path = Path(path)
    fmt = guess_format(path) if fmt == "auto" else fmt
    empty = LabelledTexts([], [], path.stem)
    if path.is_dir():
        if fmt != "tfns":
            ext = "json" if fmt in SCORED_FORMATS else fmt
            found = [p for p in sorted(path.iterdir()) if _role(p) == "test" and p.suffix.lstrip(".") == ext]
            if not found:
                raise DataError(f"{path}: no test.{ext} in the folder")
            return splits(found[0], fmt, neutral_band)
        path = path / "sent_valid.csv"
    if fmt == "phrasebank":
        rest, test = _split(read(path, fmt, neutral_band), 0.2)
        train, val = _split(rest, 0.1)
        return Splits(train, val, test)
    role = _role(path)
    if role == "":
        rest, test = _split(read(path, fmt, neutral_band), 0.2)
        train, val = _split(rest, 0.1)
        return Splits(train, val, test)
    other = _sibling(path, role)
    test_file = path if role == "test" else other
    train_file = path if role == "train" else other
    test = empty
    if test_file:
        try:
            test = read(test_file, fmt, neutral_band)
        except Unlabelled:
            if test_file == path:
                raise
    if train_file:
        train, val = _split(read(train_file, fmt, neutral_band), 0.1)
    else:
        train, val = empty, empty
    return Splits(train, val, test)


def drop_overlap(data: LabelledTexts, exclude: set[str]) -> LabelledTexts:
    """``data`` without the texts whose normalised form is in ``exclude`` (and without empties)."""
    return data.take([i for i, t in enumerate(data.texts) if t.strip() and normalise(t) not in exclude])


@dataclass
class TrainingData:
    """What a recipe trains and selects on, and the test sets it is judged by."""

    train: LabelledTexts
    validation: LabelledTexts
    tests: dict[str, LabelledTexts]


def training_data(sources: Sequence[dict], root: Path | None = None) -> TrainingData:
    """Train/validation data of a recipe's ``data`` entries (``{"path", "format", "name",
    "optional", "split", "neutral_band", "column"}``), with every test text of every entry
    removed from train and validation. ``"split"`` says what an entry is for:

    * ``"protocol"`` (the default): train, validation and test parts as the module docstring says;
    * ``"train"``: every row trains (no validation or test part: extra data that the model is
      not selected or judged on, so the validation set stays that of the other entries);
    * ``"transfer"``: unlabelled texts (:func:`read_texts`, ``"column"`` names the text field)
      that only a teacher's probabilities teach; texts that are also validation or test texts
      are dropped from it, so the validation set stays that of the other entries."""
    parts: list[tuple[str, Splits]] = []
    transfer: list[LabelledTexts] = []
    for entry in sources:
        path = entry_path(entry, root)
        if path is None:
            continue
        name = entry.get("name") or path.stem
        fmt, band = entry.get("format", "auto"), entry.get("neutral_band", NEUTRAL_BAND)
        if isinstance(band, bool) or not isinstance(band, (int, float)):
            raise DataError(f"{entry['path']}: \"neutral_band\" must be a number, got {band!r}")
        role = entry.get("split", "protocol")
        if role == "transfer":
            rows = read_texts(path, fmt, str(entry.get("column", "text")))
            rows.name, rows.sources = name, [name] * len(rows)
            transfer.append(rows)
            continue
        if role == "train":
            rows = read(path, fmt, band)
            sp = Splits(rows, rows.take([]), rows.take([]))
        elif role == "protocol":
            sp = splits(path, fmt, band)
        else:
            raise DataError(f"{entry['path']}: \"split\" must be \"protocol\", \"train\" or "
                            f"\"transfer\", got {role!r}")
        for part in (sp.train, sp.validation, sp.test):
            part.name = name
            part.sources = [name] * len(part)
        parts.append((name, sp))
    exclude = {normalise(t) for _, sp in parts for t in sp.test.texts}
    train = LabelledTexts.concat([drop_overlap(sp.train, exclude) for _, sp in parts], "train")
    val_exclude = exclude | {normalise(t) for t in train.texts}
    validation = LabelledTexts.concat([drop_overlap(sp.validation, val_exclude) for _, sp in parts],
                                      "validation")
    held = exclude | {normalise(t) for t in validation.texts}
    train = LabelledTexts.concat([train] + [drop_overlap(rows, held) for rows in transfer], "train")
    return TrainingData(train, validation, {name: sp.test for name, sp in parts if len(sp.test)})


def repo_root() -> Path:
    """The folder holding the package (the repository root of an editable install)."""
    return Path(__file__).resolve().parents[2]


def entry_path(entry: dict, root: Path | None = None) -> Path | None:
    """The file of one recipe data entry; ``None`` when it is missing and marked ``"optional"``
    (a missing required file is a :class:`DataError`)."""
    path = resolve_path(entry["path"], root)
    if path.exists():
        return path
    if entry.get("optional"):
        return None
    raise DataError(f"{entry['path']}: not found (resolved to {path})")


def resolve_path(value: str | Path, root: Path | None = None) -> Path:
    """A recipe path: as given if it exists (absolute or from the working folder), else relative
    to ``root`` (the repository root by default). ``$SHARED`` expands to the shared data root
    (env ``SENTIMENT_SHARED``, else ``../shared`` beside the repository)."""
    import os

    text = str(value)
    if "$SHARED" in text:
        shared = os.environ.get("SENTIMENT_SHARED") or str(repo_root().parent / "shared")
        text = text.replace("$SHARED", shared)
    path = Path(text).expanduser()
    if path.is_absolute() or path.exists():
        return path
    return (root or repo_root()) / path
