"""The documentation cannot rot. For the README, every page of ``docs/`` and the model cards:

* their ```python blocks run (a file's blocks in order, in one namespace, from a scratch folder
  that has the repository's examples/, data/, configs/ and models/ and ../shared beside it);
  a file whose examples read ../shared or load a model that is not there is skipped with the
  reason, and a block whose first line is ``# not run: <reason>`` is never run;
* every ``sentiment …`` line of their ```bash blocks names a real command with real options,
  every ``make X`` a real target, and every ``python``/``bash`` script a file that exists.

Two pages have a source of truth of their own: ``docs/schema.md`` is a byte-for-byte copy of the
shared tag-record contract, and the recipe-key table of ``docs/training.md`` lists exactly the
keys a recipe may hold."""
from __future__ import annotations

import dataclasses
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from helpers import ROOT, SHARED

from sentiment.classify.model import default_model_path
from sentiment.classify.training import TrainConfig
from sentiment.cli import app, main

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"^# not run: \S")  # a block's first line that keeps it from running
NEEDS = re.compile(r"^# needs: (\S+)", re.MULTILINE)  # a path (from the repository root) a file's examples need
SHELL = ("bash", "sh", "shell")
# Folders of the repository the examples may read, linked into their scratch folder.
LINKED = ("examples", "data", "configs", "models")
# Words that end one shell command and start the next; redirections, which name a file next.
BREAKS = {"|", "||", "&&", ";", "&"}
REDIRECTS = {">", ">>", "2>", "<"}


def doc_files() -> list[Path]:
    """The Markdown a user reads: the README, the pages of docs/ and each model's card."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "models").glob("*/README.md"))]
    return [p for p in pages if p.exists()]


def name(path: Path) -> str:
    """A documentation file's name as its messages give it: its path in the repository."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@dataclass
class Block:
    lang: str
    code: str
    line: int  # line of the file where the code starts


def blocks(text: str, langs: tuple[str, ...]) -> list[Block]:
    """The fenced code blocks of the given languages, with where they start."""
    return [Block(m.group(1), m.group(2), text.count("\n", 0, m.start(2)) + 1)
            for m in FENCE.finditer(text) if m.group(1) in langs]


def logical_lines(code: str) -> list[tuple[int, str]]:
    """(offset of its first line, text) of each shell line, ``\\``-continued lines joined."""
    out: list[tuple[int, str]] = []
    first, joined = 0, ""
    for i, line in enumerate(code.splitlines()):
        if not joined:
            first = i
        joined += line
        if line.endswith("\\"):
            joined = joined[:-1] + " "
        else:
            out.append((first, joined))
            joined = ""
    return out + ([(first, joined)] if joined else [])


def commands(text: str) -> list[tuple[int, list[str]]]:
    """(line, argv) of every shell command, continuation lines joined, prompts, comments and
    leading ``VAR=value`` assignments dropped; a pipeline or ``a && b`` gives one argv each."""
    out = []
    for block in blocks(text, SHELL):
        for i, line in logical_lines(block.code):
            line = line.strip().removeprefix("$ ")
            if not line or line.startswith("#"):
                continue
            argv: list[str] = []
            tokens = iter([*shlex.split(line, comments=True), ";"])
            for token in tokens:
                if token in REDIRECTS:
                    next(tokens)
                elif token in BREAKS:
                    while argv and re.match(r"^[A-Z_][A-Z0-9_]*=", argv[0]):
                        argv.pop(0)
                    if argv:
                        out.append((block.line + i, argv))
                    argv = []
                elif not re.match(r"^\d?>", token):  # 2>&1, >out.txt
                    argv.append(token)
    return out


def test_the_block_finder_sees_what_a_reader_sees():
    text = ("intro\n```python\nx = 1\n```\n\n```bash\n$ sentiment show t.jsonl \\\n  --limit 3  # first three\n"
            "MODEL=m BASELINES=0 bash run.sh 2>&1 | tail -n 1 > out.txt\n```\n")
    assert [(b.code, b.line) for b in blocks(text, ("python",))] == [("x = 1\n", 3)]
    assert commands(text) == [(7, ["sentiment", "show", "t.jsonl", "--limit", "3"]),
                              (9, ["bash", "run.sh"]), (9, ["tail", "-n", "1"])]


# ------------------------------------------------------------------ the Python examples run

def python_files() -> list[Path]:
    return [p for p in doc_files() if blocks(p.read_text(encoding="utf-8"), ("python",))]


def why_not_run(source: str) -> str | None:
    """Why a file's examples cannot run here (None: they can)."""
    loads_model = any(call in source for call in ("Analyzer(", "tag_files(", "SentimentModel.load(", "from_pretrained("))
    if loads_model and not (default_model_path() / "config.json").exists():
        return f"the examples need the shipped model at {default_model_path()}"
    if "../shared" in source and not SHARED.exists():
        return "the examples read ../shared (shared datasets not present beside the checkout)"
    for needed in NEEDS.findall(source):
        if not (ROOT / needed).exists():
            return f"the examples need {needed}, which is not here"
    return None


