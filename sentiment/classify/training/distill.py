"""Knowledge distillation: a trained teacher's softened probabilities as extra targets.

A recipe's ``teacher`` is a trained classifier folder (bearish/neutral/bullish, in that order)
or a ``.npz`` file of such a teacher's logits, scored elsewhere (a bigger machine, a teacher not
kept locally). The loss of a batch mixes the teacher's probabilities at temperature
``distill_temperature`` (weight ``distill_alpha``) with the gold labels; unlabelled texts (a
``"split": "transfer"`` entry, ``augment`` copies) learn from the teacher alone.

A teacher folder scores each text once: its logits are cached (``teacher/`` beside the ONNX
graphs), one file per teacher and ``max_length`` holding every text it has scored, so a recipe
that adds data scores only the new texts.
"""
from __future__ import annotations

import hashlib
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.atomic import atomic_write
from sentiment.classify.datasets import UNLABELLED, resolve_path
from sentiment.classify.hub import load_pretrained
from sentiment.classify.training.batches import predict_logits
from sentiment.classify.training.config import resolve_base
from sentiment.schema import LABELS

Log = Callable[[str], None]


def check_teacher(teacher: str | Path) -> None:
    """Fail now, before hours of work, if the teacher (a folder or logits file) is missing."""
    if str(teacher).endswith(".npz"):
        _logits_file(teacher)
    else:
        resolve_base(teacher, "teacher")


def teacher_probs(teacher: str | Path, texts: list[str], max_length: int, temperature: float,
                  log: Log) -> np.ndarray:
    """Soft targets for distillation: the teacher's probabilities at ``temperature`` for every
    training text."""
    from scipy.special import softmax

    logits = teacher_logits(teacher, texts, max_length, log).astype(np.float64)
    return softmax(logits / temperature, axis=1).astype(np.float32)


def teacher_logits(teacher: str | Path, texts: list[str], max_length: int, log: Log) -> np.ndarray:
    """The teacher's logits (float32) for every text: from a ``.npz`` logits file (``keys``:
    :func:`_text_key` of each text, ``logits``; it must hold every text), or scored by a teacher
    folder with the texts it scored before read from its cache."""
    if str(teacher).endswith(".npz"):
        return _stored_logits(_logits_file(teacher), texts, log)
    folder = resolve_base(teacher, "teacher")
    if not texts:
        return np.empty((0, len(LABELS)), dtype=np.float32)
    cached = _teacher_cache_file(folder, max_length)
    known_keys, known = (_load_cached(cached) if cached.is_file()
                         else (np.empty(0, dtype="U32"), np.empty((0, len(LABELS)), dtype=np.float32)))
    row = {k: i for i, k in enumerate(known_keys.tolist())}
    keys = [_text_key(t) for t in texts]
    missing = {k: t for k, t in zip(keys, texts) if k not in row}  # key -> text, each new text once
    if missing:
        started = time.time()
        scored = _score(folder, list(missing.values()), max_length)
        log(f"teacher {folder}: {len(missing)} texts scored in {time.time() - started:.0f}s"
            f" (logits; {len(row)} known from the cache {cached})")
        row.update({k: len(row) + i for i, k in enumerate(missing)})
        known_keys = np.concatenate([known_keys, np.array(list(missing), dtype="U32")])
        known = np.concatenate([known, scored])
        with atomic_write(cached) as partial, open(partial, "wb") as fh:
            np.savez(fh, keys=known_keys, logits=known)  # a file object: no ".npz" appended
    else:
        log(f"teacher {folder}: {len(set(texts))} texts' logits from the cache ({cached})")
    return known[[row[k] for k in keys]]


def _score(folder: Path, texts: list[str], max_length: int) -> np.ndarray:
    """The logits of the classifier in ``folder`` for ``texts``; its labels must be ours."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    net = load_pretrained(AutoModelForSequenceClassification, folder)
    names = [net.config.id2label[i] for i in range(net.config.num_labels)]
    if names != list(LABELS):
        raise ValueError(f"teacher {folder}: labels {names}, expected {list(LABELS)}")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    return predict_logits(net, ids, tokenizer.pad_token_id or 0).astype(np.float32)


def _load_cached(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``keys`` and ``logits`` of a teacher's ``.npz`` file (the cache's format)."""
    with np.load(path) as stored:
        return stored["keys"], stored["logits"]


def _logits_file(teacher: str | Path) -> Path:
    """The path of a teacher given as a ``.npz`` logits file; it must exist."""
    path = resolve_path(teacher)
    if not path.is_file():
        raise FileNotFoundError(f"teacher logits {teacher}: no such file")
    return path


