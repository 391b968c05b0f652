"""The HTTP fetcher against a local server: limits, retries, redirects and conditional GET."""
from __future__ import annotations

import socket
import time

import pytest
from helpers.httpserver import LocalServer

from sentiment.ingest import Fetcher, FetchError, IngestOptions


class Sleeps(list):
    """Records requested backoff delays instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fetcher(sleeps: Sleeps | None = None, **kwargs) -> Fetcher:
    kwargs.setdefault("timeout", 2.0)
    return Fetcher(IngestOptions(**kwargs), sleep=sleeps if sleeps is not None else Sleeps())


@pytest.fixture(scope="module")
def server():
    with LocalServer() as srv:
        yield srv


def test_plain_get_returns_body_type_and_validators(server):
    server.route("/ok", b"<html>hi</html>", etag='"v1"', last_modified="Tue, 04 Nov 2025 08:00:00 GMT")
    with fetcher() as f:
        result = f.fetch(server.url("/ok"))
    assert result.status == 200 and result.content == b"<html>hi</html>"
    assert result.content_type.startswith("text/html")
    assert result.etag == '"v1"' and result.last_modified == "Tue, 04 Nov 2025 08:00:00 GMT"
    assert server.headers_of("/ok")[-1]["User-Agent"].startswith("sentiment/")


def test_conditional_get_gives_304(server):
    server.route("/feed", b"<rss/>", etag='"abc"')
    with fetcher() as f:
        result = f.fetch(server.url("/feed"), etag='"abc"')
    assert result.not_modified and result.content == b""
    assert server.headers_of("/feed")[-1]["If-None-Match"] == '"abc"'
    server.route("/lm", b"<rss/>", last_modified="Mon, 03 Nov 2025 10:00:00 GMT")
    with fetcher() as f:
        assert f.fetch(server.url("/lm"), last_modified="Mon, 03 Nov 2025 10:00:00 GMT").not_modified


def test_retries_5xx_with_exponential_backoff_then_succeeds(server):
    server.route("/flaky", b"done", statuses=[500, 503])
    sleeps = Sleeps()
    with fetcher(sleeps, retries=2, backoff=0.5) as f:
        assert f.fetch(server.url("/flaky")).content == b"done"
    assert sleeps == [0.5, 1.0] and server.hits("/flaky") == 3


def test_gives_up_after_bounded_retries(server):
    server.route("/down", statuses=[500] * 10)
    sleeps = Sleeps()
    with fetcher(sleeps, retries=2, backoff=0.1) as f, pytest.raises(FetchError) as info:
        f.fetch(server.url("/down"))
    assert str(info.value) == "HTTP 500 Internal Server Error (after 3 attempts)"
    assert server.hits("/down") == 3 and sleeps == [0.1, 0.2]


def test_429_honours_retry_after(server):
    server.route("/busy", b"ok", statuses=[429], headers={"Retry-After": "3"})
    sleeps = Sleeps()
    with fetcher(sleeps, retries=1, backoff=0.1) as f:
        assert f.fetch(server.url("/busy")).content == b"ok"
    assert sleeps == [3.0]


@pytest.mark.parametrize("status, phrase", [(404, "Not Found"), (403, "Forbidden"), (410, "Gone")])
def test_4xx_is_final_without_retry(server, status, phrase):
    path = f"/client-error-{status}"
    server.route(path, statuses=[status])
    sleeps = Sleeps()
    with fetcher(sleeps, retries=3) as f, pytest.raises(FetchError, match=f"^HTTP {status} {phrase}$"):
        f.fetch(server.url(path))
    assert server.hits(path) == 1 and sleeps == []


def test_timeout_on_slow_server(server):
    server.route("/slow", b"late", delay=3.0)
    start = time.monotonic()
    with fetcher(timeout=0.3, retries=1, backoff=0.01) as f, pytest.raises(FetchError) as info:
        f.fetch(server.url("/slow"))
    assert str(info.value) == "timed out after 0.3 s (after 2 attempts)"
    assert time.monotonic() - start < 2.5


def test_unreachable_port_is_a_connect_error():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with fetcher(retries=1, backoff=0.01) as f, pytest.raises(FetchError, match="^cannot connect: .*after 2 attempts"):
        f.fetch(f"http://127.0.0.1:{port}/feed")


def test_size_cap_by_content_length_and_by_streaming(server):
    server.route("/big", b"x" * 5000)
    with fetcher(max_bytes=1000) as f, pytest.raises(FetchError, match=r"^response is 4.88 KB, over the 1000 bytes limit$"):
        f.fetch(server.url("/big"))
    # No Content-Length: the body streams until the cap, and reading stops there.
    server.route("/endless", stream_bytes=64 * 2**20)
    start = time.monotonic()
    with fetcher(max_bytes=2**20) as f, pytest.raises(FetchError, match="^response larger than the 1 MB limit$"):
        f.fetch(server.url("/endless"))
    assert time.monotonic() - start < 5


def test_redirects_followed_loops_and_limits_reported(server):
    server.route("/target", b"arrived")
    server.redirect("/r1", "/r2")
    server.redirect("/r2", "/target")
    with fetcher() as f:
        result = f.fetch(server.url("/r1"))
    assert result.content == b"arrived" and result.url == server.url("/target")

    server.redirect("/loop-a", "/loop-b")
    server.redirect("/loop-b", "/loop-a")
    with fetcher() as f, pytest.raises(FetchError, match=r"^redirect loop: .*/loop-a -> .*/loop-b -> .*/loop-a$"):
        f.fetch(server.url("/loop-a"))

    for i in range(4):
        server.redirect(f"/chain{i}", f"/chain{i + 1}")
    server.route("/chain4", b"end")
    with fetcher(max_redirects=2) as f, pytest.raises(FetchError, match=r"^too many redirects \(more than 2\)$"):
        f.fetch(server.url("/chain0"))

    server.redirect("/to-file", "file:///etc/passwd")
    with fetcher() as f, pytest.raises(FetchError, match="only http and https"):
        f.fetch(server.url("/to-file"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed.xml", "/relative/path",
                                 "gopher://x", "http://"])
def test_only_http_and_https_are_fetched(url):
    with fetcher() as f, pytest.raises(FetchError):
        f.fetch(url)
