"""Which matrix-multiply library spaCy's models use on this CPU: blis or numpy's BLAS.

spaCy's CPU models (thinc ``NumpyOps``) multiply matrices with blis by default. The blis wheels
pick their kernels from the CPU they detect; on some machines (measured: a virtualised AMD
EPYC) they fall back to slow generic kernels, and numpy's OpenBLAS multiplies the same float32
matrices 3× faster on one thread. The tok2vec and NER layers of ``en_core_web_sm`` are mostly
matrix products, so the choice changes extraction time by about 40 % there, with the same
results. :func:`choose_gemm` times both once per process on matrices of the models' shapes and
returns the faster; ``$SENTIMENT_SPACY_GEMM`` (``blis``, ``numpy`` or ``auto``) overrides it.
"""
from __future__ import annotations

import os
import time
from functools import lru_cache
from typing import Any

import numpy as np

ENV_VAR = "SENTIMENT_SPACY_GEMM"
CHOICES = ("auto", "blis", "numpy")


def _best_time(fn: Any, a: np.ndarray, b: np.ndarray, repeats: int = 7) -> float:
    fn(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(a, b)
        best = min(best, time.perf_counter() - start)
    return best


@lru_cache(maxsize=1)
def choose_gemm() -> str:
    """``"blis"`` or ``"numpy"``: the faster float32 matrix product here (about 20 ms to find out,
    once per process), unless ``$SENTIMENT_SPACY_GEMM`` names one."""
    wanted = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if wanted not in CHOICES:
        raise ValueError(f"{ENV_VAR}={wanted!r}: expected one of {', '.join(CHOICES)}")
    if wanted != "auto":
        return wanted
    try:
        from blis.py import gemm as blis_gemm
    except ImportError:
        return "numpy"
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    # A batch of ~500 tokens through a width-96, 3-piece maxout layer (en_core_web_sm's tok2vec).
    a = rng.standard_normal((512, 288), dtype=np.float32)
    b = rng.standard_normal((288, 288), dtype=np.float32)
    with threadpool_limits(1, user_api="blas"):  # compare one core with one core
        numpy_s = _best_time(np.dot, a, b)
    blis_s = _best_time(blis_gemm, a, b)
    return "numpy" if numpy_s < blis_s else "blis"


def ops_for(gemm: str) -> Any:
    """thinc's CPU ops with the given matrix product."""
    from thinc.api import NumpyOps

    return NumpyOps(use_blis=(gemm == "blis"))
