"""Scoring on a recipe's validation split: during training (every epoch, the best is kept) and
afterwards, for a folder a run wrote (recalibration, weight averages, ensembles).

Every scorer feeds the model the same token ids, cut as training cuts them, so their figures
agree with ``sentiment train``'s ``train_log.json``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sentiment.classify import calibration
from sentiment.classify.datasets import LabelledTexts, training_data
from sentiment.classify.hub import load_pretrained
from sentiment.classify.training.batches import predict_logits
from sentiment.classify.training.config import TrainConfig
from sentiment.classify.training.targets import sentence_entries
from sentiment.schema import LABELS


def validation_scores(pred: np.ndarray, val_set: LabelledTexts) -> dict[str, float]:
    """Accuracy and macro-F1 of predicted labels on a validation split, overall and per source:
    the ``val_*`` figures of ``train_log.json``, whoever scores the split."""
    y = np.asarray(val_set.labels)
    scores = {"val_accuracy": round(float((pred == y).mean()), 5),
              "val_macro_f1": round(macro_f1(y, pred), 5)}
    for name in sorted(set(val_set.sources)):
        sel = np.asarray([s == name for s in val_set.sources])
        scores[f"val_accuracy_{name}"] = round(float((pred[sel] == y[sel]).mean()), 5)
    return scores


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-averaged F1 over the three labels (a label never predicted counts as 0)."""
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=list(range(len(LABELS))), average="macro", zero_division=0))


def validation_inputs(config: TrainConfig, tokenizer: Any, root: Path | None = None,
                      max_length: int | None = None) -> tuple[list[list[int]], LabelledTexts]:
    """The recipe's validation split and its token ids, cut as training cuts them (at
    ``max_length``, the recipe's training length unless given; target-level entries are not
    part of it)."""
    val = training_data(sentence_entries(config.data), root).validation
    ids = tokenizer(val.texts, truncation=True, max_length=max_length or config.max_length)["input_ids"]
    return ids, val


def validation_logits(model_dir: str | Path, config: TrainConfig, root: Path | None = None,
                      max_length: int | None = None) -> tuple[np.ndarray, LabelledTexts]:
    """A model folder's logits on its recipe's validation split (texts cut at ``max_length``,
    the recipe's training length unless given), and that split."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(max(1, int(config.threads)))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = load_pretrained(AutoModelForSequenceClassification, model_dir).float().eval()
    ids, val = validation_inputs(config, tokenizer, root, max_length)
    return predict_logits(model, ids, tokenizer.pad_token_id or 0), val


def calibrate_folder(model_dir: str | Path, config: TrainConfig, root: Path | None = None) -> dict[str, Any]:
    """Fit and store the temperature of an existing model folder on the recipe's validation
    split (for a folder written by an interrupted run, or a model trained elsewhere)."""
    logits, val = validation_logits(model_dir, config, root)
    report = calibration.fit_report(logits, np.asarray(val.labels))
    calibration.save(model_dir, report)
    return report
