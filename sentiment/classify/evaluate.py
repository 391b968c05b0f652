"""Measure a classifier (the fine-tuned model or a baseline) on a data set under the protocol.

``evaluate(...)`` returns one flat JSON-able dict: ``n``, ``accuracy``, ``macro_f1``,
per-class precision/recall/F1/support, the confusion matrix with its label order, ``ece``
(calibration error of the probabilities), ``interval`` (95% percentile-bootstrap bounds of
accuracy and macro-F1) and, for the PhraseBank 50Agree file with
``Sentences_AllAgree.txt`` beside it, ``allagree_accuracy`` on the test sentences that all
annotators agreed on (the FinBERT paper's second column); with the 66Agree and 75Agree files
there too, ``agreement``: the accuracy at each level of annotator agreement (``100``,
``75-99``, ``66-74``, ``50-65`` per cent), which shows how much of the error lies where the
annotators themselves split.

``evaluate_targets(...)`` does the same for target-level data (``sentiment.classify.targets``:
one row per text and target) and a :class:`TargetScorer`; besides the keys above it gives
``mixed`` (the targets of texts whose targets carry different labels: where copying one
score to every target must fail), ``by_category`` and ``by_kind`` (where the rows have
them) and ``dropped`` (targets of the whole file that the loader left out, by reason). Two baselines are scorers:
``sentence-copy`` (the sentence classifier's score of the sentence naming the target, copied
to it: what tagging does today) and ``clause`` (the sentence classifier on the target's clause).
A model folder trained for targets too (``SentimentModel.supports_targets``) is a scorer itself.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from sentiment.classify import calibration
from sentiment.classify.datasets import (
    SPLITS,
    UNLABELLED,
    DataError,
    LabelledTexts,
    guess_format,
    normalise,
    read,
    resolve_path,
    splits,
    training_data,
)
from sentiment.classify.targets import (
    TargetData,
    clause_of,
    guess_target_format,
    sentence_of,
    target_splits,
)
from sentiment.schema import LABELS, Score

BASELINES = ("tfidf", "lexicon")
TARGET_BASELINES = ("sentence-copy", "clause")
# PhraseBank's files, most agreement first: a sentence's level is the first file it is in.
AGREEMENT_LEVELS = (("100", "Sentences_AllAgree.txt"), ("75-99", "Sentences_75Agree.txt"),
                    ("66-74", "Sentences_66Agree.txt"), ("50-65", "Sentences_50Agree.txt"))
RECIPE_FILE = "train_config.json"


class Classifier(Protocol):
    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


def metrics(labels: Sequence[int], probs: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores, confusion matrix and ECE of ``probs`` vs ``labels``."""
    y = np.asarray(labels, dtype=int)
    probs = np.asarray(probs, dtype=np.float64).reshape(len(y), len(LABELS))
    pred = probs.argmax(axis=1) if len(y) else np.zeros(0, dtype=int)
    idx = list(range(len(LABELS)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=idx, zero_division=0)
    return {
        "n": len(y),
        "accuracy": round(float((pred == y).mean()), 4) if len(y) else 0.0,
        "macro_f1": round(float(np.mean(f)), 4),
        "per_class": {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                            "f1": round(float(f[i]), 4), "support": int(s[i])} for i, lab in enumerate(LABELS)},
        "confusion_matrix": {"labels": list(LABELS), "rows": "true", "columns": "predicted",
                             "matrix": confusion_matrix(y, pred, labels=idx).tolist()},
        "ece": round(calibration.ece(probs, y), 4),
        "interval": bootstrap_interval(y, pred),
    }


