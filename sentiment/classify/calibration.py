"""Probability calibration: temperature scaling (Guo et al. 2017) and expected calibration error.

A single temperature ``T`` divides the logits before the softmax; it is fitted on the
validation split by minimising the negative log-likelihood, so it changes confidence but never
the predicted label. It is stored beside the model as ``calibration.json``.

:func:`fit_bias` fits a per-class offset ``b`` together with ``T`` (``(z + b) / T``, the bias
half of Guo et al.'s vector scaling): it can change labels, correcting class priors that the
training mix set differently from the validation data's. Folded into the classifier's own bias
(:func:`fold_bias`), plain ``AutoModelForSequenceClassification`` predicts the same labels.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax, softmax

FILE = "calibration.json"


def probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Softmax of ``logits / temperature`` along the last axis."""
    return softmax(np.asarray(logits, dtype=np.float64) / float(temperature), axis=-1)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels."""
    logp = log_softmax(np.asarray(logits, dtype=np.float64) / float(temperature), axis=-1)
    return float(-logp[np.arange(len(labels)), np.asarray(labels)].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises the NLL of ``labels`` (1.0 when empty)."""
    if len(labels) == 0:
        return 1.0
    res = minimize_scalar(lambda log_t: nll(logits, labels, float(np.exp(log_t))),
                          bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def fit_bias(logits: np.ndarray, labels: np.ndarray, reference: int = 1) -> tuple[float, np.ndarray]:
    """The temperature ``T`` and per-class offsets ``b`` (``b[reference]`` = 0, the softmax being
    blind to a common shift) that minimise the NLL of ``labels`` under ``softmax((z + b) / T)``.
    Returns ``(1.0, zeros)`` when ``labels`` is empty."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    k = z.shape[1] if z.ndim == 2 else 0
    if len(y) == 0:
        return 1.0, np.zeros(k)
    free = [c for c in range(k) if c != reference]

    def unpack(x: np.ndarray) -> tuple[float, np.ndarray]:
        b = np.zeros(k)
        b[free] = x[1:]
        return float(np.exp(np.clip(x[0], np.log(0.05), np.log(20.0)))), b

    def loss(x: np.ndarray) -> float:
        t, b = unpack(x)
        return nll(z + b, y, t)

    x0 = np.concatenate([[np.log(fit_temperature(z, y))], np.zeros(len(free))])
    res = minimize(loss, x0, method="L-BFGS-B",
                   bounds=[(np.log(0.05), np.log(20.0))] + [(-10.0, 10.0)] * len(free))
    return unpack(res.x)


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-label confidence with equal-width bins."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


def fit_report(logits: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Fit the temperature and report ECE and NLL before and after, for ``calibration.json``."""
    t = fit_temperature(logits, labels)
    return {
        "temperature": round(t, 5),
        "fitted_on": "validation",
        "n": len(labels),
        "ece_before": round(ece(probabilities(logits), labels), 5),
        "ece_after": round(ece(probabilities(logits, t), labels), 5),
        "nll_before": round(nll(logits, labels), 5),
        "nll_after": round(nll(logits, labels, t), 5),
    }


def fold_bias(model: Any, bias: np.ndarray) -> None:
    """Add ``bias`` to the output bias of a Hugging Face sequence classifier (in place), so its
    logits become ``z + bias`` for every caller, plain ``from_pretrained`` included."""
    import torch

    head = model.classifier
    layer = head.out_proj if hasattr(head, "out_proj") else head  # RoBERTa-style heads nest it
    with torch.no_grad():
        layer.bias += torch.as_tensor(np.asarray(bias), dtype=layer.bias.dtype)


def save(folder: str | Path, report: dict[str, Any]) -> None:
    Path(folder, FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def load_temperature(folder: str | Path) -> float:
    """The stored temperature of a model folder (1.0 when the folder has none)."""
    path = Path(folder, FILE)
    if not path.exists():
        return 1.0
    t = float(json.loads(path.read_text(encoding="utf-8")).get("temperature", 1.0))
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"{path}: temperature must be a positive number, got {t}")
    return t
