"""Duplicates (same page under two URLs, same text twice), re-runs and conditional GET polling."""
from __future__ import annotations

import json
from pathlib import Path

from helpers.httpserver import LocalServer

from sentiment.ingest import Deduplicator, ingest, iter_inputs
from sentiment.schema import Article
from sentiment.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


def feed_xml(items: list[tuple[str, str, str]]) -> str:
    body = "".join(f"<item><title>{t}</title><link>{l}</link><description>{d}</description></item>"
                   for t, l, d in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{body}</channel></rss>'


def test_deduplicator_urls_and_texts():
    dedupe = Deduplicator()
    a = Article(text="Bitcoin rose 3% to $98,000.", title="BTC up", url="https://www.site.example/a/?utm_source=rss")
    same_page = Article(text="Bitcoin rose 3% (updated).", title="BTC up", url="https://site.example/a#top")
    same_text = Article(text="bitcoin rose 3%   to $98,000", title="BTC UP!", url="https://mirror.example/b")
    other = Article(text="Ether fell 2%.", title="ETH down", url="https://site.example/c")
    assert [dedupe.add(x) for x in (a, same_page, same_text, other)] == [True, False, False, True]
    assert dedupe.seen(same_page) and len(dedupe) == 2
    assert list(Deduplicator().unique([a, same_page, other, other])) == [a, other]


def test_duplicates_in_one_batch_and_rerun_adds_nothing(tmp_path):
    rows = [
        {"title": "BTC up", "text": "Bitcoin rose 3% to $98,000.", "url": "https://site.example/a?utm_source=x"},
        {"title": "BTC up", "text": "Bitcoin rose 3% to $98,000.", "url": "https://www.site.example/a/"},
        {"title": "BTC up", "text": "Bitcoin rose 3% to $98,000.", "url": "https://syndicated.example/copy"},
        {"title": "ETH down", "text": "Ether fell 2%."},
        {"title": "ETH down", "text": "Ether fell 2%."},
    ]
    path = tmp_path / "dupes.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    store_path = tmp_path / "s.db"
    first = ingest([path, DATA], store_path)
    items = [i for i in iter_inputs([path, DATA]) if isinstance(i, Article)]
    assert first.read == len(items) and first.duplicates == 3 and first.new == len(items) - 3
    second = ingest([path, DATA], store_path)
    assert (second.read, second.new, second.duplicates) == (len(items), 0, len(items))
    with Store(store_path) as store:
        assert store.count_articles() == first.new


def test_conditional_get_second_poll_is_304_and_never_duplicates(tmp_path):
    store_path = tmp_path / "s.db"
    with LocalServer() as server:
        server.route("/rss", feed_xml([("A", "https://n.example/a", "Alpha text."),
                                       ("B", "https://n.example/b", "Beta text.")]),
                     content_type="application/rss+xml", etag='"v1"')
        url = server.url("/rss")
        first = ingest([url], store_path)
        assert (first.read, first.new, first.failed, first.skipped) == (2, 2, 0, 0)
        with Store(store_path) as store:
            assert store.feed_state(url) == {"etag": '"v1"', "last_modified": None}

        second = ingest([url], store_path)
        assert (second.read, second.new, second.failed, second.skipped) == (0, 0, 0, 1)
        (note,) = second.errors
        assert note.skipped and note.reason == "not modified since the last poll (HTTP 304)"
        assert server.headers_of("/rss")[-1]["If-None-Match"] == '"v1"'

        # The feed changes: one new item, one old one; the old one is not stored twice.
        server.route("/rss", feed_xml([("C", "https://n.example/c", "Gamma text."),
                                       ("B", "https://n.example/b?utm_source=feed", "Beta text.")]),
                     content_type="application/rss+xml", etag='"v2"', last_modified="Wed, 05 Nov 2025 10:00:00 GMT")
        third = ingest([url], store_path)
        assert (third.read, third.new, third.duplicates, third.failed) == (2, 1, 1, 0)
        with Store(store_path) as store:
            assert store.count_articles() == 3
            assert store.feed_state(url) == {"etag": '"v2"', "last_modified": "Wed, 05 Nov 2025 10:00:00 GMT"}
            assert store.errors() == []  # a 304 is not an error

        # Without a store there is no conditional GET: the feed is read in full.
        items = list(iter_inputs([url]))
        assert [type(i) for i in items] == [Article, Article]


def test_failed_parse_does_not_remember_validators(tmp_path):
    store_path = tmp_path / "s.db"
    with LocalServer() as server:
        server.route("/bad", "<rss><channel><<<", content_type="application/rss+xml", etag='"x"')
        url = server.url("/bad")
        report = ingest([url], store_path)
        assert report.failed == 1 and "malformed feed" in report.errors[0].reason
        with Store(store_path) as store:
            assert store.feed_state(url) is None  # the next poll fetches it in full again
        again = ingest([url], store_path)
        assert again.failed == 1 and not again.errors[0].skipped


def test_folder_walk_skips_documentation_files(tmp_path):
    from sentiment.ingest import IngestError, iter_inputs

    (tmp_path / "README.md").write_text("# About these files\nThey are news.", encoding="utf-8")
    (tmp_path / "LICENSE").write_text("Apache-2.0", encoding="utf-8")
    (tmp_path / "news.txt").write_text("Bitcoin rises\nBitcoin rose 2% on Monday.", encoding="utf-8")
    items = list(iter_inputs([tmp_path]))
    articles = [i for i in items if not isinstance(i, IngestError)]
    skipped = sorted(Path(i.input).name for i in items if isinstance(i, IngestError) and i.skipped)
    assert [a.title for a in articles] == ["Bitcoin rises"]
    assert skipped == ["LICENSE", "README.md"]
    # named directly, a README is read like any other file
    direct = list(iter_inputs([tmp_path / "README.md"]))
    assert len(direct) == 1 and not isinstance(direct[0], IngestError)
