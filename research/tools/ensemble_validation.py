"""Validation figures of classifiers and their ensemble, as the package scores at inference.

Each ``--model`` (a folder or a profile such as ``fast``) and the ensemble of all of them (the
mean of their calibrated probabilities, as ``sentiment evaluate --model A --model B`` scores
one) are scored on a recipe's pooled validation split (PhraseBank, TFNS and crypto together:
the split ``sentiment train`` picks its epoch on). Unlike the training loop, texts go through
the inference path: 128-token windows and calibrated probabilities. One JSON line per model,
then the ensemble's.

usage: python research/tools/ensemble_validation.py --model models/crypto-minilm-sentiment --model fast
           [--config models/crypto-minilm-sentiment/train_config.json] [--backend torch]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]  # the repository root
sys.path.insert(0, str(ROOT))

from sentiment.classify.datasets import training_data
from sentiment.classify.evaluate import load_classifier
from sentiment.classify.training import TrainConfig, validation_scores


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="a model folder or profile (repeat)")
    parser.add_argument("--config", default=str(ROOT / "models" / "crypto-minilm-sentiment" / "train_config.json"),
                        help="the recipe whose validation split scores them")
    parser.add_argument("--backend", default="torch", help="torch (the card's reference) | onnx | auto")
    args = parser.parse_args(argv)

    val = training_data(TrainConfig.load(args.config).data).validation
    probs = [load_classifier(m, backend=args.backend).predict_proba(val.texts) for m in args.model]
    rows = [{"model": m, **validation_scores(p.argmax(1), val)} for m, p in zip(args.model, probs)]
    if len(probs) > 1:
        rows.append({"model": " + ".join(args.model), **validation_scores(np.mean(probs, axis=0).argmax(1), val)})
    for row in rows:
        print(json.dumps({"validation_n": len(val), **row}))
    return rows


if __name__ == "__main__":
    main()
