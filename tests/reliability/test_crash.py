"""Crash safety of ``sentiment tag``: kill -9 mid-run, run again, and every article is in the
output and in the store exactly once, with no torn line and no stray temp file.

The test starts the real command in a subprocess, waits until some records are written,
SIGKILLs it, then resumes it to completion. Table outputs (CSV/Parquet) are checked at the
sink level the same way: killed, the table is never half-written; resumed, it is complete.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.crashes import count_lines, finish, kill_once_written, needs_model

from sentiment.store import Store

N_ARTICLES = 40
ASSETS = ["Bitcoin", "Ether", "Solana", "XRP", "Cardano", "Dogecoin", "Litecoin", "Chainlink"]
VERBS = ["rose", "fell", "jumped", "slid", "gained", "dropped", "climbed", "sank"]


@pytest.fixture
def news(tmp_path) -> Path:
    """~40 small distinct articles of three sentences each."""
    folder = tmp_path / "news"
    folder.mkdir()
    for i in range(N_ARTICLES):
        asset, verb = ASSETS[i % len(ASSETS)], VERBS[(i // len(ASSETS)) % len(VERBS)]
        body = (f"{asset} {verb} {i % 9 + 1}.{i % 7}% to ${1000 + 37 * i:,} on day {i}. "
                f"Traders pointed to flows of ${i + 2} million into exchange products. "
                f"Analysts watched support near ${900 + 31 * i:,} and resistance at ${1200 + 41 * i:,}. ")
        (folder / f"story-{i:02d}.txt").write_text(f"{asset} {verb} on day {i}\n\n{body}\n", encoding="utf-8")
    return folder


def tag_command(news: Path, out: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "sentiment", "tag", str(news), "-o", str(out), "--store", str(store),
            "--batch-size", "4", "--quiet"]


def count_records(out: Path) -> int:
    return count_lines(out if out.suffix == ".jsonl" else out.with_name(out.name + ".journal.jsonl"))


def kill_midway(command: list[str], out: Path, cwd: Path) -> int:
    """Start ``command``, SIGKILL it once some (not all) records are written; the count then."""
    kill_once_written(command, cwd, lambda: count_records(out), at_least=8, within=120, poll=0.01)
    written = count_records(out)
    assert 8 <= written < N_ARTICLES, written
    return written


def processes_naming(marker: str) -> list[int]:
    """PIDs of live processes whose command line contains ``marker`` (a forked worker keeps its
    parent's command line)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def assert_no_process_left(marker: str) -> None:
    deadline = time.monotonic() + 20
    while (left := processes_naming(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes still running after their parent ended: {left}"


def check_store(store: Path, ids: set[str]) -> None:
    with Store(store) as db:
        assert db.count_articles() == N_ARTICLES
        assert db.count_tags() == N_ARTICLES
        assert {t["id"] for t in db.tags()} == ids == {a.id for a in db.articles()}
        assert db.errors() == []


def test_kill_9_then_resume_jsonl_every_article_exactly_once(tmp_path, news):
    needs_model("the CLI loads it")
    out, store = tmp_path / "out" / "tags.jsonl", tmp_path / "s.sqlite"
    command = tag_command(news, out, store)
    written = kill_midway(command, out, tmp_path)
    assert_no_process_left(str(out))  # the worker processes went with their parent
    # A kill can land inside a write: leave a torn half-record at the end, as such a kill would.
    with open(out, "ab") as fh:
        fh.write(b'{"schema": 1, "id": "torn-by-kill", "sentiment": {"lab')
    done = finish(command, tmp_path)
    assert f"already tagged {written}" in done.stderr
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b""  # ends with a newline: no torn last line
    records = [json.loads(line) for line in lines[:-1]]  # every line parses
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == N_ARTICLES and "torn-by-kill" not in ids
    check_store(store, set(ids))
    assert sorted(p.name for p in out.parent.iterdir()) == ["tags.jsonl"]  # no temp files left


# A writer of tag records through the table sink, a batch of 4 at a time, skipping what the
# output already holds (as tag_files does): the sink-level core of `sentiment tag -o x.csv`.
TABLE_WRITER = """
import sys, time
from sentiment.sinks import open_sink
sink = open_sink(sys.argv[1])
done = sink.ids()
todo = [{"schema": 1, "id": f"article-{i:02d}", "title": f"Story {i}, \\"quoted\\"\\nline two",
         "sentiment": {"label": "neutral", "score": 0.0,
                       "probs": {"bearish": 0.0, "neutral": 1.0, "bullish": 0.0}}}
        for i in range(int(sys.argv[2])) if f"article-{i:02d}" not in done]
for start in range(0, len(todo), 4):
    sink.write(todo[start:start + 4])
    time.sleep(0.05)
sink.close()
"""


def test_kill_9_then_resume_table_output_is_replaced_atomically(tmp_path):
    out = tmp_path / "out" / "tags.csv"
    command = [sys.executable, "-c", TABLE_WRITER, str(out), str(N_ARTICLES)]
    kill_midway(command, out, tmp_path)
    # Killed before close: no half-written table, the journal holds the progress.
    assert not out.exists() and (out.parent / "tags.csv.journal.jsonl").exists()
    with open(out.parent / "tags.csv.journal.jsonl", "ab") as fh:
        fh.write(b'{"schema": 1, "id": "torn')  # a kill inside a write
    subprocess.run(command, cwd=tmp_path, check=True, timeout=60)
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ids = [row["id"] for row in rows]
    assert sorted(ids) == [f"article-{i:02d}" for i in range(N_ARTICLES)]
    assert all(json.loads(row["record"])["id"] == row["id"] for row in rows)
    assert sorted(p.name for p in out.parent.iterdir()) == ["tags.csv"]  # journal and temp files gone


def test_ctrl_c_stops_the_workers_without_a_traceback(tmp_path, news):
    """Ctrl-C reaches the whole process group (parent and workers): the run ends with 130 and
    "aborted", no traceback, no process left, and the output resumes cleanly."""
    needs_model("the CLI loads it")
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc")
    out, store = tmp_path / "out" / "tags.jsonl", tmp_path / "s.sqlite"
    command = tag_command(news, out, store) + ["--processes", "2"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while count_records(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is not None:
            pytest.fail(f"tag ended before Ctrl-C (code {proc.returncode})")
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr.decode()[-2000:]
    assert b"Traceback" not in stderr and b"aborted" in stderr
    assert_no_process_left(str(out))
    written = count_records(out)
    done = finish(command, tmp_path)
    assert f"already tagged {written}" in done.stderr
    check_store(store, {json.loads(line)["id"] for line in out.read_text().splitlines()})
