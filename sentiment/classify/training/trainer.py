"""A whole training run: from a recipe to a model folder.

:func:`train` reads the data, builds the student (the base model, word embeddings frozen,
optionally only some of its layers), asks the teacher for its probabilities, runs the loop
(:mod:`.loop`) epoch by epoch, scores raw and EMA weights on the validation split after each
epoch and keeps the best, fits a temperature on the validation logits (``calibration.py``) and
writes the folder: a plain Hugging Face folder (fp16 safetensors, config with id2label /
label2id, tokenizer) plus ``calibration.json``, ``sentiment.json`` (the tasks it serves),
``train_config.json`` and ``train_log.json``.

A recipe with target-level entries (:mod:`.targets`) trains one model for both tasks: their
validation part is scored apart (``val_target_*``), the epoch kept is the one with the best mean
of the sentence and the target validation macro-F1, and the temperature is fitted on both.
"""
from __future__ import annotations

import copy
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.classify import calibration
from sentiment.classify.datasets import (
    UNLABELLED,
    DataError,
    LabelledTexts,
    TrainingData,
    training_data,
)
from sentiment.classify.hub import load_pretrained, quiet_transformers
from sentiment.classify.training.batches import predict_logits
from sentiment.classify.training.config import TrainConfig, read_recipe, resolve_base
from sentiment.classify.training.distill import check_teacher, teacher_probs
from sentiment.classify.training.examples import training_examples
from sentiment.classify.training.layers import keep_layers
from sentiment.classify.training.loop import Loop
from sentiment.classify.training.state import RESUME_FILE, TrainState
from sentiment.classify.training.targets import (
    TASKS_FILE,
    TargetParts,
    sentence_entries,
    target_names,
    target_parts,
    tasks_document,
)
from sentiment.classify.training.validation import validation_scores
from sentiment.schema import LABELS

Log = Callable[[str], None]


