"""No library's exception text reaches a user as the reason for a failure.

What it proves: when spaCy, the classifier, a reader library, the network or SQLite fails, the
reason shown (``failed: INPUT: reason``, ``analysis failed: …``, ``error: …``) is a sentence
of ours that may name the library and the kind of failure, on one line, with no traceback and
none of the library's message; the messages this package writes itself are kept as they are.
"""
from __future__ import annotations

import socket
from pathlib import Path

import feedparser
import lxml.html
import numpy as np
import pytest
import spacy

from sentiment.analyzer import Analyzer
from sentiment.classify.model import default_model_path
from sentiment.ingest import IngestError, IngestOptions, iter_inputs
from sentiment.ingest.fetch import Fetcher, FetchError
from sentiment.ingest.files import read_capped
from sentiment.reasons import describe, reason
from sentiment.schema import Score
from sentiment.tagfiles import format_for
from sentiment.tagging import tag_files

RAW = "[E999] raw text from deep inside a library\nTraceback (most recent call last):\n  File 'lib.py'"


def assert_ours(text: str) -> None:
    assert text and "\n" not in text and "Traceback" not in text and "E999" not in text and "raw text" not in text, text


def raise_raw(*args, **kwargs):
    raise ValueError(RAW)


# ------------------------------------------------------------------ describe
def test_a_library_error_is_told_by_its_kind_and_library():
    nlp = spacy.blank("en")
    nlp.max_length = 10
    with pytest.raises(ValueError, match="E088") as info:
        nlp("x" * 20)
    assert describe(info.value) == reason(info.value) == "ValueError in spaCy"
    with pytest.raises(np.linalg.LinAlgError) as singular:
        np.linalg.inv(np.zeros((2, 2)))
    assert describe(singular.value) == "LinAlgError in numpy"


def test_our_own_messages_are_kept_and_our_bugs_are_told_by_place():
    with pytest.raises(ValueError) as info:
        format_for("tags.out", "yaml")
    assert reason(info.value) == str(info.value) and describe(info.value) == f"ValueError: {info.value}"
    with pytest.raises(TypeError) as bug:  # the interpreter's "'NoneType' object is not subscriptable"
        Score.from_dict(None)  # type: ignore[arg-type]
    assert describe(bug.value) == reason(bug.value) == "TypeError in sentiment.schema"
    with pytest.raises(FileNotFoundError) as missing:
        read_capped(Path("/no/such/file.txt"), 100)
    assert describe(missing.value) == "FileNotFoundError in sentiment.ingest.files: No such file or directory"


# ------------------------------------------------------------------ analysis
@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    if any(default_model_path().glob("*.safetensors")):
        return Analyzer()
    from sentiment.classify.baselines import LexiconScorer

    return Analyzer(LexiconScorer())


class RawScorer:
    """The module's classifier, except that it fails with a library-style message on one text."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def predict_proba(self, texts, batch_size: int = 64):
        if any("POISON" in t for t in texts):
            raise_raw()
        return self.inner.predict_proba(texts)


def tag_news(tmp_path: Path, analyzer: Analyzer) -> list[IngestError]:
    news = tmp_path / "news"
    news.mkdir()
    for i in range(3):
        (news / f"story-{i}.txt").write_text(f"Bitcoin story {i}\n\nBitcoin rose {i + 1}%.{' POISON' * 10 * (i == 1)}\n")
    shown: list[IngestError] = []
    report = tag_files([news], tmp_path / "tags.jsonl", analyzer=analyzer, on_error=shown.append)
    assert report.tagged == 2 and report.failed == 1 and shown == report.errors
    return shown


def test_a_classifier_failure_gives_our_reason(tmp_path, analyzer):
    (error,) = tag_news(tmp_path, Analyzer(RawScorer(analyzer.model), nlp=analyzer.extractor.nlp))
    assert error.reason.startswith("analysis failed: ValueError in ")
    assert_ours(error.reason)


def test_a_spacy_failure_gives_our_reason(tmp_path, analyzer, monkeypatch):
    """spaCy's own E088, forced by reading a poisoned article whole with a tiny length limit."""
    from sentiment.extract import pipeline

    real = pipeline.chunk_text
    monkeypatch.setattr(pipeline, "chunk_text", lambda text: [(0, len(text))] if "POISON" in text else real(text))
    nlp = analyzer.extractor.nlp
    monkeypatch.setattr(nlp, "max_length", 30)
    (error,) = tag_news(tmp_path, Analyzer(analyzer.model, nlp=nlp))
    assert error.reason == "analysis failed: ValueError in spaCy"


