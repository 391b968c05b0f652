"""Reliability under bad input: one whole ``tag_files`` batch over the bad-input corpus
(``tests/data/bad/``, ``tests/data/bad_reliability/`` and large files generated here) and a
few good articles. (The second folder is separate because other tests count what ``bad/`` gives.)

What it proves: each bad input gives one clear reason (or a valid, possibly empty, record);
every good article is still tagged; the report, the output file and the store agree, and
their counts add up to what went in. Nothing is lost silently: 1 MB lines and odd text are
tagged (a cut made to bound the work is stated in the record).
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from helpers.crashes import ChokingScorer

from sentiment.analyzer import Analyzer
from sentiment.classify.model import default_model_path
from sentiment.ingest import IngestError, iter_inputs
from sentiment.schema import Article
from sentiment.store import Store
from sentiment.tagfiles import read_tags, write_table
from sentiment.tagging import tag_files

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"
MORE_BAD = DATA / "bad_reliability"
GOOD = sorted((DATA / "articles").glob("*.txt"))
MB = 2**20

# Every file of the bad corpus and what it must give: an error reason (a fragment of it),
# "skipped: …", or the number of records tagged from it. The row errors of tables are in
# ROW_ERRORS: file → {"line N": reason}.
EXPECTED = {
    "bad_rows.jsonl": 1,
    "billion_laughs.xml": "unsafe XML: DTD entity declarations are refused",
    "binary.html": "not a feed or article: binary file",
    "blank.md": "empty file",
    "broken_lines.jsonl": 2,  # BOM line and NUL line kept; trailing garbage and the cut line fail
    "cp1252.txt": 1,
    "empty.txt": "empty file",
    "external_entity.xml": "unsafe XML: DTD entity declarations are refused",
    "feed_without_items.xml": "skipped: feed has no entries",
    "garbled.xml": "malformed feed:",
    "latin1.txt": 1,
    "lone_surrogates.jsonl": 2,  # unpaired "\ud83d" escapes become U+FFFD (they used to crash the store)
    "malformed_atom.xml": 2,  # the entries feedparser recovered are kept
    "missing_columns.csv": 3,  # a row with no text and no title fails; short and long rows are kept
    "no_text_column.csv": "no 'text' or 'title' column",
    "not_a_feed.xml": "not a feed: no RSS, RDF or Atom root element",
    "notes.pdf": "skipped: unknown file type '.pdf'",
    "only_emoji.txt": 1,
    "only_numbers.txt": 1,
    "scripts_only.html": "no article text found in the HTML page",
    "surrogate_refs.xml": 2,  # "&#xD83D;" is read as U+FFFD (it used to fail the whole feed)
    "truncated.xml": 2,
    "truncated_atom.xml": 2,
    "utf16_bom.txt": 1,
    "utf16_bom_feed.xml": 1,
}
ROW_ERRORS = {
    "bad_rows.jsonl": {"line 2": "invalid JSON", "line 3": "not an object but list",
                       "line 4": "no 'text' (or 'title') value"},
    "broken_lines.jsonl": {"line 2": "invalid JSON: Extra data", "line 5": "invalid JSON: Unterminated string"},
    "missing_columns.csv": {"line 4": "no 'text' (or 'title') value"},
    "deep.jsonl": {"line 2": "invalid JSON: nested too deeply"},
}
HEX_LINE_BYTES = MB  # a single 1 MB line (a minified blob, no newline at all)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """The real default Analyzer (shipped model). Where the weights are absent from the
    checkout, the lexicon baseline scores sentences instead: the batch guarantees under test
    do not depend on which classifier scores."""
    if any(default_model_path().glob("*.safetensors")):
        return Analyzer()
    from sentiment.classify.baselines import LexiconScorer

    return Analyzer(model=LexiconScorer())


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """Inputs too large (or too random) to keep in the repository, written once per module."""
    folder = tmp_path_factory.mktemp("generated")
    paths = {}
    paths["huge.txt"] = folder / "huge.txt"  # 50 MB, in 1 MB blocks
    block = (b"Bitcoin rallied 2% on Tuesday. " * 40000)[:MB]
    with paths["huge.txt"].open("wb") as fh:
        for _ in range(50):
            fh.write(block)
    paths["one_line.txt"] = folder / "one_line.txt"
    paths["one_line.txt"].write_text("Blob dump\n" + ("0123456789abcdef" * (HEX_LINE_BYTES // 16)), encoding="ascii")
    paths["one_row.jsonl"] = folder / "one_row.jsonl"  # one JSON Lines row of 1 MB
    paths["one_row.jsonl"].write_text(json.dumps({"title": "Wide row", "text": "f" * MB}) + "\n")
    paths["random.xml"] = folder / "random.xml"
    paths["random.xml"].write_bytes(bytes((i * 131 + (i >> 3) * 17) % 256 for i in range(8192)))
    paths["deep.jsonl"] = folder / "deep.jsonl"  # a row nested 100,000 deep between two good rows
    paths["deep.jsonl"].write_text('{"title": "Deep file, row before", "text": "Solana rose 3%."}\n' + "[" * 100_000 + "]" * 100_000
                                   + '\n{"title": "Deep file, row after", "text": "Solana fell 1%."}\n')
    # The same article twice under two names: one is a duplicate, not a second record.
    paths["copy.txt"] = folder / "copy.txt"
    shutil.copy(GOOD[0], paths["copy.txt"])
    return paths


GENERATED_EXPECTED = {
    "huge.txt": "file is 50 MB, over the 20 MB limit",
    "one_line.txt": 1,
    "one_row.jsonl": 1,
    "random.xml": "not a feed or article: binary file",
    "deep.jsonl": 2,
    "copy.txt": "duplicate",
}


def outcome(items: list) -> list:
    return [("article" if isinstance(i, Article) else "skipped" if i.skipped else "error") for i in items]


@pytest.fixture(scope="module")
def run(tmp_path_factory, analyzer, generated):
    """One batch: bad corpus (walked as a folder), generated files, good articles, a copy."""
    out_dir = tmp_path_factory.mktemp("batch")
    sources = [BAD, MORE_BAD, *generated.values(), *GOOD]
    output, store = out_dir / "tags.jsonl", out_dir / "store.sqlite"
    errors: list[IngestError] = []
    report = tag_files(sources, output, store=store, analyzer=analyzer, batch_size=4, on_error=errors.append)
    items = list(iter_inputs(sources))
    return {"sources": sources, "report": report, "output": output, "store": store, "items": items,
            "errors": errors, "records": list(read_tags(output))}


def test_every_bad_input_has_one_clear_outcome(run, generated):
    by_input: dict[str, list] = {}
    for item in run["items"]:
        name = item.meta["input"] if isinstance(item, Article) else item.input.split("#")[0]
        by_input.setdefault(Path(name).name, []).append(item)
    for name, expected in {**EXPECTED, **GENERATED_EXPECTED}.items():
        got = by_input.pop(name)
        rows = ROW_ERRORS.get(name, {})
        if isinstance(expected, int):
            assert outcome(got).count("article") == expected, (name, got)
            row_errors = {e.input.rsplit("#", 1)[1]: e.reason for e in got if isinstance(e, IngestError)}
            assert set(row_errors) == set(rows), (name, row_errors)
            for where, reason in rows.items():
                assert row_errors[where].startswith(reason), (name, where, row_errors[where])
        elif expected == "duplicate":
            assert outcome(got) == ["article"]
        else:
            assert len(got) == 1, (name, got)
            (error,) = got
            assert isinstance(error, IngestError) and error.skipped == expected.startswith("skipped: ")
            assert expected.removeprefix("skipped: ") in error.reason, (name, error.reason)
    # What is left are the good articles: each one is an article.
    assert sorted(by_input) == sorted(p.name for p in GOOD)
    assert all(outcome(v) == ["article"] for v in by_input.values())
    for error in run["errors"]:
        assert error.reason and "\n" not in error.reason and "Traceback" not in error.reason


def test_counts_add_up_across_report_output_and_store(run):
    report, items = run["report"], run["items"]
    n_articles = sum(isinstance(i, Article) for i in items)
    n_errors = sum(isinstance(i, IngestError) and not i.skipped for i in items)
    n_skipped = sum(isinstance(i, IngestError) and i.skipped for i in items)
    assert report.read == n_articles
    analysis_failures = [e for e in report.errors if e.reason.startswith("analysis failed")]
    assert analysis_failures == [], analysis_failures
    assert report.tagged + report.duplicates + report.resumed == report.read
    assert report.duplicates == 1 and report.resumed == 0
    assert (report.failed, report.skipped) == (n_errors, n_skipped)
    assert len(run["errors"]) == len(report.errors) == n_errors + n_skipped
    # Every input, good or bad, gave at least one item: nothing vanished without a word.
    labels = {i.meta["input"] if isinstance(i, Article) else i.input.split("#")[0] for i in items}
    files = {str(p) for p in [*BAD.iterdir(), *MORE_BAD.iterdir()]} | {str(s) for s in run["sources"][2:]}
    assert labels == files
    records = run["records"]
    assert len(records) == report.tagged == len({r["id"] for r in records})
    with Store(run["store"]) as store:
        assert store.count_articles() == report.read - report.duplicates
        assert store.count_tags() == report.tagged
        assert {t["id"] for t in store.tags()} == {r["id"] for r in records}
        assert [(e["input"], e["reason"]) for e in store.errors()] == [
            (e.input, e.reason) for e in report.errors if not e.skipped]


def test_records_are_valid_and_nothing_is_cut(run):
    records = run["records"]
    by_title = {r["title"]: r for r in records}
    for r in records:
        s = r["sentiment"]
        assert s["label"] in ("bearish", "neutral", "bullish") and -1 <= s["score"] <= 1
        assert math.isclose(sum(s["probs"].values()), 1, abs_tol=1e-4)
    # Text that says nothing about the market is a valid, empty-ish record, not an error.
    for title in ("🚀🚀🚀 🌕", "0123456789 3.14159 2718281828"):
        assert by_title[title]["moves"] == [] and by_title[title]["levels"] == []
    # Non-UTF-8 inputs come out decoded, not as mojibake.
    assert "Bitcoin fällt unter 60.000 Dollar" in by_title
    assert "Bitcoin’s “halving” rally – up 7%" in by_title
    # Lone surrogates are replaced, a real pair is kept.
    assert "Lone \ufffd surrogate in a title" in by_title and "A real pair 🚀 is kept" in by_title
    assert "Bitcoin \ufffd rallies 🚀" in by_title
    # Every good article was tagged, with its assets found.
    good_records = [r for r in records if r["title"] and any(r["title"] in p.read_text() for p in GOOD)]
    assert len(good_records) == len(GOOD)
    assert all(r["assets"] for r in good_records)
    # The 1 MB single-line inputs are tagged: whole (the sentence offsets reach the end), or, where
    # the Analyzer bounds the work per article, cut at a point the record states (never silently).
    for title in ("Blob dump", "Wide row"):
        rec = by_title[title]
        end = max(s["end"] for s in rec["sentences"])
        assert end >= MB - 16 or (isinstance(rec.get("truncated_at"), int) and end <= rec["truncated_at"]), (
            end, rec.get("truncated_at"))


def test_odd_records_round_trip_through_every_format(run, tmp_path):
    """The same records (control characters, emoji, 1 MB fields, quotes) survive CSV and Parquet."""
    records = run["records"]
    assert max(len(json.dumps(r)) for r in records) > 90_000  # the long sentences are in there
    for suffix in ("csv", "parquet"):
        path = tmp_path / f"tags.{suffix}"
        write_table(records, path, suffix)
        assert list(read_tags(path)) == records, suffix


# ------------------------------------------------------------------ bad command lines
@pytest.mark.parametrize("case", ["output is a folder", "store is a folder", "store is not SQLite",
                                  "negative size cap", "markup in a path", "long path"])
def test_bad_tag_command_lines_are_one_line_usage_errors(tmp_path, capsys, case):
    """Exit code 2 and one plain line on stderr, before any model is loaded; a path that looks
    like console markup ("[/x]") is printed as it is, not parsed (that used to crash)."""
    from sentiment.cli import main

    article = tmp_path / "a.txt"
    article.write_text("Bitcoin up\n\nBitcoin rose 2%.\n")
    out = tmp_path / "tags.jsonl"
    not_sqlite = tmp_path / "notes.sqlite"
    not_sqlite.write_text("not a database")
    odd = tmp_path / "[/x]" / ("very-long-folder-name-" * 4)
    odd.mkdir(parents=True)
    args, expected = {
        "output is a folder": (["-o", str(tmp_path)], f"--output {tmp_path} is a folder"),
        "store is a folder": (["-o", str(out), "--store", str(tmp_path)], "it is a directory"),
        "store is not SQLite": (["-o", str(out), "--store", str(not_sqlite)], "not a SQLite database"),
        "negative size cap": (["-o", str(out), "--max-mb", "-1"], "max_bytes must be positive"),
        "markup in a path": (["-o", str(out), "--store", str(odd.parent)], f"cannot open store {odd.parent}:"),
        "long path": (["-o", str(out), "--store", str(odd)], f"cannot open store {odd}: it is a directory"),
    }[case]
    assert main(["tag", str(article), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert "Traceback" not in err and not out.exists()


def test_a_classifier_failure_on_one_article_fails_only_that_article(tmp_path, analyzer):
    news = tmp_path / "news"
    news.mkdir()
    for i in range(7):
        poison = " POISON" if i == 3 else ""
        (news / f"story-{i}.txt").write_text(f"Bitcoin story {i}\n\nBitcoin rose {i + 1}% on day {i}.{poison}\n")
    choking = Analyzer(ChokingScorer(analyzer.model), nlp=analyzer.extractor.nlp)
    report = tag_files([news], tmp_path / "tags.jsonl", store=tmp_path / "s.sqlite", analyzer=choking, batch_size=4)
    assert (report.read, report.tagged, report.failed) == (7, 6, 1)
    (error,) = report.errors
    # The reason is ours: the kind of failure and where it was raised, not the classifier's message.
    assert error.input == str(news / "story-3.txt") and error.reason.startswith("analysis failed: RuntimeError in ")
    assert "choked" not in error.reason
    assert len(list(read_tags(tmp_path / "tags.jsonl"))) == 6
    with Store(tmp_path / "s.sqlite") as store:
        assert store.count_tags() == 6 and [e["reason"] for e in store.errors()] == [error.reason]


@pytest.mark.parametrize("name", ["tags.jsonl", "tags.csv"])
def test_output_inside_the_input_folder_is_never_read_back(tmp_path, analyzer, name):
    """`sentiment tag news/ -o news/tags.jsonl`, run again and again: the output (and a table's
    journal) is one skip, never tagged as new articles."""
    news = tmp_path / "news"
    news.mkdir()
    for i in range(3):
        (news / f"story-{i}.txt").write_text(f"Ether story {i}\n\nEther fell {i + 1}% on day {i}.\n")
    for _ in range(2):
        report = tag_files([news], news / name, analyzer=analyzer)
        assert report.read == 3 and report.tagged + report.resumed == 3 and report.failed == 0
        skips = {(Path(e.input).name, e.reason, e.skipped) for e in report.errors}
        assert skips and len(skips) == len(report.errors) == report.skipped
        assert skips <= {(f, "the output of this run, not an input", True) for f in (name, f"{name}.journal.jsonl")}
    assert len(list(read_tags(news / name))) == 3


def test_a_missing_model_is_one_fatal_error_not_a_failure_per_article(tmp_path, analyzer, capsys):
    from sentiment.cli import main

    article = tmp_path / "a.txt"
    article.write_text("Bitcoin up\n\nBitcoin rose 2%.\n")
    missing = Analyzer(tmp_path / "no-model", nlp=analyzer.extractor.nlp)
    with pytest.raises(FileNotFoundError, match="no model at"):
        tag_files([article], tmp_path / "tags.jsonl", analyzer=missing)
    assert list(read_tags(tmp_path / "tags.jsonl")) == []
    assert main(["tag", str(article), "-o", str(tmp_path / "cli.jsonl"), "--model", str(tmp_path / "no-model")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: FileNotFoundError: no model at"), err


def test_a_truncated_store_is_one_clear_error(tmp_path, capsys):
    import sqlite3

    from sentiment.cli import main
    from sentiment.store import StoreError

    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        for i in range(200):
            store.add_article(Article(text=f"Bitcoin moved {i}% today. " + "More words. " * 150, title=f"Story {i}"))
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with open(path, "r+b") as fh:  # a disk that filled up, a copy cut short
        fh.truncate(path.stat().st_size // 2)
    with pytest.raises(StoreError, match="the database file is damaged"):
        Store(path)
    article = tmp_path / "a.txt"
    article.write_text("Bitcoin up\n\nBitcoin rose 2%.\n")
    assert main(["tag", str(article), "-o", str(tmp_path / "t.jsonl"), "--store", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged" in err and "Traceback" not in err
