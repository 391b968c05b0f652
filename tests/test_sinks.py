"""Sinks: every format writes and reads back the same records; JSON Lines resumes after a kill."""
from __future__ import annotations

import json

import pytest

from sentiment.sinks import SinkBusy, open_sink
from sentiment.tagfiles import format_for, read_tags, write_tables


def record(i: int, label: str = "bearish") -> dict:
    score = {"bearish": -0.6, "neutral": 0.0, "bullish": 0.6}[label]
    probs = {"bearish": 0.7, "neutral": 0.2, "bullish": 0.1}
    return {
        "schema": 1, "id": f"id{i:04d}", "url": f"https://example.com/{i}", "title": f"Title {i}, with a comma",
        "source": "example.com", "published": "2025-11-04T08:00:00Z",
        "sentiment": {"label": label, "score": score, "probs": probs},
        "assets": [{"symbol": "BTC", "name": "Bitcoin", "mentions": 3, "sentiment": {"label": label, "score": score, "probs": probs}}],
        "moves": [{"asset": "BTC", "direction": "down", "change_pct": -5.0, "from_price": None, "to_price": None,
                   "change_abs": None, "text": "Bitcoin fell 5%."}],
        "levels": [], "figures": [],
        "causes": [{"type": "hack_exploit", "evidence": "Balancer was hacked.", "sentiment": {"label": label, "score": score, "probs": probs}}],
        "sectors": [], "entities": [{"text": "CoinShares", "label": "ORG"}],
        "sentences": [{"text": "Bitcoin fell 5%.", "start": 0, "end": 16, "sentiment": {"label": label, "score": score, "probs": probs},
                       "assets": ["BTC"], "causes": []}],
    }


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_round_trip_each_format(tmp_path, suffix):
    path = tmp_path / f"tags.{suffix}"
    records = [record(i) for i in range(5)]
    with open_sink(path) as sink:
        sink.write(records)
    assert list(read_tags(path)) == records
    assert not list(tmp_path.glob("*.journal.jsonl")), "journal removed after a clean close"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_table_resume_adds_only_new_records(tmp_path, suffix):
    path = tmp_path / f"tags.{suffix}"
    with open_sink(path) as sink:
        sink.write([record(0), record(1)])
    with open_sink(path) as sink:
        assert sink.ids() == {"id0000", "id0001"}
        sink.write([record(2)])
    assert [r["id"] for r in read_tags(path)] == ["id0000", "id0001", "id0002"]


def test_jsonl_resume_drops_torn_last_line(tmp_path):
    path = tmp_path / "tags.jsonl"
    with open_sink(path) as sink:
        sink.write([record(0), record(1)])
    with open(path, "a", encoding="utf-8") as fh:  # a writer killed mid-line
        fh.write(json.dumps(record(2))[:40])
    sink = open_sink(path)
    assert sink.ids() == {"id0000", "id0001"}
    sink.write([record(2)])
    sink.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["id0000", "id0001", "id0002"]


def test_overwrite_starts_anew(tmp_path):
    path = tmp_path / "tags.jsonl"
    with open_sink(path) as sink:
        sink.write([record(0)])
    with open_sink(path, resume=False) as sink:
        assert sink.ids() == set()
        sink.write([record(1)])
    assert [r["id"] for r in read_tags(path)] == ["id0001"]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_second_writer_on_the_same_output_is_refused_and_changes_nothing(tmp_path, suffix):
    path = tmp_path / f"tags{suffix}"
    with open_sink(path) as first:
        first.write([record(0)])
        for resume in (True, False):  # not even an overwrite may truncate the running one's file
            with pytest.raises(SinkBusy, match="being written by another run"):
                open_sink(path, resume=resume)
        first.write([record(1)])
    assert [r["id"] for r in read_tags(path)] == ["id0000", "id0001"]
    with open_sink(path) as again:  # the lock goes with the first writer
        again.write([record(2)])
    assert [r["id"] for r in read_tags(path)] == ["id0000", "id0001", "id0002"]


def test_write_tables_makes_asset_and_cause_tables(tmp_path):
    import csv

    paths = write_tables([record(0), record(1, "bullish")], tmp_path / "t.csv")
    assert [p.name for p in paths] == ["t.csv", "t.assets.csv", "t.causes.csv"]
    rows = list(csv.DictReader(paths[0].open(encoding="utf-8")))
    assert rows[0]["label"] == "bearish" and rows[1]["label"] == "bullish" and rows[0]["assets"] == "BTC"
    assets = list(csv.DictReader(paths[1].open(encoding="utf-8")))
    assert [(a["symbol"], a["label"]) for a in assets] == [("BTC", "bearish"), ("BTC", "bullish")]
    causes = list(csv.DictReader(paths[2].open(encoding="utf-8")))
    assert causes[0]["type"] == "hack_exploit"


def test_format_errors_are_clear():
    assert format_for("x.parquet") == "parquet" and format_for("x.txt") == "jsonl"
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        format_for("x.jsonl", "xml")
