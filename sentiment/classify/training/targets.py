"""Target-level data in a training run: one model learns the sentence task and the target task.

A recipe's data entry whose ``format`` is a target format (``finentity``, ``semeval-targets``,
``fiqa-targets``, ``crypto-targets``; see :mod:`sentiment.classify.targets`) trains the model on
the sentiment toward each target: every (text, target) pair becomes the text the model reads for
it (:func:`~sentiment.classify.targets.target_input`, ``"Ether [SEP] Bitcoin rose while Ether
fell."``), cut around the target as inference cuts it. Its train part trains (with ``repeat`` and
``fraction`` as for any entry), its validation part is scored apart from the sentence
validation (the ``val_target_*`` figures of ``train_log.json``), and its test part never trains.
A target pair whose text is a validation or test sentence of a sentence entry is left out, so
the sentence figures stay those of texts never seen.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.classify.datasets import (
    NEUTRAL_BAND,
    DataError,
    LabelledTexts,
    TrainingData,
    entry_path,
    normalise,
)
from sentiment.classify.model import CHARS_PER_TOKEN, SENTENCE_TASK, TARGET_TASK, TASKS_FILE
from sentiment.classify.targets import (
    TARGET_FORMATS,
    TargetData,
    target_input,
    target_splits,
    target_window,
)


@dataclass
class TargetParts:
    """The model inputs of a recipe's target entries: what trains, what validates."""

    train: LabelledTexts
    validation: LabelledTexts
    dropped: int = 0  # pairs left out because their text is a held-out sentence

    def __len__(self) -> int:
        return len(self.train) + len(self.validation)


def is_target_entry(entry: dict[str, Any]) -> bool:
    """Whether a recipe data entry holds target-level data."""
    return entry.get("format") in TARGET_FORMATS


def sentence_entries(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries of sentence-level data (what ``training_data`` reads)."""
    return [e for e in entries if not is_target_entry(e)]


def target_names(entries: Sequence[dict[str, Any]]) -> set[str]:
    """The source names of the target entries of ``entries`` (how their examples are tagged)."""
    return {e.get("name") or Path(e["path"]).stem for e in entries if is_target_entry(e)}


def target_parts(entries: Sequence[dict[str, Any]], sep: str, max_length: int,
                 held: TrainingData | None = None, root: Path | None = None) -> TargetParts:
    """Train and validation inputs of the target entries of ``entries``, each pair as the text
    the model reads (separator ``sep``; a text longer than ``max_length`` tokens cut to the
    sentences around its target). Texts of ``held``'s validation and test sentences are left
    out. Sources are the entries' names."""
    held_texts = set()
    if held is not None:
        held_texts = {normalise(t) for part in [held.validation, *held.tests.values()] for t in part.texts}
    train: list[LabelledTexts] = []
    validation: list[LabelledTexts] = []
    dropped = 0
    for entry in entries:
        if not is_target_entry(entry):
            continue
        path = entry_path(entry, root)
        if path is None:
            continue
        name = entry.get("name") or path.stem
        if entry.get("split", "protocol") != "protocol":
            raise DataError(f"{entry['path']}: target data trains on its fixed train part; "
                            "\"split\" can only be \"protocol\"")
        parts = target_splits(path, entry["format"], entry.get("neutral_band", NEUTRAL_BAND))
        for data, out in ((parts.train, train), (parts.validation, validation)):
            kept = [ex for ex in data.examples if normalise(ex.text) not in held_texts]
            dropped += len(data) - len(kept)
            out.append(_inputs(TargetData(kept, name), name, sep, max_length))
    return TargetParts(LabelledTexts.concat(train, "train"), LabelledTexts.concat(validation, "validation"),
                       dropped)


def _inputs(data: TargetData, name: str, sep: str, max_length: int) -> LabelledTexts:
    budget = CHARS_PER_TOKEN * max_length
    texts = [target_input(*target_window(ex.text, ex.span, budget), sep) for ex in data.examples]
    return LabelledTexts(texts, data.labels, name, [name] * len(texts))


def tasks_document(has_targets: bool) -> dict[str, Any]:
    """What the model folder's ``sentiment.json`` says the model was trained for."""
    tasks = [SENTENCE_TASK, TARGET_TASK] if has_targets else [SENTENCE_TASK]
    doc: dict[str, Any] = {"tasks": tasks}
    if has_targets:
        doc["target_input"] = "the target's words, the tokenizer's separator token, the text"
    return doc


__all__ = ["TASKS_FILE", "TargetParts", "is_target_entry", "sentence_entries", "target_names", "target_parts", "tasks_document"]
