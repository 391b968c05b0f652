"""Never an uncaught exception from bad data: random bytes and truncated documents of every
kind give Articles or IngestErrors, at least one item per input."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment.ingest import IngestError, iter_inputs
from sentiment.schema import Article

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
SUFFIXES = [".xml", ".rdf", ".html", ".txt", ".md", ".jsonl", ".csv", ".json", ""]


def check(path: Path) -> list:
    items = list(iter_inputs([path]))
    assert items, path
    for item in items:
        assert isinstance(item, (Article, IngestError))
        if isinstance(item, IngestError):
            assert item.reason and "\n" not in item.reason
    return items


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_never_raise(tmp_path, data, suffix):
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    check(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=2000), suffix=st.sampled_from(SUFFIXES))
def test_random_text_never_raises(tmp_path, text, suffix):
    path = tmp_path / f"input{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(path)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir()))
def test_every_truncation_of_every_fixture(tmp_path, name):
    data = (DATA / name).read_bytes()
    path = tmp_path / name
    for cut in range(0, len(data), max(1, len(data) // 25)):
        path.write_bytes(data[:cut])
        check(path)
