"""The DEV cause gold (data/causes/dev.jsonl, candidates.jsonl): format, the DEV part only, and
offsets that point at the sentences their sha1 names."""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
from pathlib import Path

from helpers import ROOT, shared_path

from sentiment.extract.causes import cause_types

GOLD = ROOT / "data" / "causes"
DIRECTIONS = {"bearish", "neutral", "bullish"}


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (GOLD / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _review_sample():
    spec = importlib.util.spec_from_file_location("review_sample", ROOT / "research" / "tools" / "review_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def test_dev_gold_format_and_types() -> None:
    rows = _rows("dev.jsonl")
    assert len(rows) >= 60 and len({r["line"] for r in rows}) == len(rows)
    types = set(cause_types())
    for r in rows:
        assert r["part"] == "dev" and r["read"] is True and r["url"].startswith("http")
        for c in r["causes"]:
            assert c["type"] in types and c["field"] in ("title", "text") and c["direction"] in DIRECTIONS
            assert 0 <= c["start"] < c["end"] and len(c["sha1"]) == 12 and isinstance(c["stated"], bool)
            assert c["why"] and len(c["why"]) < 120
    stated = [c for r in rows for c in r["causes"] if c["stated"]]
    assert len(stated) >= 50 and len(stated) < sum(len(r["causes"]) for r in rows)  # both kinds are labelled


def test_candidates_format() -> None:
    rows = _rows("candidates.jsonl")
    types = set(cause_types())
    assert len(rows) >= 300
    for c in rows:
        assert c["source"] in ("article", "headline") and c["type"] in types
        assert c["rule_type"] is None or c["rule_type"] in types
        assert c["direction"] in DIRECTIONS and isinstance(c["stated"], bool) and len(c["sha1"]) == 12
    assert {c["source"] for c in rows} == {"article", "headline"}


def test_every_dev_article_is_in_the_dev_part_and_no_candidate_article_is_in_the_gold() -> None:
    rs = _review_sample()
    dev = set(rs.article_parts(1000)["dev"])
    gold = {r["line"] for r in _rows("dev.jsonl")}
    cand = {c["line"] for c in _rows("candidates.jsonl") if c["source"] == "article"}
    assert gold <= dev and cand <= dev and not gold & cand


def test_offsets_point_at_the_sentences_their_sha1_names() -> None:
    articles = [json.loads(line) for line in shared_path("data", "crypto_news_articles_2022-12", "articles.jsonl")
                .read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in _rows("dev.jsonl"):
        a = articles[r["line"]]
        assert a["url"] == r["url"]
        for c in r["causes"]:
            assert _sha(a[c["field"]][c["start"]:c["end"]]) == c["sha1"]
    for c in _rows("candidates.jsonl"):
        if c["source"] == "article":
            assert _sha(articles[c["line"]][c["field"]][c["start"]:c["end"]]) == c["sha1"]


def test_headline_candidates_point_at_their_rows() -> None:
    rows = [c for c in _rows("candidates.jsonl") if c["source"] == "headline"]
    files = {c["file"] for c in rows}
    table = {f: list(csv.DictReader(shared_path("data", *Path(f).parts).open(encoding="utf-8"))) for f in files}
    for c in rows:
        title = table[c["file"]][c["row"]][c["column"]]
        assert _sha(title[c["start"]:c["end"]]) == c["sha1"]


ARTICLE_KEYS = {"line", "url", "part", "read", "causes"}
CAUSE_KEYS = {"type", "field", "start", "end", "sha1", "stated", "direction", "why"}
CANDIDATE_KEYS = {"source", "line", "url", "part", "file", "row", "column", "field", "start", "end", "sha1",
                  "rule_type", "stated", "type", "direction", "why"}


def test_no_text_is_quoted() -> None:
    """Only references and the reader's own words: no field that could hold a text."""
    for r in _rows("dev.jsonl"):
        assert set(r) == ARTICLE_KEYS and all(set(c) == CAUSE_KEYS for c in r["causes"])
    assert all(set(c) <= CANDIDATE_KEYS for c in _rows("candidates.jsonl"))
