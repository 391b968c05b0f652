"""Print the model card's tables from a model folder's measurements, so the card shows exactly
what `sentiment evaluate` and `sentiment train` wrote: results, per-class scores and confusion
matrices from ``metrics.json`` (see ``model_metrics.sh``), the target-level results of a model
that serves targets, calibration and the per-epoch validation table from ``train_log.json``.

usage: python benchmarks/card_tables.py models/crypto-minilm-sentiment
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

DATA_NAMES = {"phrasebank": "FPB 50Agree test (970)", "tfns": "TFNS sent_valid (2,388)", "jsonl": "Crypto test"}
MODEL_NAMES = {"tfidf": "TF-IDF + LR", "lexicon": "Lexicon"}
TARGET_NAMES = {"crypto-targets": "crypto targets test (`data/crypto_targets`)", "finentity": "FinEntity test, gold spans",
                "semeval-targets": "SemEval-2017 targets test", "fiqa-targets": "FiQA-2018 targets test"}
TARGET_VAL = (("crypto-targets", "crypto targets"), ("finentity", "FinEntity"))


def sentence_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("task", "sentence") != "target"]


def model_name(row: dict, folder: Path) -> str:
    name = row["model"]
    if name in MODEL_NAMES:
        return MODEL_NAMES[name]
    return f"**{Path(name).name}** (this model)" if Path(name).name == folder.name else name


def results(rows: list[dict], folder: Path) -> str:
    out = ["| model | data | n | accuracy | macro-F1 | ECE | AllAgree subset acc. |", "|---|---|---|---|---|---|---|"]
    for r in sentence_rows(rows):
        agree = f"{r['allagree_accuracy']:.4f} (n={r['allagree_n']})" if "allagree_accuracy" in r else ""
        out.append(f"| {model_name(r, folder)} | {DATA_NAMES.get(r['format'], r['data'])} | {r['n']} | "
                   f"{r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['ece']:.4f} | {agree} |")
    return "\n".join(out)


def per_class(rows: list[dict], folder: Path) -> str:
    mine = [r for r in sentence_rows(rows) if Path(r["model"]).name == folder.name]
    out = ["| data | bearish P/R/F1 | neutral P/R/F1 | bullish P/R/F1 |", "|---|---|---|---|"]
    for r in mine:
        cells = [" / ".join(f"{r['per_class'][c][k]:.3f}" for k in ("precision", "recall", "f1"))
                 for c in ("bearish", "neutral", "bullish")]
        out.append(f"| {DATA_NAMES.get(r['format'], r['data'])} | " + " | ".join(cells) + " |")
    out += ["", "Confusion matrices:", ""]
    for r in mine:
        out.append(f"- {DATA_NAMES.get(r['format'], r['data'])} (rows true, columns predicted, order "
                   f"bearish/neutral/bullish): `{r['confusion_matrix']['matrix']}`")
    return "\n".join(out)


def targets(rows: list[dict]) -> str:
    """The target-level results (the sentiment toward each target), empty for a sentence model."""
    mine = [r for r in rows if r.get("task") == "target"]
    if not mine:
        return ""
    out = ["| data | targets | accuracy (95% interval) | macro-F1 (95% interval) | texts whose targets differ: accuracy (targets) |",
           "|---|---|---|---|---|"]
    for r in mine:
        low, high = r["interval"]["accuracy"]
        mixed = f"{r['mixed']['accuracy']:.4f} ({r['mixed']['n']})" if "mixed" in r else ""
        f_low, f_high = r["interval"]["macro_f1"]
        out.append(f"| {TARGET_NAMES.get(r['format'], r['data'])} | {r['n']} | {r['accuracy']:.4f} "
                   f"({low:.4f} to {high:.4f}) | {r['macro_f1']:.4f} ({f_low:.4f} to {f_high:.4f}) | {mixed} |")
    return "\n".join(out)


def training(log: dict) -> str:
    cal = log["calibration"]
    out = ["| | value |", "|---|---|", f"| temperature T | {cal['temperature']} |",
           f"| validation ECE before → after | {cal['ece_before']:.5f} → {cal['ece_after']:.5f} |",
           f"| validation NLL before → after | {cal['nll_before']:.5f} → {cal['nll_after']:.5f} |",
           f"| validation examples | {cal['n']} |", ""]
    best = log["best"]
    with_targets = any("val_target_macro_f1" in h for h in log["history"])
    extra = [f"val acc {name}" for _, name in TARGET_VAL] + ["val target macro-F1"] if with_targets else []
    out += ["| epoch | weights | train loss | val acc FPB | val acc TFNS | val acc crypto | val macro-F1 | "
            + "".join(f"{c} | " for c in extra) + "seconds |", "|---" * (8 + len(extra)) + "|"]
    for h in log["history"]:
        kept = h["epoch"] == best["epoch"] and h["weights"] == best["weights"]
        weights = "EMA" if h["weights"] == "ema" else h["weights"]
        f1 = f"**{h['val_macro_f1']:.5f}**" if kept else f"{h['val_macro_f1']:.5f}"
        cells = [h["epoch"], f"**{weights} (kept)**" if kept else weights,
                 h["train_loss"] if h["weights"] == "raw" else None,
                 *(h.get(f"val_accuracy_{name}") for name in ("fpb", "tfns", "crypto"))]
        shown = [f"{c:.5f}" if isinstance(c, float) else "" if c is None else str(c) for c in cells]
        target_cells = ([f"{h[f'val_target_accuracy_{key}']:.5f}" for key, _ in TARGET_VAL]
                        + [f"{h['val_target_macro_f1']:.5f}"]) if with_targets else []
        out.append("| " + " | ".join(shown + [f1, *target_cells, str(h["seconds"])]) + " |")
    out.append(f"\nWall time {log['seconds']:.0f} s; {log['train_n']} training examples per epoch.")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    folder = Path(argv[0])
    rows = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    print(results(rows, folder), per_class(rows, folder), sep="\n\n")
    if targets(rows):
        print("\n" + targets(rows))
    log_file = folder / "train_log.json"
    if log_file.exists():
        print("\n" + training(json.loads(log_file.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
