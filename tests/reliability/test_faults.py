"""Network faults the fetcher must survive with one clear reason each (what tests/ingest/test_fetch.py
and tests/ingest/test_bad.py do not already cover): connection resets before and during the
body, bodies cut short, a slow drip, gzip bombs, lying content types and charsets; and
polling the same feed twice through ``tag_files`` never duplicates an article.

Resets and cut bodies need control of the raw socket, so those routes are served by a small
scripted TCP server here; the rest use the shared ``tests/httpserver.py``.
"""
from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.httpserver import LocalServer

from sentiment.analyzer import Analyzer
from sentiment.classify.model import default_model_path
from sentiment.ingest import Fetcher, FetchError, IngestError, IngestOptions, iter_inputs
from sentiment.schema import Article
from sentiment.store import Store
from sentiment.tagfiles import read_tags
from sentiment.tagging import tag_files

DATA = Path(__file__).resolve().parents[1] / "data"
FEED = (DATA / "ingest" / "rss20.xml").read_bytes()
FEED_TITLES = ["Ether ETFs log $300 million of outflows", "Stablecoin supply hits a record"]


class Sleeps(list):
    """Records backoff delays instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def ok_response(body: bytes, content_type: str = "application/rss+xml", extra: str = "") -> bytes:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"{extra}Connection: close\r\n\r\n")
    return head.encode() + body


def reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a TCP reset, not a clean end."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class RawServer:
    """Answers the n-th connection with ``script[min(n, len-1)](conn)`` after reading the request."""

    def __init__(self, script: list[Callable[[socket.socket], None]]):
        self.script = script
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/feed.xml"

    def __enter__(self) -> RawServer:
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        deadline = time.monotonic() + 60
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            step = self.script[min(self.connections, len(self.script) - 1)]
            self.connections += 1
            try:
                conn.settimeout(2)
                conn.recv(65536)  # the request
                step(conn)
            except OSError:
                pass
            finally:
                try:
                    conn.close()
                except OSError:
                    pass


def serve_feed(conn: socket.socket) -> None:
    conn.sendall(ok_response(FEED))


def reset_mid_body(conn: socket.socket) -> None:
    whole = ok_response(FEED)
    conn.sendall(whole[: len(whole) // 2])
    time.sleep(0.05)
    reset(conn)


def cut_short(conn: socket.socket) -> None:
    whole = ok_response(FEED)
    conn.sendall(whole[:-100])  # Content-Length promises 100 bytes more; then a clean close
    conn.shutdown(socket.SHUT_WR)


def fetcher(sleeps: Sleeps, **kwargs) -> Fetcher:
    kwargs.setdefault("timeout", 2.0)
    kwargs.setdefault("retries", 2)
    kwargs.setdefault("backoff", 0.5)
    return Fetcher(IngestOptions(**kwargs), sleep=sleeps)


@pytest.mark.parametrize("fault, reason", [
    (reset, "connection broken:"),
    (reset_mid_body, "connection broken:"),
    (cut_short, "connection broken:"),
])
def test_resets_and_cut_bodies_are_retried_then_reported(fault, reason):
    sleeps = Sleeps()
    with RawServer([fault]) as server, fetcher(sleeps) as f, pytest.raises(FetchError) as info:
        f.fetch(server.url)
    message = str(info.value)
    assert message.startswith(reason) and message.endswith("(after 3 attempts)"), message
    assert "\n" not in message and server.connections == 3 and sleeps == [0.5, 1.0]


@pytest.mark.parametrize("fault", [reset, reset_mid_body, cut_short])
def test_a_fault_then_a_good_answer_reads_the_feed_once(fault):
    with RawServer([fault, serve_feed]) as server:
        items = list(iter_inputs([server.url], IngestOptions(timeout=2.0, retries=2, backoff=0.01)))
        assert server.connections == 2
    assert [i.title for i in items if isinstance(i, Article)] == FEED_TITLES and len(items) == 2


def test_slow_drip_body_stops_at_the_total_time_limit():
    def drip(conn: socket.socket) -> None:  # each byte well within the read timeout, forever
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(200):
            conn.sendall(b"<p>" + b"x" * 61 + b"</p>")
            time.sleep(0.05)

    start = time.monotonic()
    with RawServer([drip]) as server, fetcher(Sleeps(), timeout=0.2, retries=0) as f, \
            pytest.raises(FetchError, match=r"^timed out after 1 s \(download too slow\)$"):
        f.fetch(server.url)
    assert time.monotonic() - start < 3


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


def test_gzip_bomb_stops_at_the_decoded_size_cap(server):
    bomb = gzip.compress(b"\0" * (64 * 2**20), compresslevel=9)  # ~64 KB that inflates to 64 MB
    assert len(bomb) < 2**20 // 8
    server.route("/bomb.xml", bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        with fetcher(Sleeps(), max_bytes=2**20) as f, \
                pytest.raises(FetchError, match="^response larger than the 1 MB limit$"):
            f.fetch(server.url("/bomb.xml"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"decoding the bomb took {peak / 2**20:.0f} MB"  # bounded by the cap, not the bomb
    # The same through ingestion: one clear error, the batch goes on.
    server.route("/feed.xml", FEED, content_type="application/rss+xml")
    items = list(iter_inputs([server.url("/bomb.xml"), server.url("/feed.xml")], IngestOptions(max_bytes=2**20)))
    assert isinstance(items[0], IngestError) and items[0].reason == "response larger than the 1 MB limit"
    assert [i.title for i in items[1:]] == FEED_TITLES


def deflate_raw(data: bytes) -> bytes:
    z = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return z.compress(data) + z.flush()


def test_compressed_bodies_within_the_cap_and_broken_ones(server):
    routes = {"/gzip.xml": ("gzip", gzip.compress(FEED)), "/deflate.xml": ("deflate", zlib.compress(FEED)),
              "/raw-deflate.xml": ("deflate", deflate_raw(FEED)),
              "/broken.xml": ("gzip", b"\x1f\x8b\x08\x00not really gzip at all" * 4),
              "/cut.xml": ("gzip", gzip.compress(FEED)[:-40]), "/brotli.xml": ("br", b"\x0b\x02\x80hello\x03")}
    for path, (encoding, body) in routes.items():
        server.route(path, body, content_type="application/rss+xml", headers={"Content-Encoding": encoding})
    items = list(iter_inputs([server.url(p) for p in routes]))
    assert [i.title for i in items[:6]] == FEED_TITLES * 3
    errors = [(Path(e.input).name, e.reason) for e in items[6:]]
    assert [(name, reason.split(":")[0]) for name, reason in errors] == [
        ("broken.xml", "undecodable response body"), ("cut.xml", "undecodable response body"),
        ("brotli.xml", "unsupported content encoding 'br'")]
    assert server.headers_of("/gzip.xml")[-1]["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain", "application/octet-stream",
                                          "application/json", None])
def test_a_feed_under_a_wrong_content_type_is_still_read_as_a_feed(server, content_type):
    path = f"/mislabelled-{abs(hash(content_type))}"
    server.route(path, FEED, content_type=content_type)
    items = list(iter_inputs([server.url(path)]))
    assert [i.title for i in items] == FEED_TITLES, items


def test_lying_charsets_are_decoded_from_the_bytes(server):
    page = ("<html><head><title>Ether rally</title></head><body><article><p>"
            + "Ether rose 5% to €3.000 in Zürich as ETF inflows returned. " * 8 + "</p></article></body></html>")
    server.route("/utf16-lie", page.encode("utf-8"), content_type="text/html; charset=utf-16")
    server.route("/unknown-charset", page.encode("utf-8"), content_type="text/html; charset=x-klingon")
    server.route("/latin1-as-utf8", page.encode("latin-1", "replace"), content_type="text/html; charset=utf-8")
    items = list(iter_inputs([server.url(p) for p in ("/utf16-lie", "/unknown-charset", "/latin1-as-utf8")]))
    # The bytes win over the header: each page is read, decoded right (no mojibake).
    assert [type(i) for i in items] == [Article] * 3
    assert all("Ether rose 5%" in i.text and "Zürich" in i.text and "Ã" not in i.text for i in items)
    assert all("€3.000" in i.text for i in items[:2])


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """The real default Analyzer, or the lexicon baseline where the weights are absent."""
    if any(default_model_path().glob("*.safetensors")):
        return Analyzer()
    from sentiment.classify.baselines import LexiconScorer

    return Analyzer(model=LexiconScorer())


def test_polling_a_feed_twice_through_tag_never_duplicates(server, tmp_path, analyzer):
    """A feed without ETag/Last-Modified is fetched in full every poll; its articles are
    tagged once. A changed feed adds only its new article."""
    server.route("/poll.xml", FEED, content_type="application/rss+xml")
    url = server.url("/poll.xml")
    out, store = tmp_path / "tags.jsonl", tmp_path / "s.sqlite"
    first = tag_files([url], out, store=store, analyzer=analyzer)
    assert (first.read, first.tagged, first.failed) == (2, 2, 0)
    second = tag_files([url], out, store=store, analyzer=analyzer)
    assert (second.read, second.tagged, second.resumed, second.failed) == (2, 0, 2, 0)
    added = FEED.replace(b"<item>", b"<item><title>Solana fees fall 30%</title>"
                         b"<link>https://example.com/sol-fees</link>"
                         b"<description>Solana network fees fell 30% this week.</description></item><item>", 1)
    server.route("/poll.xml", added, content_type="application/rss+xml")
    third = tag_files([url], out, store=store, analyzer=analyzer)
    assert (third.read, third.tagged, third.resumed) == (3, 1, 2)
    records = list(read_tags(out))
    assert len(records) == len({r["id"] for r in records}) == 3
    with Store(store) as db:
        assert db.count_articles() == db.count_tags() == 3
    assert server.hits("/poll.xml") == 3
    # With validators the next poll is a 304: skipped with its reason, not recorded as an error.
    server.route("/poll.xml", added, content_type="application/rss+xml", etag='"v3"')
    tag_files([url], out, store=store, analyzer=analyzer)
    fourth = tag_files([url], out, store=store, analyzer=analyzer)
    assert (fourth.read, fourth.skipped, fourth.failed) == (0, 1, 0)
    assert fourth.errors[0].reason == "not modified since the last poll (HTTP 304)"
    with Store(store) as db:
        assert db.errors() == [] and db.count_tags() == 3


def test_retry_after_is_capped_and_dates_fall_back_to_backoff(server):
    server.route("/greedy", b"ok", statuses=[429, 503], headers={"Retry-After": "86400"})
    sleeps = Sleeps()
    with fetcher(sleeps, retries=2, backoff=0.5) as f:
        assert f.fetch(server.url("/greedy")).content == b"ok"
    assert sleeps == [30.0, 30.0]  # a day's Retry-After is cut to 30 s
    server.route("/dated", b"ok", statuses=[503], headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    sleeps = Sleeps()
    with fetcher(sleeps, retries=1, backoff=0.5) as f:
        assert f.fetch(server.url("/dated")).content == b"ok"
    assert sleeps == [0.5]


def test_endless_headers_are_an_error_not_a_hang():
    def endless_headers(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        for i in range(20000):  # ~1 MB of headers, never finished
            conn.sendall(f"X-Junk-{i}: {'y' * 40}\r\n".encode())

    start = time.monotonic()
    with RawServer([endless_headers]) as server, fetcher(Sleeps(), retries=1) as f, pytest.raises(FetchError) as info:
        f.fetch(server.url)
    assert str(info.value).startswith("connection broken:") and time.monotonic() - start < 10
