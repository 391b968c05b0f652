"""Where a training run stands, saved to ``resume.pt`` so that a killed run can go on.

A run that saves its state (``--save-every N``) writes it every N steps and after each epoch;
``--resume`` reads it back and continues from the next batch, ending with the weights an
uninterrupted run would have: the epoch's batch order, the random generators, the optimizer's
moments and the EMA weights are all in it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sentiment.atomic import atomic_write
from sentiment.classify.datasets import DataError

RESUME_FILE = "resume.pt"  # in the output folder while a run that saves its state is unfinished


@dataclass
class TrainState:
    """The counters and records of a run (``step``…``save_every``) and, once taken by
    :meth:`sentiment.classify.training.loop.Loop.capture`, the state of its weights, optimizer,
    schedule and random generators (``model``…``torch_rng``)."""

    config: dict[str, Any]  # the recipe the run follows, as TrainConfig.to_dict()
    step: int = 0
    epoch: int = 0
    batches: list[list[int]] | None = None  # this epoch's, while it is under way
    next_batch: int = 0  # the index in ``batches`` of the next batch to train on
    running: float = 0.0  # this epoch's loss so far, summed over its examples
    seen: int = 0  # this epoch's examples so far
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per scored epoch and weights
    best: dict[str, Any] = field(default_factory=lambda: {"macro_f1": -1.0})
    best_state: dict[str, Any] | None = None  # the best weights so far
    elapsed: float = 0.0  # seconds the run has taken so far
    save_every: int | None = None
    model: dict[str, Any] | None = None
    optimizer: dict[str, Any] | None = None
    scheduler: dict[str, Any] | None = None
    ema: dict[str, Any] | None = None
    rng: tuple[Any, ...] | None = None  # the batch order's random.Random
    torch_rng: Any = None

    def start_epoch(self, batches: list[list[int]]) -> None:
        """A new epoch that trains on ``batches`` in order."""
        self.epoch += 1
        self.batches = batches
        self.next_batch, self.running, self.seen = 0, 0.0, 0

    def save(self, path: str | Path) -> None:
        """Write the state to ``path`` (atomically: a crash never leaves half a file)."""
        import torch

        with atomic_write(Path(path)) as partial:
            torch.save({f.name: getattr(self, f.name) for f in fields(self)}, partial)

    @classmethod
    def load(cls, path: str | Path) -> TrainState:
        """The state a run saved to ``path``; a file without one is a usage error."""
        import torch

        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no saved training state to resume (start the run with --save-every)")
        saved = torch.load(path, weights_only=True)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in saved.items() if k in known})

    def check_config(self, config: dict[str, Any], path: str | Path) -> None:
        """The saved run must have followed ``config``: resuming with other settings would
        give a model that no recipe describes."""
        if self.config != config:
            changed = sorted(k for k in set(config) | set(self.config) if self.config.get(k) != config.get(k))
            raise DataError(f"{path}: saved by a run with other settings ({', '.join(changed)}); "
                            "resume with the recipe and options it started with")
