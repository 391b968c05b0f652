"""Fine-tune a transformer into the three-way bearish / neutral / bullish classifier.

One recipe file (JSON or TOML) says everything: base model, data, hyper-parameters, seed
(``sentiment train --config R --out DIR``; ``--set key=value`` changes one key of it). The
package, in the order a run uses it:

* ``config.py``: :class:`TrainConfig`, the recipe (``"extends"``, ``--set`` overrides, the
  errors for unknown or removed keys) and :func:`resolve_base`, where a base model comes from;
* ``targets.py``: target-level data entries as model inputs (``"target [SEP] text"``), their
  validation part scored apart, the ``sentiment.json`` of tasks a model folder serves;
* ``examples.py``: what a run trains on (data entries repeated or thinned, augmented copies);
* ``layers.py``: a smaller student made of some of its base's layers (``"layers"``);
* ``distill.py``: the teacher's probabilities (from a model folder, cached, or a ``.npz`` file
  of its logits) and the distillation loss;
* ``batches.py``: length-bucketed batches, padding, a model's logits for tokenised texts;
* ``loop.py``: optimizer, schedule, EMA and the steps of one epoch;
* ``state.py``: :class:`TrainState`, what ``resume.pt`` holds so a killed run can go on;
* ``validation.py``: validation scores, and scoring or recalibrating a finished folder;
* ``trainer.py``: :func:`train`, one run from recipe to model folder.
"""
from sentiment.classify.training.batches import length_bucketed_batches, predict_logits
from sentiment.classify.training.config import (
    BASE_PACKAGE,
    REMOVED_AT,
    TrainConfig,
    apply_overrides,
    parse_override,
    read_recipe,
    resolve_base,
)
from sentiment.classify.training.distill import distillation_loss, teacher_logits, teacher_probs
from sentiment.classify.training.examples import training_examples
from sentiment.classify.training.layers import keep_layers
from sentiment.classify.training.state import RESUME_FILE, TrainState
from sentiment.classify.training.trainer import train
from sentiment.classify.training.validation import (
    calibrate_folder,
    macro_f1,
    validation_inputs,
    validation_logits,
    validation_scores,
)

__all__ = [
    "BASE_PACKAGE", "REMOVED_AT", "RESUME_FILE", "TrainConfig", "TrainState", "apply_overrides",
    "calibrate_folder", "distillation_loss", "keep_layers", "length_bucketed_batches", "macro_f1",
    "parse_override", "predict_logits", "read_recipe", "resolve_base", "teacher_logits", "teacher_probs",
    "train", "training_examples", "validation_inputs", "validation_logits", "validation_scores",
]
