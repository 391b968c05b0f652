"""The package's import graph: no cycles anywhere, and every module inside the layers contract.

``lint-imports`` (``make lint``) checks the layers contract in ``pyproject.toml``: a module
imports only from the layers below it. It does not see a cycle between two modules of one
layer, or inside one package, so this test walks the whole graph for cycles. The graph is
grimp's, the one import-linter reads: imports inside functions and under ``TYPE_CHECKING``
count, because they tie the modules together just the same.
"""
from __future__ import annotations

import sys
from pathlib import Path

import grimp
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def import_cycles(graph: grimp.ImportGraph, package: str = "sentiment") -> list[list[str]]:
    """The import cycles (``a → b → … → a``) among the modules of ``package``, each ring of
    modules listed once."""
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for importer in sorted(m for m in graph.modules if _inside(m, package)):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if not _inside(imported, package):
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer, as_packages=False)
            if back is None:
                continue
            cycle = [importer, *back]
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
    return cycles


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("sentiment", cache_dir=None)


def test_no_import_cycles(graph):
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join("  " + " → ".join(c) for c in cycles)


def test_the_cycle_finder_finds_a_cycle():
    """The walk above reports a cycle it is given (and no cycle where there is none)."""
    fake = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        fake.add_module(name)
    fake.add_import(importer="pkg.a", imported="pkg.b")
    fake.add_import(importer="pkg.b", imported="pkg.c")
    assert import_cycles(fake, "pkg") == []
    fake.add_import(importer="pkg.c", imported="pkg.a")
    assert import_cycles(fake, "pkg") == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_every_module_is_in_a_layer(graph):
    """A new top-level module must be placed in the layers contract, or nothing checks it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    placed = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    top_level = {".".join(m.split(".")[:2]) for m in graph.modules if m.count(".") >= 1}
    missing = sorted(top_level - placed - {"sentiment.__main__"})
    assert not missing, f"not in the layers contract of pyproject.toml: {', '.join(missing)}"
