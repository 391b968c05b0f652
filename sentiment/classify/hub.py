"""Loading Hugging Face model folders quietly, in float32, from safetensors.

One module for what the classifier (``model.py``), the ONNX export (``onnx.py``) and training
(``training/``) all do with ``transformers``: load a folder and write one, without the progress
bars and log noise the library prints by default. It depends on nothing else of the package,
so each of them can import it without importing the others.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers without its progress bars (loading and writing weights) and below-error
    logs, which are ANSI and carriage-return noise in a terminal and in log files."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_pretrained(auto_class: Any, folder: str | Path, log: Callable[[str], None] | None = None,
                    **kwargs: Any) -> Any:
    """``auto_class.from_pretrained(folder, …)`` in float32 from safetensors, quietly (see
    :func:`quiet_transformers`). ``log``, if given, gets one line for the weights the folder
    lacked (created afresh, e.g. a new head) and one for those it held but the model does not use."""
    import torch

    with quiet_transformers():
        model, info = auto_class.from_pretrained(folder, dtype=torch.float32, use_safetensors=True,
                                                 output_loading_info=True, **kwargs)
    for key, what in (("missing_keys", "new weights, not in the base"), ("unexpected_keys", "base weights not used")):
        names = sorted(info.get(key) or [])
        if names and log is not None:
            more = f" and {len(names) - 8} more" if len(names) > 8 else ""
            log(f"{what}: {', '.join(names[:8])}{more}")
    return model
