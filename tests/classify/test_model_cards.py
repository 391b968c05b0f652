"""A model card shows what was measured: every results, per-class and confusion row that
``benchmarks/card_tables.py`` prints from the folder's ``metrics.json`` (written by
``benchmarks/model_metrics.sh``) and ``train_log.json`` is in its card, to the digit (spacing
aside), and so is each of the model's 95% intervals. Every card is its model folder's README
(the large profile's is committed without its weights, which are built locally), in the Hugging
Face layout and short enough to read: checked for every card, the figures wherever the model has
been built."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from helpers import ROOT

from sentiment.classify.model import (
    DEFAULT_NAME,
    FAST_NAME,
    LARGE_NAME,
    default_model_path,
    shipped_model_path,
)

PROFILES = {"default": DEFAULT_NAME, "fast": FAST_NAME, "large": LARGE_NAME}
SECTIONS = ["## Model details", "## Uses", "## Results", "## Training", "## Limitations"]
MAX_LINES = 185  # the default card covers two tasks


def card_path(profile: str) -> Path:
    """The committed card of a profile: the README of its folder in the repository."""
    return ROOT / "models" / PROFILES[profile] / "README.md"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_model_card_follows_the_hugging_face_layout(profile):
    text = card_path(profile).read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES, f"{profile} card: {len(text.splitlines())} lines (at most {MAX_LINES})"
    front, _, body = text.removeprefix("---\n").partition("\n---\n")
    meta = pytest.importorskip("yaml").safe_load(front)
    assert {"license", "language", "base_model", "pipeline_tag", "tags", "datasets", "metrics"} <= set(meta)
    at = [body.find(f"\n{section}\n") for section in SECTIONS]
    assert -1 not in at and at == sorted(at), f"{profile} card: sections {SECTIONS} in this order"
    training = body[at[3]:at[4]]
    assert f"../../configs/{PROFILES[profile]}.json" in training, "the Training section links its recipe"
    assert "../../research/log.md" in body[at[4]:], "the Limitations link the research log"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_model_card_shows_its_measured_tables(profile):
    folder = {"default": default_model_path(), "fast": shipped_model_path(FAST_NAME),
              "large": shipped_model_path(LARGE_NAME)}[profile]
    card_file = card_path(profile)
    if not (folder / "metrics.json").exists():
        pytest.skip(f"the {profile} model folder {folder} has no metrics.json (not built or not measured)")
    spec = importlib.util.spec_from_file_location("card_tables", ROOT / "benchmarks" / "card_tables.py")
    assert spec is not None and spec.loader is not None
    card_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(card_tables)
    rows = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    log = json.loads((folder / "train_log.json").read_text(encoding="utf-8"))
    card = {" ".join(line.split()) for line in card_file.read_text(encoding="utf-8").splitlines()}
    printed = "\n".join([card_tables.results(rows, folder), card_tables.per_class(rows, folder),
                         card_tables.targets(rows), card_tables.training(log)])
    lines = [" ".join(line.split()) for line in printed.splitlines() if line.startswith(("| ", "- "))]
    assert len(lines) > 15
    missing = [line for line in lines if line not in card]
    assert not missing, f"card rows that differ from the measurements: {missing[:3]}"
    text = card_file.read_text(encoding="utf-8")
    for row in rows:
        if Path(row["model"]).name == folder.name and "interval" in row:
            for metric in ("accuracy", "macro_f1"):
                low, high = row["interval"][metric]
                shown = f"{row[metric]:.4f} ({low:.4f} to {high:.4f})"
                assert shown in text, f"{profile} card: {row['format']} {metric} should read {shown}"


def _research_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "research" / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_summary():
    return _research_tool("run_summary")


def test_run_summary_averages_every_scored_epoch(tmp_path, capsys):
    log = {"best": {"macro_f1": 0.8, "epoch": 2, "weights": "ema"}, "seconds": 12.5,
           "history": [{"epoch": 1, "weights": "raw", "val_macro_f1": 0.7, "val_accuracy_fpb": 0.80},
                       {"epoch": 1, "weights": "ema", "val_macro_f1": 0.75, "val_accuracy_fpb": 0.84},
                       {"epoch": 2, "weights": "ema", "val_macro_f1": 0.8, "val_accuracy_fpb": 0.86,
                        "val_accuracy_crypto": 0.5}]}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "train_log.json").write_text(json.dumps(log))
    run_summary = _run_summary()
    run_summary.main([str(tmp_path / "run")])
    printed = json.loads(capsys.readouterr().out)
    assert printed["best"] == log["best"] and printed["seconds"] == 12.5 and printed["epochs_scored"] == 3
    assert printed["mean"] == {"val_macro_f1": 0.75, "val_accuracy_fpb": 0.8333, "val_accuracy_crypto": 0.5}
    with pytest.raises(SystemExit, match="no train_log.json"):
        run_summary.main([str(tmp_path)])


def test_bias_crossfit_finds_a_held_out_gain_only_where_the_priors_are_off():
    import numpy as np

    from sentiment.classify.calibration import probabilities

    crossfit = _research_tool("bias_crossfit").crossfit
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, size=(1200, 3))
    labels = np.array([rng.choice(3, p=row) for row in probabilities(z)])
    sources = ["fpb" if i % 3 else "tfns" for i in range(len(labels))]
    skewed = crossfit(z - np.array([0.0, -1.5, 0.0]), labels, sources, repeats=5)
    plain = crossfit(z, labels, sources, repeats=5)
    assert skewed["macro_f1"]["mean"] > 0.02 and skewed["accuracy"]["share_above_0"] == 1.0
    assert abs(plain["macro_f1"]["mean"]) < 0.01 and set(plain) >= {"accuracy_fpb", "accuracy_tfns"}



def test_ensemble_validation_scores_each_model_and_their_mean_on_the_recipes_split(tmp_path, capsys):
    import numpy as np

    from sentiment.classify.datasets import training_data
    from sentiment.classify.evaluate import load_classifier
    from sentiment.classify.training import TrainConfig, validation_scores
    from sentiment.schema import LABELS

    if not (default_model_path() / "config.json").exists() or not shipped_model_path(FAST_NAME).exists():
        pytest.skip("the shipped default and fast models are not present")
    words = {0: "plunges after a hack", 1: "holds its annual meeting", 2: "soars to a record high"}
    rows = [{"text": f"Token {i} {words[i % 3]}", "label": LABELS[i % 3]} for i in range(40)]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"data": [{"name": "tiny", "path": str(tmp_path / "train.jsonl")}]}))
    module = _research_tool("ensemble_validation")
    printed = module.main(["--model", str(default_model_path()), "--model", "fast", "--config", str(recipe)])
    assert [r["model"] for r in printed] == [str(default_model_path()), "fast", f"{default_model_path()} + fast"]
    assert all(r["validation_n"] == 4 for r in map(json.loads, capsys.readouterr().out.splitlines()))
    val = training_data(TrainConfig.load(recipe).data).validation
    mean = np.mean([load_classifier(m, backend="torch").predict_proba(val.texts)
                    for m in (str(default_model_path()), "fast")], axis=0)
    assert printed[-1] == {"model": printed[-1]["model"], **validation_scores(mean.argmax(1), val)}
    assert set(printed[0]) >= {"val_accuracy", "val_macro_f1", "val_accuracy_tiny"}
