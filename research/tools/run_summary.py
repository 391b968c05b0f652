"""Summarise training runs from their ``train_log.json``: the kept epoch and its validation
macro-F1, the run's seconds, and each validation figure averaged over every scored epoch (raw
and EMA weights alike), the averages the model card compares recipes by.

usage: python research/tools/run_summary.py runs/student-rdrop runs/student-logits [...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from statistics import mean


def summary(log: dict) -> dict:
    """The kept epoch, the seconds, and the mean of every ``val_*`` figure over the scored epochs."""
    history = log["history"]
    keys = sorted({k for row in history for k in row if k.startswith("val_") and isinstance(row[k], float)})
    return {"best": log["best"], "seconds": log["seconds"], "epochs_scored": len(history),
            "mean": {k: round(mean(row[k] for row in history if k in row), 4) for k in keys}}


def main(folders: list[str]) -> None:
    if not folders:
        sys.exit(__doc__)
    for folder in folders:
        path = Path(folder) / "train_log.json"
        if not path.is_file():
            sys.exit(f"no train_log.json in {folder}")
        print(json.dumps({"run": folder, **summary(json.loads(path.read_text()))}))


if __name__ == "__main__":
    main(sys.argv[1:])
