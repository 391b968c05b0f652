"""Score texts with the fine-tuned classifier: calibrated bearish / neutral / bullish probabilities.

``SentimentModel.load()`` finds the shipped model by itself (``default_model_path()``: the env
var ``SENTIMENT_MODEL``, else ``models/crypto-minilm-sentiment`` next to the package). Inference
is batched with length bucketing (texts sorted by token length, each batch padded only to its
longest text, original order restored). A text longer than the model's window is cut into
overlapping windows whose probabilities are averaged, so nothing is truncated away and nothing
crashes. Probabilities are divided by the temperature stored in ``calibration.json``.

The backend (the thing that turns token ids into logits) is a small seam: torch or ONNX
Runtime int8 (``sentiment.classify.onnx``, the ``auto`` default) behind the same ``logits`` method.
The device is the CPU or a CUDA GPU (:func:`resolve_device`): on a GPU the classifier runs in
torch, in float16 when it gives the float32 probabilities on a probe batch, with batches of up
to ``GPU_BATCH_TOKENS`` padded tokens.

A model trained on target-level data as well (``sentiment.json`` in its folder says
``"tasks": ["sentence", "target"]``) also scores the sentiment of a text toward one thing it
names (:meth:`SentimentModel.score_targets`): it reads the target's words, the separator token
and the text (``sentiment.classify.targets.target_input``), one window long.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sentiment.classify import calibration
from sentiment.classify.datasets import DataError, label_index, repo_root
from sentiment.classify.hub import load_pretrained
from sentiment.schema import LABELS, Score

ENV_VAR = "SENTIMENT_MODEL"
# Padded tokens per classifier call: short sentences go 64 at a time, long ones in smaller
# batches, so the activations (and the runtime's memory arena) stay small.
MAX_BATCH_TOKENS = 2048
DEFAULT_NAME = "crypto-minilm-sentiment"
FAST_NAME = "crypto-minilm-l3-sentiment"
LARGE_NAME = "crypto-mpnet-sentiment"
# Model profiles accepted wherever a model folder is (``--model fast``).
PROFILES = {"default": DEFAULT_NAME, "fast": FAST_NAME, "large": LARGE_NAME}
# Models too large for git: built on the user's machine, in the repository, by this command.
BUILT_LOCALLY = {LARGE_NAME: "make model-large"}
BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")
# On a GPU: padded tokens and rows per classifier call (the GPU is fed large batches).
GPU_BATCH_TOKENS = 65536
GPU_BATCH_ROWS = 1024
# float16 is kept on a GPU when its probabilities on a probe batch are this close to float32's.
FP16_TOLERANCE = 0.005
# The model folder's file of what the model was trained for: {"tasks": ["sentence", "target"]}.
TASKS_FILE = "sentiment.json"
SENTENCE_TASK, TARGET_TASK = "sentence", "target"
# Characters of text per token of the model's window, to cut a long text around a target.
CHARS_PER_TOKEN = 4


def _tasks_document(folder: str | Path) -> dict[str, Any]:
    """A model folder's ``sentiment.json`` (``{}`` when it has none)."""
    path = Path(folder) / TASKS_FILE
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        doc = None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a JSON object of the model's tasks")  # noqa: TRY004  (a bad file, not a bad argument)
    return doc


def model_tasks(folder: str | Path) -> tuple[str, ...]:
    """The tasks a model folder was trained for (``sentiment.json``'s ``"tasks"``); a folder
    without the file holds a sentence classifier."""
    doc = _tasks_document(folder)
    if not doc:
        return (SENTENCE_TASK,)
    tasks = doc.get("tasks")
    if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
        raise ValueError(f"{Path(folder) / TASKS_FILE}: \"tasks\" must be a list of names, "
                         "e.g. [\"sentence\", \"target\"]")
    return tuple(tasks)


def model_target_gate(folder: str | Path) -> float | None:
    """The confidence at which a sentence's own score stands for its assets' target scores
    (``sentiment.json``'s ``"target_gate"``, chosen on the model's validation parts), or
    ``None`` when every (sentence, asset) pair is scored as a target."""
    gate = _tasks_document(folder).get("target_gate")
    if gate is None:
        return None
    if isinstance(gate, bool) or not isinstance(gate, (int, float)) or not 0 < gate <= 1:
        raise ValueError(f"{Path(folder) / TASKS_FILE}: \"target_gate\" must be a probability "
                         f"in (0, 1], got {gate!r}")
    return float(gate)