def _stored_logits(path: Path, texts: list[str], log: Log) -> np.ndarray:
    """Every text's row of a teacher-logits ``.npz`` file (see :func:`teacher_logits`)."""
    try:
        keys_stored, logits = _load_cached(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"teacher logits {path}: not a .npz file with arrays 'keys' and 'logits' ({exc})") from None
    row = {k: i for i, k in enumerate(keys_stored.tolist())}
    if logits.ndim != 2 or logits.shape[1] != len(LABELS):
        raise ValueError(f"teacher logits {path}: shape {logits.shape}, expected (n, {len(LABELS)})")
    keys = [_text_key(t) for t in texts]
    missing = sum(k not in row for k in set(keys))
    if missing:
        raise ValueError(f"teacher logits {path}: {missing} of the {len(set(keys))} training texts are "
                         "not in it; name the teacher's folder instead so that it scores them")
    log(f"teacher logits {path}: {len(set(keys))} texts")
    return logits[[row[k] for k in keys]].astype(np.float32)


def _text_key(text: str) -> str:
    """A text's row key in a teacher's cache (128 bits of its SHA-256, in hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _teacher_cache_file(folder: Path, max_length: int) -> Path:
    """Cache file of a teacher's logits: changes with its weights, tokenizer and the truncation
    length (and torch's version); it grows with every text the teacher scores."""
    import torch

    from sentiment.classify.onnx import cache_root, weights_digest

    h = hashlib.sha256()
    h.update(json.dumps({"weights": weights_digest(folder), "max_length": max_length,
                         "torch": torch.__version__}).encode())
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (folder / name).is_file():
            h.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return cache_root() / "teacher" / f"{h.hexdigest()[:24]}.npz"


def distillation_loss(student_logits: Any, teacher_probs: Any, temperature: float) -> Any:
    """KL divergence from the teacher's softened probabilities to the student's, scaled by
    T² so its gradients stay comparable to the cross-entropy's (Hinton et al. 2015)."""
    import torch

    log_p = torch.log_softmax(student_logits / temperature, dim=-1)
    return torch.nn.functional.kl_div(log_p, teacher_probs, reduction="batchmean") * temperature ** 2


def batch_loss(logits: Any, gold: Any, loss_fn: Any, soft: Any | None = None,
               alpha: float = 0.5, temperature: float = 2.0) -> Any:
    """One batch's loss: ``loss_fn`` (cross-entropy) over its labelled texts, mixed with weight
    ``alpha`` with the distillation loss over all of them when the teacher's probabilities
    ``soft`` are given. Transfer-set texts (label :data:`UNLABELLED`) are ignored by the first
    term, so a batch of them only learns from the teacher.

    A row of ``soft`` that is NaN is a text the teacher does not label (a target-level input:
    a sentence teacher cannot read one). A batch with such rows is scored row by row: those
    rows by their cross-entropy alone, the others by ``(1 - alpha)`` cross-entropy plus
    ``alpha`` distillation, averaged over the batch."""
    if soft is not None:
        import torch

        taught = ~torch.isnan(soft[:, 0])
        if not bool(taught.all()):
            return _mixed_batch_loss(logits, gold, loss_fn, soft, taught, alpha, temperature)
    labelled = bool((gold != UNLABELLED).any())
    loss = loss_fn(logits, gold) if labelled else logits.sum() * 0.0
    if soft is None:
        return loss
    return (1 - alpha) * loss + alpha * distillation_loss(logits, soft, temperature)


def _mixed_batch_loss(logits: Any, gold: Any, loss_fn: Any, soft: Any, taught: Any,
                      alpha: float, temperature: float) -> Any:
    """:func:`batch_loss` of a batch where only the rows ``taught`` have the teacher's
    probabilities."""
    import torch
    import torch.nn.functional as F

    ce = F.cross_entropy(logits, gold, reduction="none", ignore_index=UNLABELLED,
                         label_smoothing=float(getattr(loss_fn, "label_smoothing", 0.0)))
    log_p = torch.log_softmax(logits / temperature, dim=-1)
    target = torch.nan_to_num(soft, nan=0.0)  # a zero target adds nothing to the KL sum
    kl = F.kl_div(log_p, target, reduction="none").sum(dim=1) * temperature ** 2
    rows = torch.where(taught, (1 - alpha) * ce + alpha * kl, ce)
    return rows.mean()
