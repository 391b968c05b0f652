"""Weight averaging ("model soups", Wortsman et al. 2022): does the uniform average of the
weights of several fine-tunes of one base score higher on validation than each of them?

Every non-empty subset of the given model folders is averaged weight by weight (in float32)
and scored on the validation split of a recipe, exactly as ``sentiment train`` scores its
epochs (argmax of the logits, accuracy and macro-F1). One cost of one model at inference, unlike
an ensemble. Prints a line per subset, then one JSON line with every figure and the **greedy
soup**: the members in order of their own validation macro-F1, each kept only if the average
with it does not score lower. The greedy soup is the one candidate to adopt: the best of all
subsets is chosen on the very split that scores it, so its figure flatters it.

usage: python benchmarks/weight_average.py --model runs/a --model runs/b [--model …]
                                           [--config models/crypto-minilm-sentiment/train_config.json]
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sentiment.classify.train import TrainConfig, macro_f1, predict_logits, validation_inputs


def greedy_soup(scores: dict[frozenset[int], float], n: int) -> list[int]:
    """Members (indices) of the greedy soup, from each subset's validation score: start from
    the best single model, add the others in order of their own score, keep one only if the
    average with it scores at least as high as the soup without it."""
    order = sorted(range(n), key=lambda i: -scores[frozenset([i])])
    soup = [order[0]]
    for i in order[1:]:
        if scores[frozenset(soup + [i])] >= scores[frozenset(soup)]:
            soup.append(i)
    return soup


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="a model folder (repeat)")
    parser.add_argument("--config", default=str(ROOT / "models" / "crypto-minilm-sentiment" / "train_config.json"),
                        help="the recipe whose validation split scores the averages")
    args = parser.parse_args(argv)
    if len(args.model) < 2:
        parser.error("give at least two --model folders")

    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    config = TrainConfig.load(args.config)
    torch.set_num_threads(config.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model[0])
    ids, val = validation_inputs(config, tokenizer)
    y = np.asarray(val.labels)
    states = [{k: t.float() for k, t in load_file(str(Path(m) / "model.safetensors")).items()} for m in args.model]
    if any(set(s) != set(states[0]) for s in states):
        sys.exit("the models differ in their weights' names: only fine-tunes of one base average")
    net = AutoModelForSequenceClassification.from_pretrained(args.model[0], dtype=torch.float32)

    results, scores = [], {}
    for size in range(1, len(states) + 1):
        for subset in itertools.combinations(range(len(states)), size):
            net.load_state_dict({k: sum(states[i][k] for i in subset) / size for k in states[0]}, strict=False)
            pred = predict_logits(net, ids, tokenizer.pad_token_id or 0).argmax(1)
            row = {"models": [args.model[i] for i in subset], "val_accuracy": round(float((pred == y).mean()), 4),
                   "val_macro_f1": round(macro_f1(y, pred), 4)}
            results.append(row)
            scores[frozenset(subset)] = row["val_macro_f1"]
            print(f"{' + '.join(row['models']):70s} acc {row['val_accuracy']:.4f}  macro-F1 {row['val_macro_f1']:.4f}",
                  flush=True)
    soup = greedy_soup(scores, len(states))
    report = {"validation_n": len(val), "config": args.config, "results": results,
              "greedy_soup": {"models": [args.model[i] for i in soup], "val_macro_f1": scores[frozenset(soup)]}}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
