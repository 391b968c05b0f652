"""Weight averaging ("model soups", Wortsman et al. 2022): does the uniform average of the
weights of several fine-tunes of one base score higher on validation than each of them?

Every non-empty subset of the given model folders is averaged weight by weight (in float32)
and scored on the validation split of a recipe, exactly as ``sentiment train`` scores its
epochs (argmax of the logits, accuracy and macro-F1). One cost of one model at inference, unlike
an ensemble. Prints a line per subset, then one JSON line with every figure and the **greedy
soup**: the members in order of their own validation macro-F1, each kept only if the average
with it does not score lower. The greedy soup is the one candidate to adopt: the best of all
subsets is chosen on the very split that scores it, so its figure flatters it. With
``--greedy`` only the subsets the greedy soup needs are scored (n models, then n-1 averages),
so nothing else is even seen. ``--all`` scores only the average of every given folder, a
candidate fixed in advance (e.g. one run's epoch weights, tail averaging), and nothing else.
``--out DIR`` writes the candidate (the greedy soup, or with ``--all`` the average of all) as
a model folder: the first member's files, the averaged weights in their stored dtype, a
temperature fitted anew on the recipe's validation split and ``soup.json`` naming the members.

usage: python research/tools/weight_average.py --model runs/a --model runs/b [--model …] [--greedy | --all]
           [--out DIR] [--config models/crypto-minilm-sentiment/train_config.json]
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]  # the repository root
sys.path.insert(0, str(ROOT))

from sentiment.classify.training import TrainConfig, macro_f1, predict_logits, validation_inputs


def greedy_soup(score: Callable[[frozenset[int]], float], n: int) -> list[int]:
    """Members (indices) of the greedy soup, given the validation score of a subset: start from
    the best single model, add the others in order of their own score, keep one only if the
    average with it scores at least as high as the soup without it."""
    order = sorted(range(n), key=lambda i: -score(frozenset([i])))
    soup = [order[0]]
    for i in order[1:]:
        if score(frozenset(soup + [i])) >= score(frozenset(soup)):
            soup.append(i)
    return soup


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="a model folder (repeat)")
    parser.add_argument("--config", default=str(ROOT / "models" / "crypto-minilm-sentiment" / "train_config.json"),
                        help="the recipe whose validation split scores the averages")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--greedy", action="store_true", help="score only what the greedy soup needs")
    choice.add_argument("--all", action="store_true", help="score only the average of all the given models")
    parser.add_argument("--out", help="write the candidate (greedy soup, or with --all the average) as a model folder")
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
    states = [load_file(str(Path(m) / "model.safetensors")) for m in args.model]
    if any(set(s) != set(states[0]) for s in states):
        sys.exit("the models differ in their weights' names: only fine-tunes of one base average")
    net = AutoModelForSequenceClassification.from_pretrained(args.model[0], dtype=torch.float32)

    results: list[dict] = []
    scores: dict[frozenset[int], float] = {}

    def score(subset: frozenset[int]) -> float:
        """Validation macro-F1 of the subset's average, scored once and printed."""
        if subset not in scores:
            members = sorted(subset)
            net.load_state_dict(average([states[i] for i in members]), strict=False)
            pred = predict_logits(net, ids, tokenizer.pad_token_id or 0).argmax(1)
            row = {"models": [args.model[i] for i in members], "val_accuracy": round(float((pred == y).mean()), 4),
                   "val_macro_f1": round(macro_f1(y, pred), 4)}
            results.append(row)
            scores[subset] = row["val_macro_f1"]
            print(f"{' + '.join(row['models']):70s} acc {row['val_accuracy']:.4f}  macro-F1 {row['val_macro_f1']:.4f}",
                  flush=True)
        return scores[subset]

    if not (args.greedy or args.all):
        for size in range(1, len(states) + 1):
            for subset in itertools.combinations(range(len(states)), size):
                score(frozenset(subset))
    key, soup = ("average", list(range(len(states)))) if args.all else ("greedy_soup", greedy_soup(score, len(states)))
    report = {"validation_n": len(val), "config": args.config, "results": results,
              key: {"models": [args.model[i] for i in soup], "val_macro_f1": score(frozenset(soup))}}
    if args.out:
        write_soup([args.model[i] for i in soup], [states[i] for i in soup], args.out, config)
        report[key]["out"] = args.out
    print(json.dumps(report))
    return report


def average(states: list[dict]) -> dict:
    """The uniform average of several state dicts, in float32."""
    return {k: sum(state[k].float() for state in states) / len(states) for k in states[0]}


def write_soup(members: list[str], states: list[dict], out: str | Path, config: TrainConfig) -> None:
    """The uniform average of ``members``' weights (their ``states``) as a model folder loadable
    like any other: the first member's files, the averaged weights in the dtype they were
    stored in, the temperature fitted anew, ``soup.json`` naming the members."""
    import shutil

    from safetensors.torch import save_file

    from sentiment.classify.training import calibrate_folder

    out = Path(out)
    if out.exists():
        sys.exit(f"{out} exists: give a new folder")
    shutil.copytree(members[0], out)
    (out / "metrics.json").unlink(missing_ok=True)  # measured on the first member, not on the soup
    stored = {k: t.dtype for k, t in states[0].items()}
    save_file({k: t.to(stored[k]).contiguous() for k, t in average(states).items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    (out / "soup.json").write_text(json.dumps({"members": members, "weights": "uniform average"}, indent=1) + "\n")
    calibrate_folder(out, config)


if __name__ == "__main__":
    main()
