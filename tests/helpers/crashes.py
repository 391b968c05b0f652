"""What the kill-and-resume tests of ``tests/reliability/`` share: a skip without the shipped
model, a command SIGKILLed once it has written enough, the run to the end that resumes it, and
a classifier that chokes on a poisoned text.

The Ray tests ship :class:`ChokingScorer` to their actors, which cannot import ``tests/``: they
register this module to be pickled by value (``cloudpickle.register_pickle_by_value``), so it
imports nothing of ``tests/`` itself."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sentiment.classify.model import default_model_path


def needs_model(why: str = "") -> None:
    """Skip the calling test when the shipped model's weights are not in the checkout."""
    if not any(default_model_path().glob("*.safetensors")):
        pytest.skip(f"needs the shipped model at {default_model_path()}" + (f" ({why})" if why else ""))


def count_lines(path: Path) -> int:
    """The newlines in ``path`` (0 when it is not there): the records of a JSON Lines file."""
    return path.read_bytes().count(b"\n") if path.exists() else 0


def kill_once_written(command: list[str], cwd: Path, written: Callable[[], int], at_least: int,
                      within: float, poll: float) -> None:
    """Start ``command`` and SIGKILL it as soon as ``written()`` reaches ``at_least``, checking
    every ``poll`` seconds; the test fails when the command ends first or ``within`` seconds
    pass without that."""
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + within
        while written() < at_least:
            if proc.poll() is not None:
                pytest.fail(f"tag ended before it could be killed (code {proc.returncode}): "
                            f"{proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"no records written within {within:g} s")
            time.sleep(poll)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def finish(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``command`` to the end (a resumed run): it succeeds with no traceback."""
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    return done


class ChokingScorer:
    """A classifier (``inner``), except that it raises on any batch holding a poisoned text."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def predict_proba(self, texts, batch_size: int = 64):
        if any("POISON" in t for t in texts):
            raise RuntimeError("classifier choked")
        return self.inner.predict_proba(texts)
