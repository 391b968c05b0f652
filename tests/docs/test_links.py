"""The documentation's relative links resolve: every ``[text](path)`` and ``[text](path#anchor)``
in the committed Markdown files points to a file or folder of the repository, and an anchor to
one of the target's headings (GitHub's slugs). Moving text between files cannot leave dead links."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def markdown_files() -> list[Path]:
    """The Markdown files git tracks (the checkout's own docs, not those of installed packages)."""
    try:
        listed = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked Markdown files cannot be listed")
    return [ROOT / name for name in listed.stdout.split()]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.MULTILINE)}


def dead_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    dead = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: …
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists() or (anchor and resolved.suffix == ".md" and anchor not in anchors(resolved)):
            dead.append(target)
    return dead


def test_slugs_follow_github():
    assert slug("Limitations") == "limitations"
    assert slug("Data and protocol") == "data-and-protocol"
    assert slug("`sentiment evaluate`: the fixed protocol") == "sentiment-evaluate-the-fixed-protocol"


def test_the_link_checker_finds_a_dead_link_and_a_dead_anchor(tmp_path):
    (tmp_path / "other.md").write_text("# Results\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#results) [gone](missing.md) [bad](other.md#nothing) [web](https://x.org)\n"
                    "[gone too](missing.md#results)\n"
                    "```\n[in code](not-a-link.md)\n```\n")
    assert dead_links(page) == ["missing.md", "other.md#nothing", "missing.md#results"]


def test_every_relative_link_in_the_docs_resolves():
    files = markdown_files()
    assert any(f.name == "README.md" for f in files)
    dead = {str(f.relative_to(ROOT)): links for f in files if (links := dead_links(f))}
    assert not dead, f"dead links: {dead}"
