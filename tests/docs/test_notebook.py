"""notebooks/quickstart.ipynb is committed with the outputs of its current cells (``make
notebook`` refreshes them), and a copy without outputs runs top to bottom in this venv's
Python, with the shared prices and (slow) without them."""
from __future__ import annotations

import importlib.util
import re
import time

import nbformat
import pytest
from helpers import ROOT, SHARED

from sentiment.classify.model import default_model_path

NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
_spec = importlib.util.spec_from_file_location("refresh_notebook",
                                               ROOT / "scripts" / "refresh_notebook.py")
assert _spec is not None and _spec.loader is not None
refresh_notebook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refresh_notebook)

STALE = "the stored outputs are not those of the current cells: run `make notebook` and commit"


def read_notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def run_clean_copy() -> tuple[nbformat.NotebookNode, float]:
    """Execute the committed notebook, stripped of its outputs, in a fresh kernel."""
    if not (default_model_path() / "config.json").exists():
        pytest.skip(f"the shipped model is not at {default_model_path()} yet (it is made by `sentiment train`)")
    nb = refresh_notebook.strip_outputs(read_notebook())
    assert not text_of(nb) and not images_of(nb)
    start = time.perf_counter()
    refresh_notebook.merge_streams(refresh_notebook.execute(nb))
    return nb, time.perf_counter() - start


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def images_of(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


def printed(nb: nbformat.NotebookNode) -> list[str]:
    """Each code cell's printed text, numbers with more than 3 decimals rounded to 3 (the last
    digits of a probability may differ between CPUs; the tag records promise 3)."""
    def cell_text(cell: nbformat.NotebookNode) -> str:
        text = "".join(out.text for out in cell.outputs if out.output_type == "stream")
        return re.sub(r"-?\d+\.\d{4,}", lambda m: f"{float(m.group()):.3f}", text)
    return [cell_text(cell) for cell in nb.cells if cell.cell_type == "code"]


def test_notebook_is_committed_with_current_outputs():
    nb = read_notebook()
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    source = "\n".join(c.source for c in code)
    for api in ("Analyzer(", "tag_files(", "to_frames(", "fear_greed_index(", "crypto_prices_daily"):
        assert api in source
    stored_hash = nb.metadata.get(refresh_notebook.METADATA_KEY, {}).get(refresh_notebook.HASH_KEY)
    assert stored_hash == refresh_notebook.code_hash(nb), STALE
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), STALE
    assert all(c.outputs for c in code), "every code cell shows something: " + STALE
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not [o for c in code for o in c.outputs if o.get("name") == "stderr"], "warnings in the outputs"
    assert not any("execution" in c.metadata for c in code), "timing metadata is stored"
    assert refresh_notebook.machine_paths(nb) == []
    assert images_of(nb) >= 2
    assert NOTEBOOK.stat().st_size < refresh_notebook.MAX_BYTES


def test_machine_paths_are_found():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("stream", name="stdout",
                               text="examples/README.md\nprices: /tmp/x/BTC.csv\nhttps://example.com/home/a\n"),
        nbformat.v4.new_output("execute_result", data={"text/html": f"<td>{ROOT}/examples</td>"}),
    ])])
    assert refresh_notebook.machine_paths(nb) == ["prices: /tmp/x/BTC.csv", f"<td>{ROOT}/examples</td>"]


def test_notebook_runs_with_the_shared_prices(monkeypatch):
    if not (SHARED / "data" / "crypto_prices_daily" / "BTC_daily.csv").exists():
        pytest.skip("needs ../shared/data/crypto_prices_daily (shared datasets not present beside the checkout)")
    monkeypatch.setenv("SENTIMENT_SHARED", str(SHARED))
    nb, elapsed = run_clean_copy()
    out = text_of(nb)
    assert "failed 0" in out and "duplicates 1" in out
    assert "prices: " in out and "SYNTHETIC" not in out
    assert "news_sentiment" in out  # the index used the tagged news
    assert "Fear & Greed on 2025-07-15" in out  # the day after the example hack, when its news counts
    assert images_of(nb) >= 2  # per-asset sentiment and index vs price
    assert refresh_notebook.machine_paths(nb) == []
    assert printed(nb) == printed(read_notebook()), STALE
    assert elapsed < 90, f"the notebook took {elapsed:.0f} s"


@pytest.mark.slow
def test_notebook_runs_without_shared_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_SHARED", str(tmp_path / "no-shared-here"))
    nb, _ = run_clean_copy()
    out = text_of(nb)
    assert "SYNTHETIC prices" in out
    assert images_of(nb) >= 2
    assert refresh_notebook.machine_paths(nb) == []
