"""Run notebooks/quickstart.ipynb top to bottom and store it with its outputs.

The notebook is committed with its outputs so that its tables and charts show where people
read it (on GitHub, in any notebook viewer). ``make notebook`` runs this script after any
change to the notebook or to what the package prints. The run starts from a copy without
outputs, in a fresh kernel of *this* interpreter (a kernel spec in a temporary folder, so
nothing is registered globally and no other Python is picked up). The stored file is kept
stable from one refresh to the next: no timing metadata, execution counts 1, 2, 3, ... in
cell order, one stream output per cell and stream, the original kernel metadata, and a hash of the code cells in the notebook
metadata so the tests can tell when the stored outputs no longer belong to the cells.

The tests use the same functions to run a clean copy and to check the stored outputs.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"
# The notebook-level metadata key under which the refresh records the hash of the code cells.
HASH_KEY = "code_sha256"
METADATA_KEY = "sentiment"
# Embedded PNGs make the file grow; past this size the charts should be made smaller.
MAX_BYTES = 1_000_000
# Absolute paths that would only make sense on the machine that ran the notebook.
_MACHINE_PATH = re.compile(r"(?<![\w.~-])(?:/(?:work|tmp|home|Users|root|private|var/folders)/"
                           r"|[A-Za-z]:\\Users\\)")


def code_hash(nb: nbformat.NotebookNode) -> str:
    """The SHA-256 of the code cells' sources, in order (markdown edits do not change outputs)."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode("utf-8") + b"\0")
    return digest.hexdigest()


def strip_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` as if it had never run: no outputs, no execution counts."""
    clean = copy.deepcopy(nb)
    for cell in clean.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    return clean


def execute(nb: nbformat.NotebookNode, *, timeout: int = 180) -> nbformat.NotebookNode:
    """Run ``nb`` (in place, and return it) in a new kernel of this interpreter.

    The working directory is notebooks/, as when someone opens the notebook there. A cell
    that raises stops the run with nbclient's ``CellExecutionError``.
    """
    with tempfile.TemporaryDirectory(prefix="sentiment-kernel-") as kernels:
        spec_dir = Path(kernels) / "python3"
        spec_dir.mkdir()
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "sentiment venv", "language": "python"}), encoding="utf-8")
        km = KernelManager(kernel_name="python3",
                           kernel_spec_manager=KernelSpecManager(kernel_dirs=[kernels]))
        client = NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3",
                                record_timing=False,
                                resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        client.execute()
    return nb


def merge_streams(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Join consecutive stdout (or stderr) outputs of a cell into one, in place.

    How a cell's printing is cut into stream messages depends on timing; joined, the same
    cell stores the same outputs on every run.
    """
    for cell in nb.cells:
        merged: list[nbformat.NotebookNode] = []
        for out in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if (out.output_type == "stream" and last is not None
                    and last.output_type == "stream" and last.name == out.name):
                last.text += out.text
            else:
                merged.append(out)
        if cell.cell_type == "code":
            cell.outputs = merged
    return nb


def output_texts(nb: nbformat.NotebookNode) -> list[str]:
    """Every piece of text in the outputs: streams, tracebacks, plain text and HTML."""
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", ""))
            texts.extend(out.get("traceback", []))
            data = out.get("data", {})
            texts.extend(data.get(kind, "") for kind in ("text/plain", "text/html", "text/markdown"))
    return [text for text in texts if text]


def machine_paths(nb: nbformat.NotebookNode) -> list[str]:
    """The output lines that show an absolute path of the machine that ran the notebook."""
    found = []
    for text in output_texts(nb):
        for line in text.splitlines():
            if _MACHINE_PATH.search(line) or str(ROOT) in line:
                found.append(line.strip())
    return found


def refresh(path: Path = NOTEBOOK) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` from a clean state and write it back with its outputs."""
    stored = nbformat.read(path, as_version=4)
    nb = merge_streams(execute(strip_outputs(stored)))
    # nbclient fills in the kernel's own names and versions; keep what the author committed.
    nb.metadata = copy.deepcopy(stored.metadata)
    nb.metadata.setdefault(METADATA_KEY, {})[HASH_KEY] = code_hash(nb)
    leaks = machine_paths(nb)
    if leaks:
        raise SystemExit("outputs show paths of this machine; print them relative instead:\n  "
                         + "\n  ".join(leaks))
    nbformat.validate(nb)
    text = nbformat.writes(nb) + "\n"
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise SystemExit(f"{path.name} would be {len(text) // 1000} kB with its outputs "
                         f"(at most {MAX_BYTES // 1000} kB): make the charts smaller")
    path.write_text(text, encoding="utf-8")
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=NOTEBOOK,
                        help="the notebook to refresh (default: notebooks/quickstart.ipynb)")
    args = parser.parse_args(argv)
    nb = refresh(args.notebook)
    cells = sum(cell.cell_type == "code" for cell in nb.cells)
    size = args.notebook.stat().st_size
    print(f"{args.notebook.name}: {cells} code cells run, {size // 1000} kB with outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
