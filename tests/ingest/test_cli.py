"""`sentiment ingest` end to end: summary line, exit codes 0/1/2, no traceback for bad inputs."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from helpers.httpserver import LocalServer

from sentiment.cli import main
from sentiment.store import Store

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
SUMMARY = re.compile(r"^read (\d+), new (\d+), duplicates (\d+), failed (\d+), skipped (\d+) → ")


def summary(text: str) -> tuple[int, ...]:
    lines = [line for line in text.splitlines() if SUMMARY.match(line)]
    assert len(lines) == 1, text
    return tuple(int(x) for x in SUMMARY.match(lines[0]).groups())


def test_good_inputs_exit_0_and_rerun_adds_nothing(tmp_path, capsys):
    store = tmp_path / "news.db"
    args = ["ingest", str(DATA / "ingest" / "rss20.xml"), str(DATA / "ingest" / "article.txt"), "--store", str(store)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert summary(out) == (3, 3, 0, 0, 0) and err == ""
    assert main(args) == 0
    out, _ = capsys.readouterr()
    assert summary(out) == (3, 0, 3, 0, 0)
    with Store(store) as db:
        assert db.count_articles() == 3


def test_bad_inputs_exit_1_one_line_each_and_no_traceback(tmp_path, capsys):
    store = tmp_path / "news.db"
    code = main(["ingest", str(DATA / "bad"), str(DATA / "ingest" / "article.md"), str(tmp_path / "nope.xml"),
                 "--store", str(store)])
    out, err = capsys.readouterr()
    assert code == 1
    read, new, dupes, failed, skipped = summary(out)
    assert (read, new, dupes) == (7, 7, 0)  # truncated feed (2), 3 re-encoded texts, 1 jsonl row, article.md
    failed_lines = [l for l in err.splitlines() if l.startswith("failed: ")]
    skipped_lines = [l for l in err.splitlines() if l.startswith("skipped: ")]
    assert len(failed_lines) == failed and len(skipped_lines) == skipped == 2
    assert "Traceback" not in out + err
    assert f"failed: {DATA / 'bad' / 'empty.txt'}: empty file" in failed_lines
    assert f"failed: {tmp_path / 'nope.xml'}: no such file or folder" in failed_lines
    with Store(store) as db:
        assert len(db.errors()) == failed


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["ingest", str(DATA / "ingest" / "article.txt")]) == 2  # no --store
    assert main(["ingest", "--store", str(tmp_path / "s.db")]) == 2  # no sources
    assert main(["ingest", str(DATA / "ingest" / "article.txt"), "--store", str(tmp_path)]) == 2  # a folder
    not_db = tmp_path / "not.db"
    not_db.write_text("hello" * 100)
    assert main(["ingest", str(DATA / "ingest" / "article.txt"), "--store", str(not_db)]) == 2
    assert main(["ingest", str(DATA / "ingest" / "article.txt"), "--store", str(tmp_path / "s.db"),
                 "--timeout", "0"]) == 2
    _, err = capsys.readouterr()
    assert "Traceback" not in err and "cannot open store" in err and "timeout must be positive" in err


def test_subprocess_url_sources_and_exit_code(tmp_path):
    with LocalServer() as server:
        server.route("/rss", (DATA / "ingest" / "atom.xml").read_bytes(), content_type="application/atom+xml")
        server.route("/broken", statuses=[500] * 5)
        proc = subprocess.run(
            [sys.executable, "-m", "sentiment", "ingest", server.url("/rss"), server.url("/broken"),
             "--store", str(tmp_path / "s.db"), "--timeout", "2", "--retries", "0"],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert summary(proc.stdout) == (2, 2, 0, 1, 0)
    assert proc.stderr.strip() == f"failed: {server.url('/broken')}: HTTP 500 Internal Server Error"
