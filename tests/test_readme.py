"""The README's examples cannot rot: its ```python blocks run (in order, in one namespace, from a
scratch folder that has examples/ and ../shared beside it), and every `sentiment …` command in
its ```bash blocks names a real command with real options (and every `make` target exists)."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import pytest
import typer.main
from conftest import ROOT, SHARED

from sentiment.classify.model import default_model_path
from sentiment.cli import app, main

README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    lang: str
    code: str
    line: int  # line of the README where the code starts


def blocks(lang: str, text: str | None = None) -> list[Block]:
    """The fenced code blocks of one language, with where they start."""
    text = README.read_text(encoding="utf-8") if text is None else text
    return [Block(m.group(1), m.group(2), text.count("\n", 0, m.start(2)) + 1)
            for m in FENCE.finditer(text) if m.group(1) == lang]


def commands(text: str | None = None) -> list[tuple[int, list[str]]]:
    """(README line, argv) of every shell line, continuation lines joined, prompts and comments dropped."""
    out = []
    for block in blocks("bash", text) + blocks("sh", text) + blocks("shell", text):
        for i, line in enumerate(block.code.replace("\\\n", " ").splitlines()):
            line = line.strip().removeprefix("$ ")
            if line and not line.startswith("#"):
                out.append((block.line + i, shlex.split(line, comments=True)))
    return out


def test_the_block_finder_sees_what_a_reader_sees():
    text = "intro\n```python\nx = 1\n```\n\n```bash\n$ sentiment show t.jsonl \\\n  --limit 3  # first three\n```\n"
    assert [(b.code, b.line) for b in blocks("python", text)] == [("x = 1\n", 3)]
    assert commands(text) == [(7, ["sentiment", "show", "t.jsonl", "--limit", "3"])]


def test_readme_python_examples_run(tmp_path, monkeypatch):
    python = blocks("python")
    if not python:
        pytest.skip("README.md has no ```python examples yet")
    source = "\n".join(b.code for b in python)
    needs_model = "Analyzer(" in source or "tag_files(" in source
    if needs_model and not (default_model_path() / "config.json").exists():
        pytest.skip(f"the README's examples need the shipped model at {default_model_path()}")
    if "../shared" in source and not SHARED.exists():
        pytest.skip("the README's examples read ../shared (shared datasets not present beside the checkout)")
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    if SHARED.exists():
        (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__readme__"}
    for block in python:
        try:
            exec(compile(block.code, f"README.md (block at line {block.line})", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 - any failure of an example is reported with its line
            pytest.fail(f"README.md example at line {block.line} failed: {type(exc).__name__}: {exc}")


def test_readme_commands_exist(capsys):
    cli = typer.main.get_command(app)
    assert main(["--help"]) == 0
    help_text = capsys.readouterr().out
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    checked = 0
    for line, argv in commands():
        if argv[0] == "make":
            for target in argv[1:]:
                assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), \
                    f"README.md line {line}: no make target {target!r}"
            checked += 1
        elif argv[0] == "sentiment":
            name = argv[1]
            assert name in cli.commands and name in help_text, \
                f"README.md line {line}: `sentiment {name}` is not a command (see `sentiment --help`)"
            known = {opt for p in cli.commands[name].params for opt in (*p.opts, *p.secondary_opts)}
            for token in argv[2:]:
                if token.startswith("-") and token != "-":
                    assert token.split("=")[0] in known, \
                        f"README.md line {line}: `sentiment {name}` has no option {token!r}"
            checked += 1
    if not checked:
        pytest.skip("README.md lists no commands")
