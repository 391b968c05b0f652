"""Do the stated moves of an asset help the target-level model? Measured on the crypto target set.

For each (sentence, asset) pair the extractor's moves of that asset in that sentence are
evidence: "up" for bullish, "down" for bearish. They are combined with the model by adding
``weight`` to the log-probability of the label the move points to (``flat`` points to neutral).
The weight is chosen on the validation part (a grid, the smallest best), then the test part is
scored with it and without it; the moves alone are scored where there are any.

    python research/tools/move_evidence.py --model runs/targets-4

Prints one JSON object: per part, the pairs with a move of their asset, accuracy of the model,
of the model with the moves, and of the moves alone where they exist (overall and on sentences
whose assets get different labels).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sentiment.classify.model import SentimentModel
from sentiment.classify.targets import TargetData, target_splits
from sentiment.extract import Extractor
from sentiment.schema import LABELS

ROOT = Path(__file__).resolve().parents[2]
POINTS = {"down": LABELS.index("bearish"), "flat": LABELS.index("neutral"), "up": LABELS.index("bullish")}
GRID = [round(0.25 * i, 2) for i in range(17)]


def move_evidence(data: TargetData, extractor: Extractor) -> np.ndarray:
    """Per pair, a one-hot row of the label its asset's moves in the sentence point to
    (all zero: no move of that asset; moves both ways cancel)."""
    texts = sorted({ex.text for ex in data.examples})
    moves = {t: ex.moves for t, ex in zip(texts, extractor.pipe([(None, t) for t in texts]))}
    rows = np.zeros((len(data), len(LABELS)))
    for i, ex in enumerate(data.examples):
        for move in moves[ex.text]:
            if move.asset == ex.target and move.direction in POINTS:
                rows[i, POINTS[move.direction]] += 1
    rows[rows.sum(1) > 1] = 0  # more than one move of the asset: only a clear single direction counts
    return rows


def mixed(data: TargetData) -> np.ndarray:
    """Pairs whose sentence gives its assets different labels."""
    by_text: dict[str, set[int]] = {}
    for ex in data.examples:
        by_text.setdefault(ex.text, set()).add(ex.label)
    return np.array([len(by_text[ex.text]) > 1 for ex in data.examples])


def accuracy(pred: np.ndarray, gold: np.ndarray, mask: np.ndarray | None = None) -> float | None:
    mask = np.ones(len(gold), bool) if mask is None else mask
    return round(float((pred[mask] == gold[mask]).mean()), 4) if mask.any() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model folder that scores targets")
    parser.add_argument("--data", default=str(ROOT / "data" / "crypto_targets"))
    parser.add_argument("--backend", default="torch")
    args = parser.parse_args()
    model = SentimentModel.load(args.model, backend=args.backend)
    extractor = Extractor()
    splits = target_splits(args.data, "crypto-targets")
    parts = {}
    for name in ("validation", "test"):
        data = splits.get(name)
        probs = np.array([[s.probs[lab] for lab in LABELS] for s in
                          model.score_targets([(ex.text, ex.span) for ex in data.examples])])
        parts[name] = (data, np.log(np.clip(probs, 1e-9, 1)), move_evidence(data, extractor))
    data, logp, moves = parts["validation"]
    gold = np.array(data.labels)
    fit = [(accuracy((logp + w * moves).argmax(1), gold), -w) for w in GRID]
    weight = -max(fit)[1]
    result: dict[str, object] = {"model": args.model, "backend": args.backend, "weight": weight,
                                 "chosen_on": "validation"}
    for name, (data, logp, moves) in parts.items():
        gold, mix, has = np.array(data.labels), mixed(data), moves.sum(1) > 0
        plain, joined = logp.argmax(1), (logp + weight * moves).argmax(1)
        result[name] = {
            "pairs": len(gold), "with_move": int(has.sum()), "mixed": int(mix.sum()),
            "model": accuracy(plain, gold), "model_mixed": accuracy(plain, gold, mix),
            "model_with_moves": accuracy(joined, gold), "model_with_moves_mixed": accuracy(joined, gold, mix),
            "moves_alone_where_any": accuracy(moves.argmax(1), gold, has),
            "model_where_moves": accuracy(plain, gold, has),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
