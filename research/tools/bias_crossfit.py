"""Would a per-class bias fitted on validation change a model's labels for the better?

    python research/tools/bias_crossfit.py MODEL [MODEL...] [--repeats 100]

For each model folder (with the ``train_config.json`` its run wrote) it scores the recipe's
validation split at the model's inference length, then cross-fits
:func:`sentiment.classify.calibration.fit_bias` inside that split: ``--repeats`` random halvings
(stratified by data set and label, seeds 0, 1, ...), the bias fitted on one half and judged on
the other, both ways. It prints one JSON line per model: the mean and spread of the held-out
gain in macro-F1 and accuracy over the plain argmax (temperature alone never changes a label),
the same gain on each data set's share, and the bias and temperature fitted on the whole split.

Rule, fixed on 2026-12-05 before this script was run on any model: the bias is adopted for the
shipped model only if (1) its mean held-out macro-F1 gain is at least 0.003 and (2) the mean
gain is above 0 for both reruns of its recipe (``runs/student-logits`` and
``runs/student-logits-seed7``), so it is not a quirk of one set of weights. Then the bias fitted
on the whole validation split is folded into the shipped classifier and the test sets are read
once, whatever they show.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from sentiment.classify import calibration, training
from sentiment.classify.training import TrainConfig


def validation_logits(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The model's logits (at its inference length), labels and data-set names of its recipe's
    validation split."""
    config = TrainConfig.load(folder / "train_config.json")
    logits, val = training.validation_logits(folder, config, max_length=config.inference_max_length)
    return logits, np.asarray(val.labels), list(val.sources)


def crossfit(logits: np.ndarray, labels: np.ndarray, sources: list[str], repeats: int) -> dict:
    """Held-out gains of the fitted bias over the plain argmax, over ``repeats`` halvings."""
    strata = [f"{s}/{y}" for s, y in zip(sources, labels)]
    names = sorted(set(sources))
    src = np.asarray(sources)
    gains: dict[str, list[float]] = {"macro_f1": [], "accuracy": [], **{f"accuracy_{n}": [] for n in names}}
    idx = np.arange(len(labels))
    for seed in range(repeats):
        a, b = train_test_split(idx, test_size=0.5, stratify=strata, random_state=seed)
        for fit, held in ((a, b), (b, a)):
            _, bias = calibration.fit_bias(logits[fit], labels[fit])
            before = logits[held].argmax(1)
            after = (logits[held] + bias).argmax(1)
            y = labels[held]
            gains["macro_f1"].append(f1_score(y, after, average="macro") - f1_score(y, before, average="macro"))
            gains["accuracy"].append(accuracy_score(y, after) - accuracy_score(y, before))
            for n in names:
                sel = src[held] == n
                gains[f"accuracy_{n}"].append(accuracy_score(y[sel], after[sel]) - accuracy_score(y[sel], before[sel]))
    out = {k: {"mean": round(float(np.mean(v)), 4), "sd": round(float(np.std(v)), 4),
               "share_above_0": round(float(np.mean(np.asarray(v) > 0)), 3)} for k, v in gains.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args(argv)
    for folder in args.models:
        logits, labels, sources = validation_logits(folder)
        t, bias = calibration.fit_bias(logits, labels)
        print(json.dumps({"model": str(folder), "n": len(labels),
                          "full_split": {"temperature": round(t, 4), "bias": [round(float(x), 4) for x in bias]},
                          "held_out_gain": crossfit(logits, labels, sources, args.repeats)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
