"""Temperature and class-bias calibration (sentiment/classify/calibration.py)."""
from __future__ import annotations

import numpy as np
import pytest

from sentiment.classify import calibration


def _sample(n: int, shift: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z), then logits reported as ``z - shift``: the true bias is ``shift``."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, size=(n, 3))
    p = calibration.probabilities(z)
    labels = np.array([rng.choice(3, p=row) for row in p])
    return z - shift, labels


def test_fit_bias_recovers_a_known_class_offset():
    shift = np.array([0.8, 0.0, -0.6])
    logits, labels = _sample(6000, shift)
    t, bias = calibration.fit_bias(logits, labels)
    assert bias[1] == 0.0  # the reference class
    assert bias == pytest.approx(shift, abs=0.15) and t == pytest.approx(1.0, abs=0.1)
    assert calibration.nll(logits + bias, labels, t) < calibration.nll(logits, labels, calibration.fit_temperature(logits, labels))


def test_fit_bias_is_near_zero_for_calibrated_logits_and_neutral_when_empty():
    logits, labels = _sample(6000, np.zeros(3), seed=1)
    t, bias = calibration.fit_bias(logits, labels)
    assert np.abs(bias).max() < 0.15 and t == pytest.approx(1.0, abs=0.1)
    t, bias = calibration.fit_bias(np.zeros((0, 3)), np.zeros(0, dtype=int))
    assert t == 1.0 and bias.tolist() == [0.0, 0.0, 0.0]


def test_fold_bias_shifts_a_plain_classifiers_logits_and_survives_saving(tmp_path):
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForSequenceClassification, BertConfig

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3)
    model = AutoModelForSequenceClassification.from_config(config).eval()
    ids = torch.tensor([[1, 5, 7, 2]])
    before = model(input_ids=ids).logits.detach().numpy()
    calibration.fold_bias(model, np.array([0.5, 0.0, -0.25]))
    model.save_pretrained(tmp_path / "m")
    again = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m").eval()
    after = again(input_ids=ids).logits.detach().numpy()
    assert after - before == pytest.approx(np.array([[0.5, 0.0, -0.25]]), abs=1e-5)