def default_model_path() -> Path:
    """Where the default model lives: ``$SENTIMENT_MODEL`` if set, else the shipped
    ``crypto-minilm-sentiment`` (see :func:`shipped_model_path`)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return shipped_model_path(DEFAULT_NAME)


def shipped_model_path(name: str) -> Path:
    """The shipped model folder ``<name>``: ``sentiment/models/<name>`` inside an installed
    package (the wheel puts the repository's ``models/`` there), else the repository's
    ``models/<name>`` (an editable install, or a model built locally such as the large one).
    When neither has a ``config.json``, the repository path, for the error message."""
    candidates = [Path(__file__).resolve().parents[1] / "models" / name, repo_root() / "models" / name]
    for path in candidates:
        if (path / "config.json").exists():
            return path
    return candidates[-1]


def resolve_model_path(model: str | Path | None = None) -> Path:
    """A model argument as a folder: ``None`` or ``"default"`` → :func:`default_model_path`;
    an existing folder → itself; a profile (``"fast"``: the 3-layer student, about twice as fast
    at some accuracy cost; ``"large"``: the 110M-parameter model that ``make model-large``
    builds) or the name of a shipped model → ``models/<name>``."""
    if model is None or str(model) == "default":
        return default_model_path()
    path = Path(model).expanduser()
    if path.exists():
        return path
    name = PROFILES.get(str(model), str(model))
    if name and "/" not in name and "\\" not in name:
        shipped = shipped_model_path(name)
        if (shipped / "config.json").exists():
            return shipped
    return path


def missing_model_message(model: str | Path | None, folder: Path) -> str:
    """Why ``model`` cannot be loaded, and what to do about it."""
    name = PROFILES.get(str(model), str(model))
    if name in BUILT_LOCALLY:
        return (f"the {model!r} model ({name}) is not shipped but built on your machine, and it is not "
                f"built yet: run `{BUILT_LOCALLY[name]}` in the repository (one training run: 2,103 s on "
                f"the project's 2-core machine), or pass the folder of a model you built with its recipe")
    return (f"no model at {folder} (config.json missing); pass a model folder, "
            f"a profile ({', '.join(PROFILES)}) or set {ENV_VAR}")


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU."""
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(device: str = "auto") -> str:
    """``"cpu"`` or ``"cuda"`` for a device argument: ``auto`` is ``cuda`` when torch sees a
    GPU, else ``cpu``; ``cuda`` without a GPU is an error."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; available: {', '.join(DEVICES)}")
    if device == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if device == "cuda":
        raise ValueError("device cuda was asked for, but torch sees no CUDA GPU on this machine "
                         "(use device cpu or auto)")
    return "cpu"


class Backend(Protocol):
    """Turns padded token ids into logits; one per runtime (torch, onnx). ``config`` is the
    Hugging Face config (labels, window size)."""

    config: Any

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


class TorchBackend:
    """A transformers ``AutoModelForSequenceClassification``: float32 on the CPU; on a CUDA
    device float16 when it holds parity with float32 (:meth:`fp16_parity`), else float32."""

    def __init__(self, path: Path, threads: int | None = None, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModelForSequenceClassification

        if threads:
            torch.set_num_threads(int(threads))
        self._torch = torch
        self.device = device
        self.model = load_pretrained(AutoModelForSequenceClassification, path).to(device)
        self.model.eval()
        self.config = self.model.config
        self.dtype = "float32"
        if device != "cpu":
            self.max_batch_tokens, self.max_batch_rows = GPU_BATCH_TOKENS, GPU_BATCH_ROWS
            if self.fp16_parity():
                self.model.half()
                self.dtype = "float16"

    def fp16_parity(self, tolerance: float = FP16_TOLERANCE) -> bool:
        """Whether float16 gives float32's probabilities (within ``tolerance``) on a fixed probe
        batch of token ids; the model is left in float32."""
        rng = np.random.default_rng(0)
        vocab = int(getattr(self.config, "vocab_size", 1000))
        ids = rng.integers(min(1000, vocab - 1), vocab, size=(16, 64)).astype(np.int64)
        mask = np.ones_like(ids)
        mask[8:, 32:] = 0  # half the rows padded, as real batches are
        full = self.logits(ids, mask)
        self.model.half()
        try:
            half = self.logits(ids, mask)
        finally:
            self.model.float()
        if not np.isfinite(half).all():
            return False
        return bool(np.abs(_softmax(half) - _softmax(full)).max() <= tolerance)

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids).to(self.device),
                             attention_mask=torch.from_numpy(attention_mask).to(self.device))
        return out.logits.float().cpu().numpy()


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def make_backend(folder: Path, backend: str = "auto", threads: int | None = None,
                 device: str = "cpu") -> Backend:
    """``torch``: torch (float32 on the CPU); ``onnx``: ONNX Runtime, int8 unless
    ``$SENTIMENT_ONNX_PRECISION`` says ``fp32`` (built once and cached, see
    ``sentiment.classify.onnx``; an error when it cannot be had); ``auto``: onnx when it can be
    had, else torch. ``device`` ``cuda`` (see :func:`resolve_device`) runs torch on the GPU."""
    if device != "cpu":
        if backend == "onnx":
            raise ValueError("the onnx backend runs on the CPU; on a GPU the classifier runs in torch "
                             "(backend torch or auto)")
        return TorchBackend(folder, threads, device)
    if backend != "torch":
        from sentiment.classify import onnx

        try:
            return onnx.OnnxBackend.from_folder(folder, threads=threads)
        except onnx.OnnxUnavailable as exc:
            if backend == "onnx":
                raise
            logging.getLogger(__name__).warning("ONNX backend unavailable, using torch: %s", exc)
    return TorchBackend(folder, threads)


class SentimentModel:
    """Calibrated three-way sentiment of texts (probabilities in ``LABELS`` order)."""

    labels: tuple[str, str, str] = LABELS

    def __init__(self, backend: Backend, tokenizer: Any, path: Path, temperature: float = 1.0,
                 max_length: int = 128, label_order: Sequence[int] = (0, 1, 2)) -> None:
        self.backend = backend
        self.tokenizer = tokenizer
        self.path = path
        self.temperature = float(temperature)
        self.max_length = int(max_length)
        self._order = list(label_order)  # model output column for each of LABELS
        self._pad_id = tokenizer.pad_token_id or 0

    @cached_property
    def tasks(self) -> tuple[str, ...]:
        """What the model was trained for (:func:`model_tasks`, read once)."""
        return model_tasks(self.path)

    @property
    def supports_targets(self) -> bool:
        """Whether :meth:`score_targets` gives the sentiment toward a target (the model was
        trained on target-level data), not a sentence score."""
        return TARGET_TASK in self.tasks

    @cached_property
    def target_gate(self) -> float | None:
        """The model's target gate (:func:`model_target_gate`, read once); ``None`` for a
        sentence model."""
        return model_target_gate(self.path) if self.supports_targets else None

    @classmethod
    def load(cls, path: str | Path | None = None, *, backend: str = "auto",
             threads: int | None = None, device: str = "cpu") -> SentimentModel:
        """Load a model folder or profile (default: :func:`default_model_path`; see
        :func:`resolve_model_path`) onto ``device`` (``auto``, ``cpu`` or ``cuda``:
        :func:`resolve_device`)."""
        from transformers import AutoTokenizer

        folder = resolve_model_path(path)
        if not (folder / "config.json").exists():
            raise FileNotFoundError(missing_model_message(path, folder))
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
        engine = make_backend(folder, backend, threads, resolve_device(device))
        tokenizer = AutoTokenizer.from_pretrained(folder)
        config = engine.config
        names = [str(config.id2label[i]) for i in range(config.num_labels)]
        if config.num_labels != len(LABELS):
            raise ValueError(f"{folder}: expected a 3-label classifier, found labels {names}")
        try:
            by_index = [label_index(n) for n in names]
        except DataError:
            raise ValueError(f"{folder}: id2label {names} cannot be mapped to {LABELS}") from None
        order = [by_index.index(i) for i in range(len(LABELS))]
        limit = min(int(tokenizer.model_max_length or 512), int(config.max_position_embeddings), 512)
        return cls(engine, tokenizer, folder, calibration.load_temperature(folder), limit, order)

    # ------------------------------------------------------------------ scoring
    def logits(self, texts: Sequence[str], batch_size: int = 64, *,
               windows: bool = True) -> tuple[np.ndarray, list[int]]:
        """Raw logits of every window (``LABELS`` order) and the text each window belongs to;
        ``windows=False``: one window per text, its first ``max_length`` tokens."""
        clean = [t if isinstance(t, str) else "" for t in texts]
        if windows:  # long texts cut into windows of max_length tokens overlapping by a quarter
            enc = self.tokenizer(clean, truncation=True, max_length=self.max_length,
                                 stride=self.max_length // 4, return_overflowing_tokens=True)
            owner: list[int] = [int(i) for i in enc["overflow_to_sample_mapping"]]
        else:
            enc = self.tokenizer(clean, truncation=True, max_length=self.max_length)
            owner = list(range(len(clean)))
        rows: list[list[int]] = enc["input_ids"]
        out = np.zeros((len(rows), len(LABELS)), dtype=np.float64)
        order = sorted(range(len(rows)), key=lambda r: len(rows[r]))
        size = max(1, batch_size, getattr(self.backend, "max_batch_rows", 0))
        tokens = getattr(self.backend, "max_batch_tokens", MAX_BATCH_TOKENS)
        for idx in _batches(order, [len(r) for r in rows], size, tokens):
            width = max(len(rows[r]) for r in idx)
            input_ids = np.full((len(idx), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for j, r in enumerate(idx):
                input_ids[j, :len(rows[r])] = rows[r]
                mask[j, :len(rows[r])] = 1
            out[idx] = self.backend.logits(input_ids, mask)[:, self._order]
        return out, owner

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64, *, windows: bool = True) -> np.ndarray:
        """(n, 3) calibrated probabilities in ``LABELS`` order; rows sum to 1. Blank text is
        neutral (0, 1, 0); long text is the mean over its windows (``windows=False``: its first
        window alone). A text that repeats (feed boilerplate, a lead that restates another
        article's) is scored once."""
        if isinstance(texts, str):
            raise TypeError("predict_proba takes a sequence of texts, not one string")
        slot: dict[str, int] = {}
        where = [slot.setdefault(t if isinstance(t, str) else "", len(slot)) for t in texts]
        unique = list(slot)
        probs = np.zeros((len(unique), len(LABELS)), dtype=np.float64)
        if not unique:
            return probs
        logits, owner = self.logits(unique, batch_size, windows=windows)
        window_probs = calibration.probabilities(logits, self.temperature)
        counts = np.bincount(owner, minlength=len(unique)).astype(np.float64)
        np.add.at(probs, np.asarray(owner), window_probs)
        probs /= counts[:, None]
        probs[[i for i, t in enumerate(unique) if not t.strip()]] = (0.0, 1.0, 0.0)
        return probs[where]

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[str]:
        """The most probable label of each text."""
        return [LABELS[i] for i in self.predict_proba(texts, batch_size).argmax(axis=1)]

    def score(self, texts: Sequence[str], batch_size: int = 64) -> list[Score]:
        """A :class:`~sentiment.schema.Score` per text (label, P(bullish) − P(bearish), probs)."""
        return [Score.from_probs(p) for p in self.predict_proba(texts, batch_size)]

    def target_texts(self, pairs: Sequence[tuple[str, tuple[int, int]]]) -> list[str]:
        """The input the model reads for each ``(text, span)`` pair: the target's words, the
        separator and the text, cut to the sentences around the target when it is longer than
        the window."""
        from sentiment.classify.targets import (  # sklearn: only when needed
            target_input,
            target_window,
        )

        sep = str(self.tokenizer.sep_token or "[SEP]")
        budget = CHARS_PER_TOKEN * self.max_length
        return [target_input(*target_window(text, span, budget), sep) for text, span in pairs]

    def score_targets(self, pairs: Sequence[tuple[str, tuple[int, int]]], batch_size: int = 64) -> list[Score]:
        """The sentiment of each text toward the target at its span (``text[start:end]``), as a
        :class:`~sentiment.schema.Score`. Needs a model trained for it
        (:attr:`supports_targets`): a sentence classifier would score the text, not the target."""
        if not self.supports_targets:
            raise ValueError(f"{self.path}: a sentence model (no \"target\" in {TASKS_FILE}); "
                             "it cannot score the sentiment toward a target")
        for text, span in pairs:
            if not (isinstance(text, str) and 0 <= span[0] < span[1] <= len(text)):
                raise ValueError(f"span {span!r} is not inside its text (length {len(text)})")
        texts = self.target_texts(pairs)
        return [Score.from_probs(p) for p in self.predict_proba(texts, batch_size, windows=False)]


def _batches(order: list[int], lengths: list[int], size: int, max_tokens: int) -> list[list[int]]:
    """Cut ``order`` (sorted by length, shortest first) into batches of at most ``size`` rows
    and at most ``max_tokens`` padded tokens (a row longer than that goes alone)."""
    batches: list[list[int]] = []
    current: list[int] = []
    for r in order:
        if current and (len(current) >= size or (len(current) + 1) * lengths[r] > max_tokens):
            batches.append(current)
            current = []
        current.append(r)
    if current:
        batches.append(current)
    return batches
