"""Token ids into padded batches, and a model's logits for a list of tokenised texts.

Texts are tokenised once; each epoch shuffles them, sorts chunks of ~50 batches by length and
pads each batch only to its longest text. Most sentences are short, so this is a large
speed-up over padding every batch to the maximum length.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np


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


def pad(ids: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    """(input ids, attention mask) as torch tensors, padded to the longest of ``ids``."""
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
    import torch

    out = np.zeros((len(encoded), model.config.num_labels), dtype=np.float32)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            input_ids, mask = pad([encoded[i] for i in idx], pad_id)
            result = model(input_ids=input_ids, attention_mask=mask, output_hidden_states=False)
            out[idx] = result.logits.float().numpy()
    return out
