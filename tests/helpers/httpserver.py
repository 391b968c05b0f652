"""A local HTTP server for tests: canned routes on 127.0.0.1 (port 0), in a thread.

    with LocalServer() as server:
        server.route("/feed.xml", body, content_type="application/rss+xml", etag='"v1"')
        server.redirect("/old", "/feed.xml")
        url = server.url("/feed.xml")

Routes can be slow (``delay``), answer conditional GETs (``etag``/``last_modified`` → 304),
play a sequence of statuses (flaky servers), or stream a body without a length. Every loop is
bounded and the server stops on exit, or by itself after ``lifetime`` seconds at the latest.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    etag: str | None = None
    last_modified: str | None = None
    statuses: list[int] = field(default_factory=list)  # played first, one per request
    stream_bytes: int = 0  # send this many bytes in 64 KiB chunks, no Content-Length
    handler: Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]] | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class LocalServer:
    """Canned HTTP routes on an ephemeral local port; use as a context manager."""

    def __init__(self, lifetime: float = 60.0):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._lifetime = lifetime
        self._httpd: _Server | None = None
        self.port = 0  # known once started, kept after stop (URLs stay printable)

    # ------------------------------------------------------------------ routes
    def route(self, path: str, body: bytes | str = b"", **kwargs) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kwargs)
        return self.url(path) if self.port else path

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self.routes[path] = Route(status=status, headers={"Location": to}, content_type=None)

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def headers_of(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [h for p, h in self.requests if p == path]

    def url(self, path: str) -> str:
        assert self.port, "server not started"
        return f"http://127.0.0.1:{self.port}{path}"

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:  # quiet tests
                pass

            def do_GET(self) -> None:
                server._serve(self)

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self._watchdog = threading.Timer(self._lifetime, self.stop)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            httpd, self._httpd = self._httpd, None
            httpd.shutdown()
            httpd.server_close()
        if getattr(self, "_watchdog", None) is not None:
            self._watchdog.cancel()

    # ------------------------------------------------------------------ serving
    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        with self._lock:
            self.requests.append((path, dict(req.headers.items())))
            route = self.routes.get(path)
            status = route.statuses.pop(0) if route is not None and route.statuses else None
        if route is None:
            return self._send(req, 404, {"Content-Type": "text/plain"}, b"not found")
        if route.delay and self.stopping.wait(route.delay):
            return
        if route.handler is not None:
            code, headers, body = route.handler(req)
            return self._send(req, code, headers, body)
        headers = dict(route.headers)
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if status is None:
            etag_match = route.etag and req.headers.get("If-None-Match") == route.etag
            date_match = route.last_modified and req.headers.get("If-Modified-Since") == route.last_modified
            if etag_match or date_match:
                status = 304
        if status is not None and status != 200:
            return self._send(req, status, headers, b"" if status == 304 else b"error")
        if route.stream_bytes:
            return self._stream(req, route, headers)
        return self._send(req, route.status, headers, route.body)

    def _send(self, req: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            req.send_response(status)
            for key, value in headers.items():
                req.send_header(key, value)
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream(self, req: BaseHTTPRequestHandler, route: Route, headers: dict[str, str]) -> None:
        chunk = b"<p>" + b"x" * 65530 + b"</p>"
        try:
            req.send_response(route.status)
            for key, value in headers.items():
                req.send_header(key, value)
            req.end_headers()
            sent = 0
            while sent < route.stream_bytes and not self.stopping.is_set():
                req.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
