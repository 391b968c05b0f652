"""Per-dataset classifier heads, for training only (a recipe data entry's ``"head": "name"``).

Data sets label by different conventions: Twitter Financial News calls "bullish" what a
PhraseBank annotator may call neutral. Trained through one head, the model learns a compromise.
An entry with its own head trains the shared encoder as before, but its labels reach the
logits through a separate copy of the classifier, so the model's own head, the one that
ships in the plain Hugging Face folder, learns only the other entries' conventions.
The extra heads are not saved: they exist to keep a data set's convention out of the shipped
head while its texts still teach the encoder.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

AUGMENTED = "+aug"  # augment.py names a copy's source "<entry name>+aug"


def entry_heads(entries: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Data entry name → head name, for the entries of a recipe that name a ``"head"``.
    A head must be a non-empty string, and at least one labelled entry must be left for the
    shipped head (else it would never learn)."""
    heads: dict[str, str] = {}
    for entry in entries:
        if "head" not in entry:
            continue
        head = entry["head"]
        if not isinstance(head, str) or not head.strip():
            raise ValueError(f"{entry.get('path')}: \"head\" must be a non-empty name, got {head!r}")
        heads[entry.get("name") or Path(entry["path"]).stem] = head
    labelled = [e for e in entries if e.get("split", "protocol") != "transfer"]
    if heads and all("head" in e for e in labelled):
        raise ValueError('every labelled data entry has its own "head": the shipped head would learn nothing')
    return heads


class DatasetHeads:
    """Copies of ``model.classifier``, one per head name, that take the classifier's own input
    (caught by a forward hook) for the rows of their data sets. ``route`` swaps those rows'
    logits; every other row keeps the shipped head's."""

    def __init__(self, model: Any, names: Sequence[str]) -> None:
        import torch

        self.names = list(dict.fromkeys(names))
        self.modules = torch.nn.ModuleList(copy.deepcopy(model.classifier) for _ in self.names)
        self._inputs: tuple[Any, ...] = ()
        self._hook = model.classifier.register_forward_hook(self._keep)

    def _keep(self, module: Any, args: tuple[Any, ...], output: Any) -> None:
        self._inputs = args

    def index(self, sources: Sequence[str], heads: dict[str, str]) -> np.ndarray:
        """Each row's head: 0 for the shipped head, k for ``names[k - 1]``."""
        number = {name: k for k, name in enumerate(self.names, 1)}
        return np.asarray([number.get(heads.get(s.removesuffix(AUGMENTED), ""), 0) for s in sources], dtype=np.int64)

    def route(self, logits: Any, head_of_row: Any) -> Any:
        """``logits`` of the last forward pass, with the rows of each extra head replaced by
        that head's logits (a new tensor: gradients reach the heads and the encoder)."""
        import torch

        head_of_row = torch.as_tensor(head_of_row)
        for k, head in enumerate(self.modules, 1):
            rows = (head_of_row == k).nonzero().squeeze(1)
            if len(rows):
                logits = logits.index_put((rows,), head(*(a[rows] for a in self._inputs)))
        return logits

    def parameters(self) -> list[Any]:
        return list(self.modules.parameters())

    def train(self, mode: bool = True) -> None:
        self.modules.train(mode)

    def state_dict(self) -> dict[str, Any]:
        return self.modules.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.modules.load_state_dict(state)

    def close(self) -> None:
        """Detach from the model (which then saves and runs as if the heads never were)."""
        self._hook.remove()
