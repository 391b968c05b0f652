"""What the tests share: where the repository, its test data and ../shared are, and a skip for
tests whose shared dataset is absent. The local HTTP server and the near-duplicate checks are
the sibling modules ``helpers.httpserver`` and ``helpers.near_duplicates``."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = ROOT / "tests" / "data"
SHARED = Path(os.environ.get("SENTIMENT_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the calling test when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/{'/'.join(parts)} (shared datasets not present beside the checkout)")
    return path