def run_examples(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a file's ```python blocks in order in one namespace from a scratch folder."""
    runnable = [b for b in blocks(path.read_text(encoding="utf-8"), ("python",)) if not NOT_RUN.match(b.code)]
    reason = why_not_run("\n".join(b.code for b in runnable))
    if reason:
        pytest.skip(f"{name(path)}: {reason}")
    work = tmp_path / "work"
    work.mkdir()
    for folder in LINKED:
        if (ROOT / folder).is_dir():
            (work / folder).symlink_to(ROOT / folder, target_is_directory=True)
    if SHARED.exists():
        (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)
    monkeypatch.chdir(work)
    namespace: dict = {"__name__": "__docs__"}
    for block in runnable:
        try:
            exec(compile(block.code, f"{name(path)} (block at line {block.line})", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 - any failure of an example is reported with its line
            pytest.fail(f"{name(path)} example at line {block.line} failed: {type(exc).__name__}: {exc}")


@pytest.mark.parametrize("path", python_files(), ids=name)
def test_the_python_examples_run(path, tmp_path, monkeypatch):
    run_examples(path, tmp_path, monkeypatch)


def test_a_block_marked_not_run_is_not_run_and_a_failing_one_fails(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("```python\n# not run: needs a cluster\nraise SystemExit\n```\n"
                    "```python\nvalue = 2\n```\n```python\nassert value == 3\n```\n", encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    with pytest.raises(pytest.fail.Exception, match="line 9 failed: AssertionError"):
        run_examples(page, tmp_path, monkeypatch)


# ------------------------------------------------------------------ the shell commands exist

def command_files() -> list[Path]:
    return [p for p in doc_files() if commands(p.read_text(encoding="utf-8"))]


def command_problems(path: Path, help_text: str) -> list[str]:
    """What is wrong with a file's shell lines: unknown commands, options, targets or scripts."""
    cli = typer.main.get_command(app)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    problems = []
    for line, argv in commands(path.read_text(encoding="utf-8")):
        where = f"{name(path)} line {line}"
        program = Path(argv[0]).name
        if program == "make":
            problems += [f"{where}: no make target {t!r}" for t in argv[1:]
                         if not re.search(rf"^{re.escape(t)}:", makefile, re.MULTILINE)]
        elif program == "sentiment":
            command = argv[1] if len(argv) > 1 else ""
            if command not in cli.commands or command not in help_text:
                problems.append(f"{where}: `sentiment {command}` is not a command (see `sentiment --help`)")
                continue
            cmd, rest = cli.commands[command], argv[2:]
            sub = getattr(cmd, "commands", {})  # a command group (`sentiment index fit`)
            if rest and rest[0] in sub:
                cmd, rest, command = sub[rest[0]], rest[1:], f"{command} {rest[0]}"
            known = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
            problems += [f"{where}: `sentiment {command}` has no option {t!r}" for t in rest
                         if t.startswith("-") and t != "-" and t.split("=")[0] not in known]
        elif program in ("python", "python3", "bash") and len(argv) > 1 and not argv[1].startswith("-"):
            script = (ROOT / argv[1]).resolve()
            outside = not script.is_relative_to(ROOT.resolve())
            if not script.exists() and not (outside and not SHARED.exists()):
                problems.append(f"{where}: no script {argv[1]}")
    return problems


@pytest.mark.parametrize("path", command_files(), ids=name)
def test_the_commands_exist(path, capsys):
    assert main(["--help"]) == 0
    help_text = capsys.readouterr().out
    problems = command_problems(path, help_text)
    assert not problems, "\n".join(problems)


def test_the_command_check_finds_a_wrong_option_target_and_script(tmp_path, capsys):
    assert main(["--help"]) == 0
    page = tmp_path / "page.md"
    page.write_text("```bash\nsentiment show out/tags.jsonl --limit 3\nsentiment show x --colour\n"
                    "make test nothing-like-it\nsentiment fly\npython benchmarks/no_such_script.py\n```\n",
                    encoding="utf-8")
    found = command_problems(page, capsys.readouterr().out)
    assert [p.split(": ", 1)[1] for p in found] == [
        "`sentiment show` has no option '--colour'", "no make target 'nothing-like-it'",
        "`sentiment fly` is not a command (see `sentiment --help`)", "no script benchmarks/no_such_script.py"]


def test_the_command_check_reads_a_subcommands_options(tmp_path, capsys):
    assert main(["--help"]) == 0
    page = tmp_path / "page.md"
    page.write_text("```bash\nsentiment index fit --prices p --published f -o r.json\n"
                    "sentiment index fit --prices p --explain 2024-01-01\n```\n", encoding="utf-8")
    found = command_problems(page, capsys.readouterr().out)
    assert [p.split(": ", 1)[1] for p in found] == ["`sentiment index fit` has no option '--explain'"]


# ------------------------------------------------------------------ pages with a source of truth

def test_the_schema_page_is_the_shared_contract():
    contract = SHARED / "design" / "tag-schema.md"
    if not contract.exists():
        pytest.skip(f"the shared contract {contract} is not present beside the checkout")
    assert (ROOT / "docs" / "schema.md").read_bytes() == contract.read_bytes(), \
        "docs/schema.md differs from ../shared/design/tag-schema.md: copy it again"


def table_keys(page: Path, heading: str) -> set[str]:
    """The backticked names in the first column of the table under a heading."""
    section = page.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", section, re.MULTILINE)}


# Keys a recipe may hold that are not TrainConfig fields: read by the loader itself.
LOADER_KEYS = {"extends", "name", "comment"}


def test_the_recipe_key_table_lists_every_recipe_key_and_no_other(tmp_path):
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    listed = table_keys(ROOT / "docs" / "training.md", "Recipe keys")
    assert fields - listed == set(), f"recipe keys missing from docs/training.md: {sorted(fields - listed)}"
    assert listed - fields == LOADER_KEYS, f"docs/training.md lists keys no recipe takes: {sorted(listed - fields - LOADER_KEYS)}"
    (tmp_path / "base.json").write_text(json.dumps({"seed": 3}), encoding="utf-8")
    (tmp_path / "variant.json").write_text(json.dumps({"extends": "base.json", "name": "v", "comment": "c"}),
                                           encoding="utf-8")
    assert TrainConfig.load(tmp_path / "variant.json").seed == 3  # the loader's own keys are accepted