# ------------------------------------------------------------------ reading
def test_reader_failures_give_our_reasons(tmp_path, monkeypatch):
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Bitcoin rose.</p></body></html>")
    feed = tmp_path / "feed.xml"
    feed.write_bytes(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
                     b"<item><title>Bitcoin up</title></item></channel></rss>")
    text = tmp_path / "a.txt"
    text.write_text("Bitcoin up\n\nBitcoin rose.\n")
    monkeypatch.setattr(lxml.html, "document_fromstring", raise_raw)
    monkeypatch.setattr(feedparser, "parse", raise_raw)
    monkeypatch.setattr("sentiment.ingest.sources.read_text_document", raise_raw)
    got = {Path(e.input).name: e.reason for e in iter_inputs([page, feed, text]) if isinstance(e, IngestError)}
    assert got["page.html"] == "not an HTML page: lxml cannot parse it"
    assert got["feed.xml"] == "malformed feed: feedparser cannot read it (ValueError)"
    assert got["a.txt"].startswith("unreadable (ValueError in ")
    for why in got.values():
        assert_ours(why)


def test_malformed_data_is_located_in_our_words(tmp_path):
    feed = tmp_path / "broken.xml"
    feed.write_bytes(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></chan></rss>')
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "Bitcoin rose."}\n{"text": \n')
    got = [e.reason for e in iter_inputs([feed, rows]) if isinstance(e, IngestError)]
    assert got == ["malformed feed: XML syntax error at line 1, column 84",
                   "invalid JSON: Expecting value at column 11"]


def test_network_failures_give_our_reasons():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with Fetcher(IngestOptions(retries=0, timeout=2.0)) as fetcher:
        for url, expected in ((f"http://127.0.0.1:{closed}/feed", "cannot connect: connection refused"),
                              ("http://[::1/feed", "invalid URL: it cannot be parsed")):
            with pytest.raises(FetchError) as info:
                fetcher.fetch(url)
            assert str(info.value) == expected and "Errno" not in str(info.value)


def test_store_failures_give_our_reasons(tmp_path):
    from sentiment.store import Store, StoreError

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as info:
        Store(junk)
    assert str(info.value) == f"cannot open store {junk}: not a SQLite database"


# ------------------------------------------------------------------ command line
def test_an_unexpected_error_on_the_command_line_is_one_line_of_ours(tmp_path, capsys, monkeypatch):
    from sentiment.cli import main

    tags = tmp_path / "tags.jsonl"
    tags.write_text("")

    def broken(*args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'title'")

    monkeypatch.delenv("SENTIMENT_DEBUG", raising=False)
    monkeypatch.setattr("sentiment.tagfiles.read_tags", broken)
    assert main(["show", str(tags)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: AttributeError in ") and err.count("\n") == 1
    assert "NoneType" not in err and "SENTIMENT_DEBUG=1" in err


def test_a_failed_input_line_on_the_command_line_is_ours(tmp_path, capsys, monkeypatch):
    from sentiment.cli import main

    (tmp_path / "a.txt").write_text("Bitcoin up\n\nBitcoin rose 2%.\n")
    monkeypatch.setattr("sentiment.ingest.sources.read_text_document", raise_raw)
    assert main(["tag", str(tmp_path / "a.txt"), "-o", str(tmp_path / "tags.jsonl"), "-q", "--processes", "1"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(f"failed: {tmp_path / 'a.txt'}: unreadable (ValueError in ")
    assert_ours(lines[0])
