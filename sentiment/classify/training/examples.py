"""What a run trains on: the recipe's training split, reshaped per data entry, plus augmented
copies. These are also the texts a teacher, or a teacher-logits file, must label."""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sentiment.classify.augment import Augment
from sentiment.classify.datasets import LabelledTexts, TrainingData, normalise
from sentiment.classify.training.config import TrainConfig


def training_examples(config: TrainConfig, data: TrainingData,
                      log: Callable[[str], None] = lambda message: None,
                      targets: LabelledTexts | None = None) -> LabelledTexts:
    """What a run of ``config`` trains on, in order: the training split, then the target-level
    inputs ``targets`` if any, reshaped per entry (``repeat``, ``fraction``), then the
    ``augment`` copies of sentences drawn from the seed (never a copy of a validation or test
    text, nor of a target input), cut to ``limit`` examples if set."""
    labelled = LabelledTexts.concat([data.train, targets], data.train.name) if targets else data.train
    train_set = repeat_sources(labelled, config.data, config.seed)
    if config.augment:
        held = {normalise(t) for part in [data.validation, *data.tests.values()] for t in part.texts}
        copies = Augment.from_dict(config.augment)(data.train, config.seed, held)
        log(f"augment: {len(copies)} perturbed copies for the teacher to label")
        train_set = LabelledTexts.concat([train_set, copies], train_set.name)
    if config.limit:
        keep = random.Random(config.seed).sample(range(len(train_set)), min(config.limit, len(train_set)))
        train_set = train_set.take(sorted(keep))
    return train_set


def repeat_sources(data: LabelledTexts, sources: list[dict[str, Any]], seed: int = 0) -> LabelledTexts:
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
