"""Bad inputs: each gives one clear (input, reason) line, and the rest of the batch goes on."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from helpers.httpserver import LocalServer

from sentiment.ingest import IngestError, IngestOptions, ingest, iter_inputs
from sentiment.ingest.feeds import check_xml_safety
from sentiment.ingest.records import InputError
from sentiment.schema import Article
from sentiment.store import Store

DATA = Path(__file__).resolve().parents[1] / "data"
BAD = DATA / "bad"
GOOD_FEED = DATA / "ingest" / "rss20.xml"

# file → expected outcome: a reason fragment (an error), "skipped: …", or a count of articles.
EXPECTED_FILES = {
    "billion_laughs.xml": "unsafe XML: DTD entity declarations are refused",
    "external_entity.xml": "unsafe XML: DTD entity declarations are refused",
    "garbled.xml": "malformed feed:",
    "not_a_feed.xml": "not a feed: no RSS, RDF or Atom root element",
    "empty.txt": "empty file",
    "blank.md": "empty file",
    "binary.html": "not a feed or article: binary file",
    "no_text_column.csv": "no 'text' or 'title' column (columns: 'headline', 'when')",
    "feed_without_items.xml": "skipped: feed has no entries",
    "truncated.xml": 2,  # malformed, but the entries feedparser recovered are kept
    "latin1.txt": 1,
    "cp1252.txt": 1,
    "utf16_bom.txt": 1,
}


def input_of(item: Article | IngestError) -> str:
    return item.meta["input"] if isinstance(item, Article) else item.input.split("#")[0]


def by_input(items) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for item in items:
        grouped.setdefault(input_of(item), []).append(item)
    return grouped


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "huge.txt"
    with path.open("wb") as handle:  # 50 MB, written in 1 MB blocks
        block = (b"Bitcoin rallied. " * 61681)[: 2**20]
        for _ in range(50):
            handle.write(block)
    return path


def test_each_bad_file_one_clear_reason_and_good_inputs_still_read(tmp_path, big_file):
    random_bin = tmp_path / "random.dat"
    random_bin.write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))
    sources = [BAD / name for name in EXPECTED_FILES] + [big_file, random_bin, GOOD_FEED,
                                                          tmp_path / "missing.txt"]
    items = list(iter_inputs(sources))
    grouped = by_input(items)
    # Every input is accounted for, in input order.
    assert list(grouped) == [str(s) for s in sources]
    for name, expected in EXPECTED_FILES.items():
        got = grouped[str(BAD / name)]
        if isinstance(expected, int):
            assert [type(i) for i in got] == [Article] * expected, (name, got)
        else:
            assert len(got) == 1 and isinstance(got[0], IngestError), (name, got)
            error = got[0]
            reason = expected.removeprefix("skipped: ")
            assert error.skipped == expected.startswith("skipped: "), name
            assert reason in error.reason, (name, error.reason)
            assert "\n" not in error.reason and "Traceback" not in error.reason
    (big,) = grouped[str(big_file)]
    assert big.reason == "file is 50 MB, over the 20 MB limit (max_bytes)"
    (binary,) = grouped[str(random_bin)]
    assert binary.reason == "not a feed or article: binary file"
    assert len(grouped[str(GOOD_FEED)]) == 2 and all(isinstance(a, Article) for a in grouped[str(GOOD_FEED)])
    assert grouped[str(tmp_path / "missing.txt")][0].reason == "no such file or folder"


def test_non_utf8_text_decodes_without_mojibake():
    got = {a.meta["input"]: a for a in iter_inputs([BAD / "latin1.txt", BAD / "cp1252.txt", BAD / "utf16_bom.txt"])}
    latin = got[str(BAD / "latin1.txt")]
    assert latin.title == "Bitcoin fällt unter 60.000 Dollar"
    assert "Händler in Zürich. Café-Besitzer" in latin.text
    cp = got[str(BAD / "cp1252.txt")]
    assert cp.title == "Ether’s “flash crash” – a 9% drop" and "€40 million" in cp.text
    utf16 = got[str(BAD / "utf16_bom.txt")]
    assert utf16.title == "Ripple’s XRP gains 6%" and utf16.text == "XRP rose 6% to $0.58 — the biggest gain in a month."
    for article in got.values():
        assert "Ã" not in article.text + article.title and "\ufffd" not in article.text


def test_bad_rows_are_errors_per_row_and_good_rows_kept():
    items = list(iter_inputs([BAD / "bad_rows.jsonl"]))
    assert isinstance(items[0], Article) and items[0].title == "Good row"
    errors = items[1:]
    assert [e.input.rsplit("#", 1)[1] for e in errors] == ["line 2", "line 3", "line 4"]
    assert errors[0].reason.startswith("invalid JSON")
    assert errors[1].reason == "not an object but list"
    assert errors[2].reason == "no 'text' (or 'title') value"


def test_entity_bomb_is_never_expanded():
    start = time.monotonic()
    (item,) = list(iter_inputs([BAD / "billion_laughs.xml"]))
    assert isinstance(item, IngestError) and time.monotonic() - start < 2
    for name in ("billion_laughs.xml", "external_entity.xml"):
        with pytest.raises(InputError, match="unsafe XML"):
            check_xml_safety((BAD / name).read_bytes())
    # A DOCTYPE without entity declarations (RSS 0.91) is fine.
    check_xml_safety((DATA / "ingest" / "rss091.xml").read_bytes())
    # Entity declarations in an HTML page are refused too.
    page = b'<!DOCTYPE html [<!ENTITY x SYSTEM "file:///etc/passwd">]><html><body><p>&x;</p></body></html>'
    with LocalServer() as server:
        server.route("/evil", page)
        (item,) = list(iter_inputs([server.url("/evil")]))
    assert isinstance(item, IngestError) and item.reason.startswith("unsafe XML")


def test_folder_reports_unknown_types_as_skipped(tmp_path):
    folder = tmp_path / "news"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("Bitcoin up\nBitcoin rose 1%.\n")
    (folder / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (folder / "sub" / "c.md").write_text("# Ether down\nEther fell 2%.\n")
    (folder / "sub" / "README").write_text("notes")
    (folder / ".hidden.txt").write_text("secret\nnot read\n")
    items = list(iter_inputs([folder]))
    summary = [(Path(input_of(i)).name, type(i).__name__, getattr(i, "reason", None)) for i in items]
    assert summary == [
        (".hidden.txt", "IngestError", "hidden file or folder"),
        ("a.png", "IngestError", "unknown file type '.png'"),
        ("b.txt", "Article", None),
        ("README", "IngestError", "the folder's documentation, not an article"),
        ("c.md", "Article", None),
    ]
    assert all(i.skipped for i in items if isinstance(i, IngestError))


def test_bad_urls_each_one_reason_and_batch_goes_on():
    options = IngestOptions(timeout=0.3, retries=1, backoff=0.01, max_redirects=3)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with LocalServer() as server:
        server.route("/slow", b"<rss/>", delay=3.0)
        server.redirect("/loop1", "/loop2")
        server.redirect("/loop2", "/loop1")
        server.route("/error", statuses=[500] * 5)
        server.route("/image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), content_type="image/png")
        server.route("/data.json", b'{"price": 1}', content_type="application/json")
        server.route("/feed", GOOD_FEED.read_bytes(), content_type="application/rss+xml")
        expected = {
            server.url("/slow"): "timed out after 0.3 s (after 2 attempts)",
            server.url("/loop1"): f"redirect loop: {server.url('/loop1')} -> {server.url('/loop2')} -> {server.url('/loop1')}",
            server.url("/missing"): "HTTP 404 Not Found",
            server.url("/error"): "HTTP 500 Internal Server Error (after 2 attempts)",
            server.url("/image.png"): "not a feed or article: binary content (image/png)",
            server.url("/data.json"): "not a feed or article: content type application/json",
            f"http://127.0.0.1:{closed_port}/rss": "cannot connect:",
            "ftp://example.com/feed.xml": "only http and https URLs are fetched",
        }
        feed_url = server.url("/feed")
        sources = list(expected) + [feed_url]
        items = list(iter_inputs(sources, options))
    grouped = by_input(items)
    assert list(grouped) == sources
    for url, reason in expected.items():
        (error,) = grouped[url]
        assert isinstance(error, IngestError) and not error.skipped
        assert error.reason.startswith(reason), (url, error.reason)
    assert [a.title for a in grouped[feed_url]] == ["Ether ETFs log $300 million of outflows",
                                                                "Stablecoin supply hits a record"]


def test_ingest_counts_add_up_and_errors_are_recorded(tmp_path):
    sources = [BAD, GOOD_FEED]
    report = ingest(sources, tmp_path / "store.db")
    items = list(iter_inputs(sources))
    n_articles = sum(isinstance(i, Article) for i in items)
    assert report.read == n_articles == report.new + report.duplicates
    assert report.read + report.failed + report.skipped == len(items)
    assert report.skipped == 2  # notes.pdf and the feed without entries
    with Store(tmp_path / "store.db") as store:
        assert store.count_articles() == report.new
        recorded = store.errors()
    assert [(e["input"], e["reason"]) for e in recorded] == [(e.input, e.reason) for e in report.errors if not e.skipped]
    assert all(e["time"].endswith("Z") for e in recorded)


def test_table_row_over_the_size_cap_is_one_row_error(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "' + "a" * 5000 + '"}\n{"text": "Bitcoin rose 3% today."}\n')
    items = list(iter_inputs([path], IngestOptions(max_bytes=1000)))
    assert isinstance(items[0], IngestError) and items[0].input.endswith("#line 1")
    assert items[0].reason == "line longer than the 1000 bytes limit"
    assert isinstance(items[1], Article) and items[1].text == "Bitcoin rose 3% today."


def test_an_unclosed_quote_in_a_csv_loses_one_row_not_the_rest_of_the_file(tmp_path):
    """csv reads an unclosed quote to the end of the file as one field: the row is reported and
    the rows after it are still read (a closed multi-line field stays one field)."""
    path = tmp_path / "export.csv"
    path.write_text('title,text\nA,"Bitcoin rose\non ETF inflows"\nB,"Ether fell as the quote\n'
                    'C,Solana rallied 5%\nD,XRP slid\n', encoding="utf-8")
    items = list(iter_inputs([path]))
    assert [type(i).__name__ for i in items] == ["Article", "IngestError", "Article", "Article"]
    assert items[0].text == "Bitcoin rose\non ETF inflows"
    assert items[1].input == f"{path}#line 4" and "quoted field is never closed" in items[1].reason
    assert [(i.title, i.text) for i in items[2:]] == [("C", "Solana rallied 5%"), ("D", "XRP slid")]
