"""The SQLite store: articles unique by id, URL and text; tags upserted; feed state; errors;
WAL mode, schema versions and surviving a kill -9 mid-write."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sentiment.schema import Article
from sentiment.store import SCHEMA_VERSION, Store, StoreError

ROOT = Path(__file__).resolve().parent.parent


def article(n: int = 1, **kwargs) -> Article:
    defaults = {"text": f"Bitcoin moved {n}% on day {n}.", "title": f"Story {n}",
                "url": f"https://news.example.com/story-{n}", "source": "news.example.com",
                "published": datetime(2025, 1, n % 28 + 1, 12, tzinfo=timezone.utc), "meta": {"input": "x"}}
    defaults.update(kwargs)
    return Article(**defaults)


def test_creates_parent_folders_wal_and_schema_version(tmp_path):
    path = tmp_path / "deep" / "er" / "news.db"
    with Store(path) as store:
        assert store.count_articles() == 0
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"articles", "tags", "feed_state", "errors"} <= tables
    db.close()


def test_add_get_iterate_articles_round_trip(tmp_path):
    with Store(tmp_path / "s.db") as store:
        originals = [article(n) for n in (3, 1, 2)]
        assert [store.add_article(a) for a in originals] == [True, True, True]
        assert store.count_articles() == 3
        assert [a.id for a in store.articles()] == [a.id for a in originals]  # insertion order
        got = store.get_article(originals[0].id)
        assert got.to_dict() == originals[0].to_dict()
        assert store.get_article("nope") is None


def test_duplicates_by_id_canonical_url_and_text(tmp_path):
    with Store(tmp_path / "s.db") as store:
        base = article(1, url="https://www.news.example.com/story-1/?utm_source=x")
        assert store.add_article(base)
        assert not store.add_article(article(1, url="https://www.news.example.com/story-1/?utm_source=x"))
        # Same page: tracking parameters, www. and trailing slash differ.
        assert not store.add_article(article(1, text="Updated text.", url="https://news.example.com/story-1?utm_medium=rss"))
        # Same text (case, spacing and punctuation aside) under an unrelated URL.
        assert not store.add_article(article(1, text="BITCOIN moved 1% on day 1", url="https://mirror.example.org/a"))
        assert store.add_article(article(2))
        assert store.count_articles() == 2
        assert store.has_article(article(1, url="https://news.example.com/story-1#comments"))


def test_tags_upsert_in_first_stored_order(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.put_tag({"id": "b", "schema": 1, "sentiment": {"label": "neutral"}})
        store.put_tag({"id": "a", "schema": 1, "title": "Ünïcode ✓"})
        store.put_tag({"id": "b", "schema": 1, "sentiment": {"label": "bullish"}})
        assert store.has_tag("a") and store.has_tag("b") and not store.has_tag("c")
        assert [t["id"] for t in store.tags()] == ["b", "a"]
        assert store.get_tag("b")["sentiment"]["label"] == "bullish"
        assert store.get_tag("a")["title"] == "Ünïcode ✓"
        assert store.count_tags() == 2
        with pytest.raises(ValueError):
            store.put_tag({"schema": 1})


def test_feed_state_and_errors(tmp_path):
    with Store(tmp_path / "s.db") as store:
        assert store.feed_state("https://x.example/rss") is None
        store.set_feed_state("https://x.example/rss", '"e1"', None)
        store.set_feed_state("https://x.example/rss", '"e2"', "Tue, 04 Nov 2025 08:00:00 GMT")
        assert store.feed_state("https://x.example/rss") == {"etag": '"e2"', "last_modified": "Tue, 04 Nov 2025 08:00:00 GMT"}
        store.add_error("a.xml", "malformed feed")
        store.add_error("b'; DROP TABLE articles; --", "quotes are data, not SQL")
        errors = store.errors()
        assert [(e["input"], e["reason"]) for e in errors] == [
            ("a.xml", "malformed feed"), ("b'; DROP TABLE articles; --", "quotes are data, not SQL")]
        assert store.count_articles() == 0


def test_reopen_keeps_everything(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.add_article(article(1))
        store.put_tag({"id": article(1).id, "schema": 1})
    with Store(path) as store:
        assert store.count_articles() == 1 and store.has_tag(article(1).id)
        assert not store.add_article(article(1))


def test_not_a_database_directory_and_newer_schema_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open store .*junk.db"):
        Store(junk)
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)
    newer = tmp_path / "newer.db"
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this sentiment"):
        Store(newer)


def test_a_failed_transaction_leaves_nothing(tmp_path):
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(RuntimeError), store._tx() as db:
            db.execute("INSERT INTO errors (input, reason, time) VALUES (?, ?, ?)", ("a", "b", "c"))
            raise RuntimeError("crash in the middle of a write")
        assert store.errors() == []
        store.add_error("a", "b")  # the connection is usable afterwards
        assert len(store.errors()) == 1


_WRITER = """
import sys
from sentiment.schema import Article
from sentiment.store import Store
store = Store(sys.argv[1])
n = 0
print("ready", flush=True)
while True:
    n += 1
    store.add_article(Article(text=f"Article number {n} about bitcoin.", url=f"https://k.example/{n}"))
    store.put_tag({"id": f"t{n}", "n": n})
"""


def test_survives_kill_9_during_writes(tmp_path):
    path = tmp_path / "killed.db"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # let it write a while
            time.sleep(0.2)
            if path.exists() and Path(str(path) + "-wal").exists():
                with Store(path) as peek:
                    if peek.count_articles() >= 20:
                        break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    with Store(path) as store:
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count = store.count_articles()
        assert count >= 20
        ids = [a.url for a in store.articles()]
        assert ids == [f"https://k.example/{n}" for n in range(1, count + 1)]  # no gaps, no torn rows
        assert store.count_tags() in (count - 1, count)
        assert store.add_article(Article(text="After the crash.", url="https://k.example/after"))


def test_streaming_pages_while_writing(tmp_path):
    from sentiment import store as store_module

    with Store(tmp_path / "s.db") as store:
        for n in range(1, 1206):
            store.add_article(Article(text=f"Item {n} text.", url=f"https://p.example/{n}"))
            store.put_tag({"id": f"t{n}", "n": n})
        seen = 0
        for a in store.articles():  # writes between pages must not disturb the iteration
            seen += 1
            store.put_tag({"id": a.id, "n": -1})
        assert seen == 1205 == store.count_articles() and store_module._PAGE < 1205
        assert [t["n"] for t in store.tags()][:3] == [1, 2, 3] and sum(1 for _ in store.tags()) == 2410


def test_a_transaction_closed_after_its_store_raises_nothing(tmp_path):
    """A Ctrl-C can leave a transaction's generator to be finalised after the store was closed
    (which already rolled it back): closing it then must not raise."""
    store = Store(tmp_path / "s.sqlite")
    tx = store._tx().gen  # the generator behind the context manager
    next(tx)  # inside the transaction, as an interrupted write would be
    store.close()
    tx.close()  # GeneratorExit at the yield: the rollback finds the connection closed
