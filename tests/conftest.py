"""Fixtures and environment for every test; shared paths and helpers are in tests/helpers/.
Tests that need ../shared skip with a clear reason when it is absent."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip("needs ../shared beside the checkout (shared datasets not present)")
    return SHARED


@pytest.fixture(scope="session")
def nlp():
    """The spaCy pipeline of the package (``build_nlp``, built once per process)."""
    from sentiment.extract import build_nlp

    return build_nlp()