def train(config: TrainConfig, out_dir: str | Path, *, base: str | Path | None = None,
          root: Path | None = None, log: Log | None = None, data: TrainingData | None = None,
          recipe_file: str | Path | None = None, overrides: Sequence[str] = (),
          checkpoint_dir: str | Path | None = None, save_every: int | None = None,
          resume: bool = False, keep_epochs: bool = False) -> dict[str, Any]:
    """Fine-tune per ``config`` and write the model folder to ``out_dir``; returns the log.

    ``recipe_file`` (the file ``config`` came from, with the ``overrides`` it was read with) is
    copied into the folder as JSON with the keys it inherits through ``"extends"`` written out,
    so the copy loads on its own; ``checkpoint_dir`` receives the best epoch's weights as soon as
    they are found. ``save_every`` N steps (and after each epoch) the whole training state goes to
    ``out_dir/resume.pt``; ``resume`` continues from that file (same recipe), ending with the
    weights an uninterrupted run would have. The file is removed when the run completes.
    ``keep_epochs`` writes each epoch's raw weights to ``out_dir/epoch-N`` once it is scored
    (float16, loadable like the model): the material for weight averages."""
    import torch

    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    torch.set_num_threads(max(1, int(config.threads)))
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    started = time.time()
    out, resume_file = Path(out_dir), Path(out_dir) / RESUME_FILE
    state = TrainState(config.to_dict(), save_every=save_every)
    if resume:
        state = TrainState.load(resume_file)
        state.check_config(config.to_dict(), resume_file)
        state.save_every = save_every or state.save_every  # keeps saving as the run began

    base_dir = resolve_base(base or config.base)
    if config.teacher:
        check_teacher(config.teacher)  # before hours of work, not after
    data = data or training_data(sentence_entries(config.data), root)
    targets = _targets(config, base_dir, data, root, log)
    train_set = training_examples(config, data, log, targets.train)
    _check_examples(config, train_set)
    val_set = data.validation
    log(f"base {base_dir}; train {len(train_set)} {train_set.counts()}; validation {len(val_set)}"
        + (f" + {len(targets.validation)} targets" if len(targets) else ""))
    loop, tokenizer = _build(config, base_dir, train_set, log, started)
    val_ids = _encode(tokenizer, val_set.texts, config.max_length) if len(val_set) else []
    val_sets = [(val_set, val_ids, "val_")]
    if len(targets.validation):
        val_sets.append((targets.validation, _encode(tokenizer, targets.validation.texts, config.max_length),
                         "val_target_"))

    def save() -> None:
        loop.capture(state)
        state.save(resume_file)

    if resume:
        loop.restore(state)
        log(f"resumed from {resume_file} at step {state.step}/{loop.total_steps} (epoch {state.epoch})")
    while state.step < loop.total_steps:
        loop.train_epoch(state, save)
        _score_epoch(loop, state, val_sets, tokenizer, checkpoint_dir)
        if keep_epochs:
            _save_half(loop.model, tokenizer, out / f"epoch-{state.epoch}")
        state.batches = None
        if state.save_every and state.step < loop.total_steps:  # the epoch is scored: go on with the next one
            save()

    cal = _finish(loop, state, val_sets, log)
    _write_folder(out, loop.model, tokenizer, config, cal)
    (out / TASKS_FILE).write_text(json.dumps(tasks_document(bool(len(targets))), indent=2) + "\n",
                                  encoding="utf-8")
    _write_recipe(out / "train_config.json", config, recipe_file, overrides)
    result = {"config": config.to_dict(), "base": str(base or config.base), "train_n": len(train_set),
              "validation_n": len(val_set), **({"validation_targets_n": len(targets.validation)} if len(targets) else {}),
              "train_counts": train_set.counts(), "best": state.best,
              "history": state.history, "calibration": cal, "seconds": round(time.time() - loop.started, 1),
              "torch": torch.__version__, "threads": torch.get_num_threads()}
    (out / "train_log.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    resume_file.unlink(missing_ok=True)
    log(f"saved {out} in {result['seconds']}s (best epoch {state.best.get('epoch')})")
    return result


def _targets(config: TrainConfig, base_dir: Path, data: TrainingData, root: Path | None, log: Log) -> TargetParts:
    """The model inputs of the recipe's target-level entries (none: empty parts)."""
    from transformers import AutoTokenizer

    if len(sentence_entries(config.data)) == len(config.data):
        empty = LabelledTexts([], [])
        return TargetParts(empty, empty)
    sep = str(AutoTokenizer.from_pretrained(base_dir).sep_token or "[SEP]")
    parts = target_parts(config.data, sep, config.max_length, data, root)
    log(f"targets: train {len(parts.train)}, validation {len(parts.validation)}"
        + (f", {parts.dropped} left out (their text is a held-out sentence)" if parts.dropped else ""))
    return parts


def _check_examples(config: TrainConfig, train_set: LabelledTexts) -> None:
    if not len(train_set):
        raise ValueError("the recipe gives no training examples")
    if UNLABELLED in train_set.labels and not config.teacher:
        raise DataError('unlabelled ("split": "transfer") data and "augment" copies need a "teacher" '
                        'to learn from')


def _encode(tokenizer: Any, texts: list[str], max_length: int) -> list[list[int]]:
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


def _build(config: TrainConfig, base_dir: Path, train_set: LabelledTexts, log: Log,
           started: float) -> tuple[Loop, Any]:
    """The training loop of the student (loaded from ``base_dir``), and its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    id2label = dict(enumerate(LABELS))
    extra: dict[str, Any] = {} if config.dropout is None else {"hidden_dropout_prob": config.dropout}
    model = load_pretrained(AutoModelForSequenceClassification, base_dir, log, num_labels=len(LABELS),
                            id2label=id2label, label2id={v: k for k, v in id2label.items()}, **extra)
    model.config.problem_type = "single_label_classification"
    if config.layers:
        keep_layers(model, config.layers)
        log(f"student: encoder layers {list(config.layers)} of the base")
    if config.freeze_word_embeddings:  # 11.7M of MiniLM's 22.7M weights: a third of the step time
        model.get_input_embeddings().weight.requires_grad_(False)
    soft_targets = None
    if config.teacher:
        soft_targets = torch.from_numpy(_teacher_targets(config, train_set, log))
    loop = Loop(config, model, _encode(tokenizer, train_set.texts, config.max_length),
                torch.tensor(train_set.labels, dtype=torch.long), soft_targets,
                tokenizer.pad_token_id or 0, log, started)
    return loop, tokenizer


def _teacher_targets(config: TrainConfig, train_set: LabelledTexts, log: Log) -> np.ndarray:
    """The teacher's probabilities per training example. A sentence teacher cannot read a
    target-level input: those rows are NaN, and learn from their labels alone."""
    assert config.teacher
    targets = target_names(config.data)
    taught = [i for i, source in enumerate(train_set.sources) if source not in targets]
    if len(taught) == len(train_set):
        return teacher_probs(config.teacher, train_set.texts, config.max_length, config.distill_temperature, log)
    probs = np.full((len(train_set), len(LABELS)), np.nan, dtype=np.float32)
    probs[taught] = teacher_probs(config.teacher, [train_set.texts[i] for i in taught], config.max_length,
                                  config.distill_temperature, log)
    log(f"teacher: {len(taught)} sentence examples; {len(train_set) - len(taught)} target inputs learn from their labels")
    return probs


ValSets = list[tuple[LabelledTexts, list[list[int]], str]]  # (split, token ids, prefix of its scores)


def selection_key(scores: dict[str, float], epoch: int, floor: float | None = None) -> tuple[bool, float]:
    """How a candidate (one epoch's raw or EMA weights) ranks, higher first: whether it holds
    the sentence floor (always, without one or without target data), then its validation
    macro-F1, with target data the mean of the sentence and the target macro-F1."""
    score = scores.get("val_macro_f1", float(epoch))
    if "val_target_macro_f1" not in scores:
        return True, score
    holds = floor is None or scores.get("val_macro_f1", 0.0) >= floor
    return holds, round((score + scores["val_target_macro_f1"]) / 2, 5)


def _score_epoch(loop: Loop, state: TrainState, val_sets: ValSets, tokenizer: Any,
                 checkpoint_dir: str | Path | None) -> None:
    """Score the raw weights (and the EMA's) on the validation splits, log it, keep the best:
    the best sentence macro-F1, or with target data the best mean of the sentence and the
    target macro-F1; with a ``sentence_floor`` too, any candidate whose sentence macro-F1 is
    at least the floor comes before any that is not (the target task must not cost the
    sentence task)."""
    model = loop.model
    record = {"epoch": state.epoch, "step": state.step, "train_loss": round(state.running / max(1, state.seen), 5)}
    candidates = [("raw", None)] + ([("ema", loop.ema.state)] if loop.ema is not None else [])
    for kind, weights in candidates:
        raw_state = None
        if weights is not None:
            raw_state = copy.deepcopy(model.state_dict())
            model.load_state_dict(weights, strict=False)
        scores: dict[str, float] = {}
        for val_set, val_ids, prefix in val_sets:
            if len(val_ids):
                found = validation_scores(predict_logits(model, val_ids, loop.pad_id).argmax(1), val_set)
                scores.update({prefix + key.removeprefix("val_"): value for key, value in found.items()})
        entry = {**record, "weights": kind, **scores, "seconds": round(time.time() - loop.started, 1)}
        state.history.append(entry)
        loop.log(json.dumps(entry))
        floor = loop.config.sentence_floor
        holds, score = selection_key(scores, state.epoch, floor)
        if (holds, score) > (state.best.get("holds_floor", floor is None), state.best["macro_f1"]):
            state.best = {"macro_f1": score, "epoch": state.epoch, "weights": kind,
                          **({} if floor is None else {"holds_floor": holds})}
            state.best_state = copy.deepcopy(model.state_dict())
            if checkpoint_dir:  # a usable model survives an interrupted run
                _save_half(model, tokenizer, Path(checkpoint_dir))
        if raw_state is not None:
            model.load_state_dict(raw_state)


def _finish(loop: Loop, state: TrainState, val_sets: ValSets, log: Log) -> dict[str, Any]:
    """Load the best weights into the model; returns the temperature fitted on validation
    (every validation split: one temperature serves both tasks)."""
    if state.best_state is not None:
        loop.model.load_state_dict(state.best_state)
    ids = [row for _, val_ids, _ in val_sets for row in val_ids]
    if not ids:
        return {"temperature": 1.0}
    logits = predict_logits(loop.model, ids, loop.pad_id)
    labels = [y for val_set, val_ids, _ in val_sets if len(val_ids) for y in val_set.labels]
    cal = calibration.fit_report(logits, np.asarray(labels))
    log(f"calibration: {cal}")
    return cal


def _write_folder(out: Path, model: Any, tokenizer: Any, config: TrainConfig, cal: dict[str, Any]) -> None:
    """The model folder: fp16 weights, config, tokenizer (its window: the recipe's inference
    length) and the calibration temperature."""
    out.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        model.half().save_pretrained(out)
    tokenizer.model_max_length = min(config.inference_max_length, model.config.max_position_embeddings)
    tokenizer.save_pretrained(out)
    calibration.save(out, cal)


def _write_recipe(target: Path, config: TrainConfig, recipe_file: str | Path | None,
                  overrides: Sequence[str]) -> None:
    """The recipe the run followed, with every key it inherits, so the copy loads from any
    folder (left alone when it is the very recipe file the run read, unchanged)."""
    if recipe_file is None:
        target.write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    elif overrides or not (target.exists() and target.resolve() == Path(recipe_file).resolve()):
        recipe = read_recipe(recipe_file, overrides)
        target.write_text(json.dumps(recipe, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _save_half(model: Any, tokenizer: Any, folder: Path) -> None:
    """The model's current weights as a loadable float16 folder (the training copy stays float32)."""
    with quiet_transformers():
        copy.deepcopy(model).half().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
