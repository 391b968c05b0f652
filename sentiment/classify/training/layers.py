"""Layer selection: a smaller student made of some encoder layers of its base (``"layers"``).

The fast profile keeps layers 0, 3 and 5 of the six of the default model: half the encoder,
about twice as fast, and every kept layer starts from trained weights. The config follows the
cut, so the saved folder is an ordinary smaller model that plain ``transformers`` loads.
"""
from __future__ import annotations

from typing import Any


def keep_layers(model: Any, layers: list[int]) -> None:
    """Keep only the encoder layers ``layers`` (indices into the base's layers, in order) of a
    BERT-family model: fewer layers, proportionally faster inference."""
    encoder = model.base_model.encoder
    check_layer_indices("layers", layers, len(encoder.layer))
    _set_layers(model, [encoder.layer[i] for i in layers])


def check_layer_indices(name: str, indices: list[int], total: int | None = None) -> None:
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
