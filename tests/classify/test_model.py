"""SentimentModel on the shipped model folder (sentiment.classify.model)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sentiment.classify import model as model_module
from sentiment.classify.model import (
    DEFAULT_NAME,
    ENV_VAR,
    FAST_NAME,
    LARGE_NAME,
    SentimentModel,
    default_model_path,
    resolve_model_path,
)
from sentiment.schema import LABELS, Score

TEXTS = ["Bitcoin plunges 12% as a major exchange halts withdrawals after a hack",
         "Ether surges to a record high as ETF inflows hit $1 billion",
         "The conference will take place in Lisbon in November",
         "Solana slips below $150 support while liquidations top $400 million",
         "Net sales increased to EUR 58.3 mn from EUR 51.1 mn",
         "Operating profit fell to EUR 2.1 mn from EUR 4.5 mn"]


@pytest.fixture(scope="module")
def model():
    path = default_model_path()
    if not (path / "config.json").exists():
        pytest.skip(f"no model at {path} (the shipped weights are not in this checkout)")
    return SentimentModel.load(backend="torch", threads=2)  # the ONNX backend has its own tests


def test_default_path_and_env_override(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert default_model_path().name == "crypto-minilm-sentiment"
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert default_model_path() == tmp_path
    with pytest.raises(FileNotFoundError, match="config.json"):
        SentimentModel.load()


def test_model_arguments_resolve_to_folders(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_model_path(None) == resolve_model_path("default") == default_model_path()
    assert resolve_model_path("fast").name == FAST_NAME == resolve_model_path(FAST_NAME).name
    assert resolve_model_path(tmp_path) == tmp_path                 # an existing folder wins
    assert resolve_model_path("no/such/folder") == Path("no/such/folder")
    with pytest.raises(FileNotFoundError, match="profile"):
        SentimentModel.load(tmp_path / "missing")


def test_fast_profile_is_a_smaller_calibrated_model(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    if not (resolve_model_path("fast") / "config.json").exists():
        pytest.skip("the fast model is not in this checkout")
    fast = SentimentModel.load("fast", backend="torch", threads=2)
    assert fast.path.name == FAST_NAME and fast.backend.config.num_hidden_layers == 3
    p = fast.predict_proba(TEXTS)
    assert p.shape == (len(TEXTS), 3) and np.allclose(p.sum(1), 1)
    assert [LABELS[i] for i in p.argmax(1)][:3] == ["bearish", "bullish", "neutral"]


def test_large_profile_not_yet_built_says_how_to_build_it(monkeypatch, tmp_path, capsys):
    from sentiment.cli import main

    real = model_module.shipped_model_path
    monkeypatch.setattr(model_module, "shipped_model_path",
                        lambda name: tmp_path / name if name == LARGE_NAME else real(name))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="make model-large"):
        SentimentModel.load("large")
    data = tmp_path / "x.jsonl"
    data.write_text('{"text": "Bitcoin rose 2%", "label": "bullish"}\n')
    assert main(["evaluate", str(data), "--format", "jsonl", "--split", "all", "--model", "large"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not built yet: run `make model-large`" in err, err


def test_large_profile_recipe_is_the_shipped_recipe_on_the_make_target_base():
    """``make model-large`` trains configs/crypto-mpnet-sentiment.json on the base ``make
    teacher-base`` unpacks, with the shipped model's labelled data (so its test figures compare;
    the shipped model learns from it as its teacher), into a folder git ignores but for its card."""
    from helpers import ROOT

    from sentiment.classify.training import TrainConfig

    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    large = TrainConfig.load(ROOT / "configs" / f"{LARGE_NAME}.json")
    shipped = TrainConfig.load(ROOT / "configs" / f"{DEFAULT_NAME}-sentence.json")  # the default's sentence stage
    assert f"MPNET := {large.base}" in make and f"--config configs/{LARGE_NAME}.json" in make
    assert f"LARGE := models/{LARGE_NAME}" in make
    assert f"models/{LARGE_NAME}/*" in ignored and f"!models/{LARGE_NAME}/README.md" in ignored
    assert large.data == [d for d in shipped.data if d.get("split") != "transfer"]   # its labelled data
    assert large.teacher is None and large.seed == shipped.seed
    assert shipped.teacher == f"models/{LARGE_NAME}"
    assert (ROOT / "models" / LARGE_NAME / "README.md").is_file()


def test_large_profile_when_built_is_a_calibrated_mpnet(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    if not (resolve_model_path("large") / "config.json").exists():
        pytest.skip("the large model is not built here (make model-large)")
    large = SentimentModel.load("large", backend="torch", threads=2)
    assert large.path.name == LARGE_NAME and large.backend.config.model_type == "mpnet"
    assert (large.path / "calibration.json").is_file() and large.temperature != 1.0
    p = large.predict_proba(TEXTS)
    assert p.shape == (len(TEXTS), 3) and np.allclose(p.sum(1), 1)
    assert [LABELS[i] for i in p.argmax(1)] == ["bearish", "bullish", "neutral", "bearish", "bullish", "bearish"]


def test_long_text_is_cut_into_windows(model):
    long_text = " ".join(f"word{i}" for i in range(600))
    _, owner = model.logits(["short", long_text, "short again"])
    assert owner.count(1) > 3 and owner[0] == 0 and owner[-1] == 2


def test_probabilities_and_scores(model):
    assert model.labels == LABELS and model.max_length == 128 and model.temperature > 0
    p = model.predict_proba(TEXTS)
    assert p.shape == (len(TEXTS), 3) and np.allclose(p.sum(axis=1), 1) and (p >= 0).all()
    scores = model.score(TEXTS)
    assert all(isinstance(s, Score) and -1 <= s.score <= 1 for s in scores)
    assert [s.label for s in scores] == model.predict(TEXTS)


def test_direction_on_clear_cases(model):
    assert model.predict(TEXTS) == ["bearish", "bullish", "neutral", "bearish", "bullish", "bearish"]


def test_batching_restores_order_and_matches_single(model):
    batched = model.predict_proba(TEXTS, batch_size=4)
    single = np.vstack([model.predict_proba([t]) for t in TEXTS])
    assert np.allclose(batched, single, atol=1e-4)
    reversed_ = model.predict_proba(TEXTS[::-1], batch_size=64)
    assert np.allclose(reversed_[::-1], batched, atol=1e-4)


def test_a_repeated_text_is_scored_once(model, monkeypatch):
    rows: list[int] = []
    real = model.backend.logits
    monkeypatch.setattr(model.backend, "logits", lambda ids, mask: rows.append(len(ids)) or real(ids, mask))
    once = model.predict_proba(TEXTS)
    scored = sum(rows)
    thrice = model.predict_proba(TEXTS[::-1] + TEXTS + [TEXTS[0]])
    assert sum(rows) - scored == len(TEXTS)  # duplicates cost nothing
    assert np.allclose(thrice, np.vstack([once[::-1], once, once[:1]]), atol=1e-5)


def test_long_and_empty_inputs(model):
    long_text = " ".join(["Bitcoin fell sharply as liquidations mounted"] * 300)  # ~2,000 words
    p = model.predict_proba([long_text, "", "   ", None, "ok"])  # type: ignore[list-item]
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1)
    assert p[1].tolist() == [0.0, 1.0, 0.0] and p[3].tolist() == [0.0, 1.0, 0.0]
    assert p[0].argmax() == 0
    assert model.predict_proba([]).shape == (0, 3)
    with pytest.raises(TypeError):
        model.predict_proba("one string")


def test_folder_is_plain_hugging_face(model):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = model.path
    config = json.loads((folder / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(3)] == list(LABELS)
    assert config["label2id"] == {lab: i for i, lab in enumerate(LABELS)}
    weights = folder / "model.safetensors"
    assert weights.exists() and weights.stat().st_size < 60e6
    from safetensors import safe_open
    with safe_open(str(weights), "pt") as f:
        assert f.get_tensor("classifier.weight").dtype == torch.float16
    plain = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(folder)
    with torch.inference_mode():
        logits = plain(**tok(TEXTS[:2], padding=True, return_tensors="pt")).logits
    assert logits.argmax(-1).tolist() == [0, 2]
    cal = json.loads((folder / "calibration.json").read_text())
    assert cal["temperature"] == pytest.approx(model.temperature) and "ece_after" in cal
