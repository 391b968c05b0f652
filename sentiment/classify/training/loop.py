"""The training loop: plain torch, so it is easy to read and fast on a CPU.

* AdamW with layer-wise learning-rate decay (:func:`param_groups`), linear warm-up then linear
  decay (:func:`warmup_then_decay`), gradients clipped to norm 1, label smoothing;
* optionally an exponential moving average of the weights (``ema``, :class:`Ema`), a cheap
  ensemble over steps;
* each step's loss is :func:`~sentiment.classify.training.distill.batch_loss`: cross-entropy on
  the gold labels, mixed with the teacher's probabilities when the recipe names a teacher.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sentiment.classify.datasets import UNLABELLED
from sentiment.classify.training.batches import length_bucketed_batches, pad
from sentiment.classify.training.config import TrainConfig
from sentiment.classify.training.distill import batch_loss
from sentiment.classify.training.state import TrainState

LOG_EVERY = 50  # steps between two loss lines in the log


def warmup_then_decay(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor at ``step``: linear warm-up over ``warmup`` steps, then linear decay
    to zero at ``total``."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def param_groups(model: Any, lr: float, layer_decay: float, weight_decay: float) -> list[dict]:
    """AdamW groups with layer-wise LR decay: the head gets ``lr``, each encoder layer below
    ``lr * layer_decay**depth``, the embeddings the smallest. No decay on biases / LayerNorm."""
    n_layers = model.config.num_hidden_layers
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


class Ema:
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


def total_steps(config: TrainConfig, examples: int) -> int:
    """The run's number of optimizer steps: ``epochs`` passes over the examples, at most
    ``max_steps``."""
    steps = max(1, round(math.ceil(examples / config.batch_size) * config.epochs))
    return min(steps, config.max_steps) if config.max_steps else steps


@dataclass
class Loop:
    """What a run's steps use: the model and what updates it, the examples (token ids, gold
    labels and, with a teacher, its probabilities) and the generator of the batch order."""

    config: TrainConfig
    model: Any
    train_ids: list[list[int]]
    labels: Any  # gold label per example (UNLABELLED for texts only the teacher labels)
    soft_targets: Any | None  # the teacher's probabilities per example
    pad_id: int
    log: Callable[[str], None]
    started: float  # time.time() when the run began (earlier by the time a resumed run had taken)
    # built from the above: the optimizer and its schedule, the EMA, the batch order's generator
    total_steps: int = field(init=False)
    trainable: list[Any] = field(init=False)
    optimizer: Any = field(init=False)
    scheduler: Any = field(init=False)
    loss_fn: Any = field(init=False)
    ema: Ema | None = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        import torch

        config = self.config
        self.total_steps = total_steps(config, len(self.train_ids))
        warmup = int(self.total_steps * config.warmup_ratio)
        groups = param_groups(self.model, config.lr, config.layer_decay, config.weight_decay)
        self.trainable = [p for g in groups for p in g["params"]]
        self.optimizer = torch.optim.AdamW(groups)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: warmup_then_decay(s, warmup, self.total_steps))
        self.loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing, ignore_index=UNLABELLED)
        self.ema = Ema(self.model, config.ema) if config.ema else None
        self.rng = random.Random(config.seed)

    def train_epoch(self, state: TrainState, save: Callable[[], None] | None = None) -> None:
        """Train on ``state``'s epoch from its next batch (a new epoch when none is under way)
        until the epoch or the run ends; ``save`` is called every ``state.save_every`` steps."""
        if state.batches is None:
            state.start_epoch(length_bucketed_batches([len(x) for x in self.train_ids],
                                                      self.config.batch_size, self.rng))
        assert state.batches is not None
        self.model.train()
        for index in range(state.next_batch, len(state.batches)):
            if state.step >= self.total_steps:
                break
            batch = state.batches[index]
            loss = self.step(batch)
            state.step += 1
            if self.ema is not None:
                self.ema.update(self.model, state.step)
            state.next_batch = index + 1
            state.running += loss * len(batch)
            state.seen += len(batch)
            if state.step % LOG_EVERY == 0:
                self.log(f"epoch {state.epoch} step {state.step}/{self.total_steps} loss "
                         f"{state.running / state.seen:.4f} ({time.time() - self.started:.0f}s)")
            if save and state.save_every and state.step % state.save_every == 0 and state.step < self.total_steps:
                save()

    def step(self, batch: list[int]) -> float:
        """One optimizer step on the examples ``batch``; returns its loss."""
        import torch

        input_ids, mask = pad([self.train_ids[i] for i in batch], self.pad_id)
        logits = self.model(input_ids=input_ids, attention_mask=mask).logits
        soft = None if self.soft_targets is None else self.soft_targets[batch]
        loss = batch_loss(logits, self.labels[batch], self.loss_fn, soft, self.config.distill_alpha,
                          self.config.distill_temperature)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.trainable, 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def capture(self, state: TrainState) -> None:
        """Put the weights, optimizer, schedule and generators into ``state``, to be saved."""
        import torch

        state.model = self.model.state_dict()
        state.optimizer = self.optimizer.state_dict()
        state.scheduler = self.scheduler.state_dict()
        state.ema = self.ema.state if self.ema is not None else None
        state.rng = self.rng.getstate()
        state.torch_rng = torch.get_rng_state()
        state.elapsed = time.time() - self.started

    def restore(self, state: TrainState) -> None:
        """Go on from a saved ``state`` (see :meth:`capture`)."""
        import torch

        self.model.load_state_dict(state.model)
        self.optimizer.load_state_dict(state.optimizer)
        self.scheduler.load_state_dict(state.scheduler)
        if self.ema is not None and state.ema is not None:
            self.ema.state = state.ema
        if state.rng is not None:
            self.rng.setstate(state.rng)
        torch.set_rng_state(state.torch_rng)
        self.started -= state.elapsed
        state.model = state.optimizer = state.scheduler = None  # in use now: no second copy
