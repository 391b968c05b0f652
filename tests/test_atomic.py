"""sentiment.atomic: a write either replaces the file whole or leaves it as it was."""
from __future__ import annotations

import pytest

from sentiment.atomic import atomic_write


def test_atomic_write_replaces_the_file_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "deep" / "out.txt"
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("first")
        assert not target.exists()                      # nothing visible before the rename
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half of the second")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "first"                # the old file is untouched
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]   # and no temporary is left