def bootstrap_interval(labels: Sequence[int] | np.ndarray, predicted: Sequence[int] | np.ndarray, *,
                       resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Percentile-bootstrap interval of accuracy and macro-F1 (rows resampled with replacement,
    fixed seed, so the same predictions always give the same interval). A test set of a few
    thousand sentences leaves a point or two of chance either way; the interval says how much,
    so a gap between two figures can be read against it."""
    y, pred = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    k, n = len(LABELS), len(y)
    cell = y * k + pred
    rng = np.random.default_rng(seed)
    block = max(1, 4_000_000 // n)  # resamples drawn per pass: memory stays flat on a large --split all
    cm = np.zeros((resamples, k, k), dtype=np.int64)
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        cells = cell[rng.integers(0, n, size=(size, n))] + (np.arange(size) * k * k)[:, None]
        cm[start:start + size] = np.bincount(cells.ravel(), minlength=size * k * k).reshape(size, k, k)
    accuracy, f1 = scores_from_confusion(cm)
    tail = (1 - level) / 2 * 100

    def bounds(values: np.ndarray) -> list[float]:
        return [round(float(v), 4) for v in np.percentile(values, [tail, 100 - tail])]

    return {"level": level, "resamples": resamples, "accuracy": bounds(accuracy), "macro_f1": bounds(f1.mean(-1))}


def scores_from_confusion(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and per-class F1 from confusion matrices (``[..., true, predicted]``); a class
    neither present nor predicted scores F1 0, as scikit-learn's ``zero_division=0`` does."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support, predicted = cm.sum(-1), cm.sum(-2)
    accuracy = tp.sum(-1) / cm.sum((-2, -1))
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0)
    return accuracy, f1


def select(data_path: str | Path, fmt: str = "auto", split: str = "test") -> LabelledTexts:
    """The rows of ``data_path`` that ``split`` names under the protocol (``all``: every row)."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    path = Path(data_path)
    if split == "all" and path.is_file():
        return read(path, fmt)
    return splits(path, fmt).get(split)


def allagree_file(data_path: str | Path) -> Path | None:
    """``Sentences_AllAgree.txt`` beside a PhraseBank 50Agree file, if there."""
    path = Path(data_path)
    if path.is_file() and "50agree" in path.name.lower():
        cand = path.with_name("Sentences_AllAgree.txt")
        return cand if cand.exists() else None
    return None


def agreement_levels(data_path: str | Path) -> dict[str, str]:
    """Normalised text → annotator agreement level (see :data:`AGREEMENT_LEVELS`) for a
    PhraseBank 50Agree file with the other three files beside it; empty otherwise."""
    path = Path(data_path)
    if not (path.is_file() and "50agree" in path.name.lower()):
        return {}
    files = [(level, path.with_name(name)) for level, name in AGREEMENT_LEVELS]
    if not all(file.exists() for _, file in files):
        return {}
    levels: dict[str, str] = {}
    for level, file in files:
        for text in read(file, "phrasebank").texts:
            levels.setdefault(normalise(text), level)
    return levels


def recipe_path(model: str | Path | None = None) -> Path:
    """The training recipe of a model folder (default: the default model's)."""
    from sentiment.classify.model import resolve_model_path

    folder = resolve_model_path(model)
    return folder / RECIPE_FILE


class Ensemble:
    """Several classifiers as one: the mean of their probabilities (``--model`` repeated)."""

    def __init__(self, members: Sequence[Classifier]) -> None:
        if len(members) < 2:
            raise DataError("an ensemble needs at least two models")
        self.members = list(members)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return np.mean([m.predict_proba(texts, batch_size=batch_size) for m in self.members], axis=0)


def load_classifier(spec: str | Path | Sequence[str] | None, *, recipe: str | Path | None = None,
                    backend: str = "auto", log: Callable[[str], None] | None = None) -> Classifier:
    """``tfidf`` (trained now on the recipe's training data), ``lexicon``, or a model folder or
    profile such as ``fast`` (``None``: the default model); a list of several is an ``Ensemble``."""
    from sentiment.classify.baselines import LexiconScorer, TfidfLogReg
    from sentiment.classify.model import SentimentModel
    from sentiment.classify.training import TrainConfig

    if spec is not None and not isinstance(spec, (str, Path)):
        specs = list(spec)
        if len(specs) != 1:
            return Ensemble([load_classifier(one, recipe=recipe, backend=backend, log=log) for one in specs])
        spec = specs[0]
    if spec == "lexicon":
        return LexiconScorer()
    if spec == "tfidf":
        config = TrainConfig.load(recipe or recipe_path())
        train = training_data(config.data).train
        # A supervised baseline: the labelled examples only (a distillation recipe's transfer
        # texts have no label of their own).
        train = train.take(i for i, y in enumerate(train.labels) if y != UNLABELLED)
        if log:
            log(f"training the TF-IDF baseline on {len(train)} labelled examples of the recipe")
        return TfidfLogReg(seed=config.seed).fit(train.texts, train.labels)
    return SentimentModel.load(spec, backend=backend)


def evaluate(data_path: str | Path, fmt: str = "auto", split: str = "test",
             model: str | Path | Sequence[str] | None = None, *, recipe: str | Path | None = None,
             subset: str | None = None, batch_size: int = 64, backend: str = "auto",
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score ``model`` (several: their ensemble) on the ``split`` of ``data_path``; see the module
    docstring for keys."""
    data = select(data_path, fmt, split)
    if subset not in (None, "", "allagree"):
        raise DataError(f"unknown subset {subset!r}; the only subset is 'allagree'")
    agree_path = allagree_file(data_path)
    levels = agreement_levels(data_path)  # holds the AllAgree sentences too: read the files once
    agree: set[str] = {t for t, level in levels.items() if level == AGREEMENT_LEVELS[0][0]}
    if agree_path is not None and not levels:
        agree = {normalise(t) for t in read(agree_path, "phrasebank").texts}
    if subset == "allagree":
        if agree_path is None:
            raise DataError("--subset allagree needs the PhraseBank Sentences_50Agree.txt file with "
                            "Sentences_AllAgree.txt beside it")
        data = data.take([i for i, t in enumerate(data.texts) if normalise(t) in agree])
    if not len(data):
        raise DataError(f"{data_path}: the {split} split is empty")
    classifier = load_classifier(model, recipe=recipe, backend=backend, log=log)
    probs = classifier.predict_proba(data.texts, batch_size=batch_size)
    if fmt == "auto":
        fmt = guess_format(data_path)
    result: dict[str, Any] = {"data": str(data_path), "format": fmt, "split": split,
                              "subset": subset or "all",
                              "model": _model_name(model)}
    backends = {type(m.backend).__name__ for m in getattr(classifier, "members", [classifier]) if hasattr(m, "backend")}
    if backends:
        result["backend"] = " + ".join(sorted(backends))
    result.update(metrics(data.labels, probs))
    if agree and subset != "allagree":
        sel = np.asarray([normalise(t) in agree for t in data.texts])
        if sel.any():
            pred = probs.argmax(axis=1)
            y = np.asarray(data.labels)
            result["allagree_n"] = int(sel.sum())
            result["allagree_accuracy"] = round(float((pred[sel] == y[sel]).mean()), 4)
    if levels:
        result["agreement"] = _by_level(data, probs, levels)
    return result


def _by_level(data: LabelledTexts, probs: np.ndarray, levels: dict[str, str]) -> dict[str, dict[str, Any]]:
    """``n`` and ``accuracy`` of the rows at each agreement level that has any."""
    pred = probs.argmax(axis=1)
    y = np.asarray(data.labels)
    own = np.asarray([levels.get(normalise(t), "") for t in data.texts])
    out: dict[str, dict[str, Any]] = {}
    for level, _ in AGREEMENT_LEVELS:
        sel = own == level
        if sel.any():
            out[level] = {"n": int(sel.sum()), "accuracy": round(float((pred[sel] == y[sel]).mean()), 4)}
    return out


def _model_name(model: str | Path | Sequence[str] | None) -> str:
    """``default``, the model argument, or its members joined by `` + ``."""
    members = list(model) if isinstance(model, (list, tuple)) else [model] if model else []
    return " + ".join(str(m) for m in members) or "default"


# --------------------------------------------------------------------------- targets
Span = tuple[int, int]


class TargetScorer(Protocol):
    """Scores the sentiment of each text toward the target at its span (``text[start:end]``)."""

    def score_targets(self, pairs: list[tuple[str, Span]]) -> list[Score]: ...


class _PieceScorer(ABC):
    """A target baseline: the sentence classifier on one piece of the text around the target
    (:meth:`piece`). Each distinct piece is scored once."""

    name = ""

    def __init__(self, classifier: Classifier, batch_size: int = 64) -> None:
        self.classifier, self.batch_size = classifier, batch_size

    @abstractmethod
    def piece(self, text: str, span: Span) -> Span:
        """The span of ``text`` that the classifier scores for the target at ``span``."""

    def score_targets(self, pairs: list[tuple[str, Span]]) -> list[Score]:
        pieces = [text[slice(*self.piece(text, span))] for text, span in pairs]
        distinct = list(dict.fromkeys(pieces))
        if not distinct:
            return []
        probs = self.classifier.predict_proba(distinct, batch_size=self.batch_size)
        scores = {piece: Score.from_probs(row.tolist()) for piece, row in zip(distinct, probs)}
        return [scores[piece] for piece in pieces]


class SentenceCopy(_PieceScorer):
    """The sentence that names the target, scored as a whole: every target of a sentence gets
    the same score (the tag record's per-asset sentiment today)."""

    name = "sentence-copy"

    def piece(self, text: str, span: Span) -> Span:
        return sentence_of(text, span)


class ClauseScorer(_PieceScorer):
    """The clause that names the target, cut at contrast words ("while", "but", "even as"…)."""

    name = "clause"

    def piece(self, text: str, span: Span) -> Span:
        return clause_of(text, span)


def load_target_scorer(spec: str | TargetScorer | None, *, sentence_model: str | Path | Sequence[str] | None = None,
                       recipe: str | Path | None = None, backend: str = "auto", batch_size: int = 64,
                       log: Callable[[str], None] | None = None) -> TargetScorer:
    """``sentence-copy`` (also ``None``) or ``clause`` over the sentence classifier
    ``sentence_model`` (anything :func:`load_classifier` takes), a model folder or profile
    whose model serves targets, or a :class:`TargetScorer` itself."""
    from sentiment.classify.model import SentimentModel, resolve_model_path

    if spec is not None and not isinstance(spec, str):
        return spec
    spec = spec or TARGET_BASELINES[0]
    folder = resolve_model_path(spec) if spec not in TARGET_BASELINES else None
    if folder is not None and (folder / "config.json").exists():
        model = SentimentModel.load(folder, backend=backend)
        if not model.supports_targets:
            raise DataError(f"{spec}: a sentence model, not trained for targets; score it with "
                            f"--model {' or '.join(TARGET_BASELINES)} --sentence-model {spec}")
        return model
    if spec not in TARGET_BASELINES:
        raise DataError(f"unknown target scorer {spec!r}; use {' or '.join(TARGET_BASELINES)} "
                        "(--sentence-model picks the sentence classifier they apply)")
    classifier = load_classifier(sentence_model, recipe=recipe, backend=backend, log=log)
    return (SentenceCopy if spec == "sentence-copy" else ClauseScorer)(classifier, batch_size)


def target_metrics(data: TargetData, scores: Sequence[Score]) -> dict[str, Any]:
    """:func:`metrics` of ``scores`` against the labels of ``data``, with ``mixed``,
    ``by_category`` and ``by_kind`` (module docstring)."""
    if len(scores) != len(data):
        raise ValueError(f"{len(scores)} scores for {len(data)} targets")
    probs = np.asarray([[s.probs.get(lab, 0.0) for lab in LABELS] for s in scores], dtype=np.float64)
    y = np.asarray(data.labels, dtype=int)
    result = metrics(data.labels, probs.reshape(len(y), len(LABELS)))
    right = probs.argmax(axis=1) == y if len(y) else np.zeros(0, dtype=bool)

    def subset(mask: np.ndarray) -> dict[str, Any]:
        return {"n": int(mask.sum()), "accuracy": round(float(right[mask].mean()), 4)}

    labels_of: dict[str, set[int]] = {}
    for ex in data.examples:
        labels_of.setdefault(ex.text, set()).add(ex.label)
    mixed = np.asarray([len(labels_of[ex.text]) > 1 for ex in data.examples], dtype=bool)
    if mixed.any():
        result["mixed"] = {**subset(mixed), "texts": sum(1 for v in labels_of.values() if len(v) > 1)}
    for key, field_name in (("by_category", "category"), ("by_kind", "kind")):
        values = np.asarray([getattr(ex, field_name) for ex in data.examples])
        groups = sorted({v for v in values if v})
        if groups:
            result[key] = {g: subset(values == g) for g in groups}
    return result


def evaluate_targets(data_path: str | Path, fmt: str = "auto", split: str = "test",
                     model: str | TargetScorer | None = None, *,
                     sentence_model: str | Path | Sequence[str] | None = None, recipe: str | Path | None = None,
                     batch_size: int = 64, backend: str = "auto",
                     log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score a target scorer (``model``: ``sentence-copy``, the default, ``clause`` or a
    :class:`TargetScorer`) on the ``split`` of a target-level data path (the fixed split of
    ``sentiment.classify.targets.target_splits``); see the module docstring for keys."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    fmt = (guess_target_format(data_path) or "auto") if fmt == "auto" else fmt
    data = target_splits(data_path, fmt).get(split)
    if not len(data):
        raise DataError(f"{data_path}: the {split} split holds no target")
    scorer = load_target_scorer(model, sentence_model=sentence_model, recipe=recipe, backend=backend,
                                batch_size=batch_size, log=log)
    scores = scorer.score_targets([(ex.text, ex.span) for ex in data.examples])
    name = model if isinstance(model, str) else getattr(scorer, "name", "") or type(scorer).__name__
    result: dict[str, Any] = {"data": str(data_path), "format": fmt, "split": split, "task": "target",
                              "model": name or TARGET_BASELINES[0]}
    classifier = getattr(scorer, "classifier", None)
    if getattr(scorer, "supports_targets", False):  # a model folder that serves targets
        result["backend"] = type(getattr(scorer, "backend", None)).__name__
    elif classifier is not None:
        result["sentence_model"] = _model_name(sentence_model)
        backends = {type(m.backend).__name__ for m in getattr(classifier, "members", [classifier])
                    if hasattr(m, "backend")}
        if backends:
            result["backend"] = " + ".join(sorted(backends))
    result["texts"] = len({ex.text for ex in data.examples})
    if data.dropped:
        result["dropped"] = dict(sorted(data.dropped.items()))
    result.update(target_metrics(data, scores))
    return result


def to_json(result: dict[str, Any]) -> str:
    """One line of JSON (what the CLI prints last)."""
    return json.dumps(result, ensure_ascii=False)


__all__ = [
    "AGREEMENT_LEVELS",
    "BASELINES",
    "TARGET_BASELINES",
    "ClauseScorer",
    "SentenceCopy",
    "TargetScorer",
    "agreement_levels",
    "allagree_file",
    "bootstrap_interval",
    "evaluate",
    "evaluate_targets",
    "load_classifier",
    "load_target_scorer",
    "metrics",
    "recipe_path",
    "resolve_path",
    "select",
    "target_metrics",
    "to_json",
]
