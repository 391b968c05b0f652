"""The default model's card shows what was measured: every results, per-class and confusion row
that ``benchmarks/card_tables.py`` prints from the folder's ``metrics.json`` (written by
``benchmarks/model_metrics.sh``) and ``train_log.json`` is in its README, to the digit (spacing aside)."""
from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import ROOT

from sentiment.classify.model import default_model_path


def test_the_default_model_card_shows_its_measured_tables():
    folder = default_model_path()
    if not (folder / "metrics.json").exists():
        pytest.skip("the shipped model folder has no metrics.json")
    spec = importlib.util.spec_from_file_location("card_tables", ROOT / "benchmarks" / "card_tables.py")
    assert spec is not None and spec.loader is not None
    card_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(card_tables)
    rows = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    log = json.loads((folder / "train_log.json").read_text(encoding="utf-8"))
    card = {" ".join(line.split()) for line in (folder / "README.md").read_text(encoding="utf-8").splitlines()}
    printed = "\n".join([card_tables.results(rows, folder), card_tables.per_class(rows, folder),
                         card_tables.training(log)])
    lines = [" ".join(line.split()) for line in printed.splitlines() if line.startswith(("| ", "- "))]
    assert len(lines) > 20
    missing = [line for line in lines if line not in card]
    assert not missing, f"card rows that differ from the measurements: {missing[:3]}"
