"""`sentiment tag` end to end: the bundled examples, every record on the schema, resume,
bad inputs in a batch, exit codes, and the seed article scored against its gold."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, shared_path

from sentiment.analyzer import Analyzer
from sentiment.cli import main
from sentiment.sinks import open_sink
from sentiment.store import Store
from sentiment.tagfiles import read_tags
from sentiment.tagging import tag_files

EXAMPLES = ROOT / "examples"
TOP_KEYS = {"schema", "id", "url", "title", "source", "published", "sentiment", "assets", "moves",
            "levels", "figures", "causes", "sectors", "entities", "sentences"}


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def check_score(s: dict) -> None:
    assert s["label"] in ("bearish", "neutral", "bullish")
    assert -1 <= s["score"] <= 1
    assert abs(sum(s["probs"].values()) - 1) < 1e-4
    assert abs(s["score"] - (s["probs"]["bullish"] - s["probs"]["bearish"])) < 1e-4


def check_record(r: dict) -> None:
    assert TOP_KEYS <= set(r) and r["schema"] == 1 and len(r["id"]) == 16
    check_score(r["sentiment"])
    for a in r["assets"]:
        assert a["symbol"] == a["symbol"].upper() and a["mentions"] >= 1
        check_score(a["sentiment"])
    for c in r["causes"]:
        assert c["evidence"]
        check_score(c["sentiment"])
    for m in r["moves"]:
        assert m["direction"] in ("up", "down", "flat")
    for s in r["sentences"]:
        check_score(s["sentiment"])
        assert 0 <= s["start"] <= s["end"]
    if r["published"]:
        assert r["published"].endswith("Z")


def test_examples_are_tagged_with_every_input_accounted_for(tmp_path, analyzer):
    out = tmp_path / "tags.jsonl"
    store = tmp_path / "demo.sqlite"
    report = tag_files([EXAMPLES], out, store=store, analyzer=analyzer)
    records = list(read_tags(out))
    assert report.ok, report.errors
    assert report.tagged == len(records) >= 20
    assert report.duplicates >= 1  # newswire.jsonl repeats an item under a tracking URL
    assert report.read == report.tagged + report.duplicates + report.resumed
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        check_record(r)
    labels = {r["sentiment"]["label"] for r in records}
    assert {"bearish", "bullish"} <= labels
    with Store(store) as db:
        assert sum(1 for _ in db.tags()) == len(records)
    # a second run adds nothing: everything is already in the output
    again = tag_files([EXAMPLES], out, analyzer=analyzer)
    assert again.tagged == 0 and again.resumed == len(records)
    assert len(list(read_tags(out))) == len(records)


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_without_duplicates_or_gaps(tmp_path, analyzer):
    out = tmp_path / "tags.jsonl"
    full = tag_files([EXAMPLES], tmp_path / "full.jsonl", analyzer=analyzer, batch_size=4)

    def stop_after_first_batch(report):
        raise Interrupt

    with pytest.raises(Interrupt):
        tag_files([EXAMPLES], out, analyzer=analyzer, batch_size=4, on_progress=stop_after_first_batch)
    partial = [r["id"] for r in read_tags(out)]
    assert 0 < len(partial) < full.tagged
    report = tag_files([EXAMPLES], out, analyzer=analyzer, batch_size=4)
    ids = [r["id"] for r in read_tags(out)]
    assert len(ids) == len(set(ids)) == full.tagged
    assert report.resumed == len(partial)
    assert set(ids) == {r["id"] for r in read_tags(tmp_path / "full.jsonl")}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_other_formats(tmp_path, analyzer, fmt):
    out = tmp_path / f"tags.{fmt}"
    report = tag_files([EXAMPLES / "headlines.csv"], out, analyzer=analyzer)
    records = list(read_tags(out))
    assert report.ok and len(records) == report.tagged > 0
    for r in records:
        check_record(r)


def test_bad_inputs_do_not_stop_the_batch(tmp_path, analyzer):
    good = tmp_path / "good.txt"
    good.write_text("Bitcoin rallies\nBitcoin rose 6% to $98,000 as ETF inflows topped $500 million.", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(256)) * 64)
    broken = tmp_path / "broken.xml"
    broken.write_text("<?xml version='1.0'?><rss><channel><item><title>half", encoding="utf-8")
    out = tmp_path / "tags.jsonl"
    errors = []
    report = tag_files([good, empty, binary, broken, tmp_path / "missing.txt"], out,
                       analyzer=analyzer, on_error=errors.append)
    assert report.tagged == 1 and len(list(read_tags(out))) == 1
    failed_inputs = {Path(e.input).name for e in errors}
    assert {"empty.txt", "blob.txt", "missing.txt"} <= failed_inputs
    assert all(e.reason and "\n" not in e.reason for e in errors)
    assert report.failed == len(errors)


def test_cli_exit_codes_and_summary(tmp_path, capsys):
    out = tmp_path / "tags.jsonl"
    good = tmp_path / "a.txt"
    good.write_text("Ether slides\nEther fell 4% to $3,100 after a $40 million exploit.", encoding="utf-8")
    assert main(["tag", str(good), "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert "read 1, tagged 1, duplicates 0, failed 0" in err
    assert main(["tag", str(good), str(tmp_path / "nope.txt"), "-o", str(tmp_path / "t2.jsonl"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "nope.txt" in err and "Traceback" not in err
    assert main(["tag", "-o", str(out)]) == 2  # nothing to tag
    assert main(["tag", str(good), "-o", str(out), "--format", "xml"]) == 2
    assert main(["show", str(out)]) == 0
    capsys.readouterr()
    with open_sink(out):  # another run is writing the same output
        assert main(["tag", str(good), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "being written by another run" in err and "Traceback" not in err


def test_console_script_prints_no_traceback(tmp_path):
    exe = Path(sys.executable).parent / "sentiment"
    if not exe.exists():
        pytest.skip("console script not installed")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "Solana jumps 9% on ETF hopes"}\n{broken\n', encoding="utf-8")
    proc = subprocess.run([str(exe), "tag", str(bad), "-o", str(tmp_path / "t.jsonl")],
                          capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "SENTIMENT_DEBUG": ""})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "failed" in proc.stderr
    assert len(list(read_tags(tmp_path / "t.jsonl"))) == 1


def _score_tags():
    path = shared_path("tools", "score_tags.py")
    spec = importlib.util.spec_from_file_location("score_tags", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_article_meets_its_gold(tmp_path, analyzer):
    seed = shared_path("seeds", "aicoin-2025-11-04-crash.txt")
    gold = json.loads(shared_path("seeds", "aicoin-2025-11-04-crash.gold.json").read_text(encoding="utf-8"))
    out = tmp_path / "tags.jsonl"
    tag_files([seed], out, analyzer=analyzer)
    records = list(read_tags(out))
    scorer = _score_tags()
    result = scorer.score(scorer.find(records, gold["source_contains"]), gold)
    assert result["score"] >= 0.9, result


def test_fast_profile_tags_the_seed_article_to_its_gold(tmp_path):
    from sentiment.classify.model import resolve_model_path

    if not (resolve_model_path("fast") / "config.json").exists():
        pytest.skip("the fast model is not in this checkout")
    seed = shared_path("seeds", "aicoin-2025-11-04-crash.txt")
    gold = json.loads(shared_path("seeds", "aicoin-2025-11-04-crash.gold.json").read_text(encoding="utf-8"))
    out = tmp_path / "tags.jsonl"
    assert main(["tag", str(seed), "-o", str(out), "--model", "fast", "--processes", "1", "-q"]) == 0
    records = list(read_tags(out))
    scorer = _score_tags()
    result = scorer.score(scorer.find(records, gold["source_contains"]), gold)
    assert result["score"] >= 0.9, result
