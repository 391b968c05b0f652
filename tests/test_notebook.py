"""notebooks/quickstart.ipynb is stored without outputs and runs top to bottom in this venv's
Python, with the shared prices and (slow) without them."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, SHARED
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from sentiment.classify.model import default_model_path

NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"


def read_notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def run_notebook(tmp_path: Path) -> tuple[nbformat.NotebookNode, float]:
    """Execute the notebook in a kernel of *this* interpreter (a kernel spec written under
    tmp_path, so nothing is registered globally and no other Python is picked up)."""
    if not (default_model_path() / "config.json").exists():
        pytest.skip(f"the shipped model is not at {default_model_path()} yet (it is made by `sentiment train`)")
    spec_dir = tmp_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "sentiment venv", "language": "python"}), encoding="utf-8")
    km = KernelManager(kernel_name="python3",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]))
    nb = read_notebook()
    client = NotebookClient(nb, km=km, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    start = time.perf_counter()
    client.execute()
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


def test_notebook_is_stored_clean():
    nb = read_notebook()
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code), "strip outputs before committing"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    source = "\n".join(c.source for c in code)
    for api in ("Analyzer(", "tag_files(", "to_frames(", "fear_greed_index(", "crypto_prices_daily"):
        assert api in source


def test_notebook_runs_with_the_shared_prices(tmp_path, monkeypatch):
    if not (SHARED / "data" / "crypto_prices_daily" / "BTC_daily.csv").exists():
        pytest.skip("needs ../shared/data/crypto_prices_daily (shared datasets not present beside the checkout)")
    monkeypatch.setenv("SENTIMENT_SHARED", str(SHARED))
    nb, elapsed = run_notebook(tmp_path)
    out = text_of(nb)
    assert "failed 0" in out and "duplicates 1" in out
    assert "prices: " in out and "SYNTHETIC" not in out
    assert "news_sentiment" in out  # the index used the tagged news
    assert "Fear & Greed on 2025-07-14" in out
    assert images_of(nb) >= 2  # per-asset sentiment and index vs price
    assert elapsed < 90, f"the notebook took {elapsed:.0f} s"


@pytest.mark.slow
def test_notebook_runs_without_shared_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_SHARED", str(tmp_path / "no-shared-here"))
    nb, _ = run_notebook(tmp_path)
    out = text_of(nb)
    assert "SYNTHETIC prices" in out
    assert images_of(nb) >= 2
