"""HTTP(S) fetching for ingestion: timeouts, a size cap, bounded retries, redirects, conditional GET.

Only ``http`` and ``https`` URLs are ever fetched, redirects included. Connect errors,
timeouts, 5xx and 429 are retried with exponential backoff (``Retry-After`` is honoured up
to 30 s); 4xx answers are final. Redirects are followed by hand so that a loop is reported
as a loop. A 304 Not Modified answer is a normal result (``FetchResult.not_modified``).
"""
from __future__ import annotations

import errno
import socket
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from sentiment.ingest.records import IngestOptions

ENCODINGS = "gzip, deflate"  # the only content encodings asked for (and decoded, within the cap)
ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
          "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, text/plain;q=0.5, */*;q=0.1")
MAX_RETRY_AFTER = 30.0  # seconds: a longer Retry-After is cut to this
TOTAL_TIME_FACTOR = 5  # one attempt may take at most this many times ``timeout`` in total


class FetchError(Exception):
    """A URL that gave no document; ``str(exc)`` is the one-line reason."""


class _Retryable(FetchError):
    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass
class FetchResult:
    """A fetched document (``status`` 200) or a 304 Not Modified answer (empty ``content``)."""

    url: str  # the final URL, after redirects
    status: int
    content: bytes
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def check_url(url: str) -> str:
    """``url`` itself if it is an absolute http(s) URL, else a :class:`FetchError`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise FetchError("invalid URL: it cannot be parsed") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"only http and https URLs are fetched, not {parts.scheme or 'a relative'} URL")
    if not parts.hostname:
        raise FetchError("invalid URL: no host")
    return url


def megabytes(n: int) -> str:
    """``n`` bytes as a short human size (``20 MB``, ``1.5 MB``, ``12 KB``)."""
    if n >= 2**20:
        return f"{n / 2**20:.3g} MB"
    return f"{n / 2**10:.3g} KB" if n >= 2**10 else f"{n} bytes"


class Fetcher:
    """Fetches URLs with the limits of an :class:`IngestOptions`; reuse one for many URLs."""

    def __init__(self, options: IngestOptions | None = None, *,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None):
        self.options = options or IngestOptions()
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.options.timeout),
            follow_redirects=False,
            headers={"User-Agent": self.options.user_agent, "Accept": ACCEPT, "Accept-Encoding": ENCODINGS},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET ``url``; with ``etag``/``last_modified`` the request is conditional and may
        return a 304 result. Raises :class:`FetchError` with a one-line reason."""
        check_url(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempts = self.options.retries + 1
        for attempt in range(attempts):
            try:
                return self._fetch_once(url, headers)
            except _Retryable as exc:
                if attempt + 1 == attempts:
                    suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
                    raise FetchError(f"{exc}{suffix}") from None
                delay = self.options.backoff * 2**attempt
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, MAX_RETRY_AFTER))
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ one attempt
    def _fetch_once(self, url: str, headers: dict[str, str]) -> FetchResult:
        chain = [url]
        current = url
        deadline = time.monotonic() + TOTAL_TIME_FACTOR * self.options.timeout
        for _ in range(self.options.max_redirects + 1):
            response = self._send(current, headers)
            try:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location", "").strip()
                    if not location:
                        raise FetchError(f"HTTP {response.status_code} redirect without a Location header")
                    target = urljoin(current, location)
                    try:
                        check_url(target)
                    except FetchError as exc:
                        raise FetchError(f"redirect to {target!r} refused: {exc}") from None
                    if target in chain:
                        raise FetchError("redirect loop: " + " -> ".join(chain + [target]))
                    chain.append(target)
                    current = target
                    continue
                return self._result(current, response, deadline)
            finally:
                response.close()
        raise FetchError(f"too many redirects (more than {self.options.max_redirects})")

    def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
        try:
            request = self._client.build_request("GET", url, headers=headers)
            return self._client.send(request, stream=True)
        except httpx.TimeoutException:
            raise _Retryable(f"timed out after {self.options.timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise _Retryable(f"cannot connect: {_network_reason(exc)}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise _Retryable(f"connection broken: {_network_reason(exc)}") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.TooManyRedirects):
            raise FetchError("invalid URL: httpx cannot request it") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"request failed: {_network_reason(exc)}") from None

    def _result(self, url: str, response: httpx.Response, deadline: float) -> FetchResult:
        status = response.status_code
        meta = {"content_type": response.headers.get("content-type"),
                "etag": response.headers.get("etag"),
                "last_modified": response.headers.get("last-modified")}
        if status == 304:
            return FetchResult(url=url, status=304, content=b"", **meta)
        what = f"HTTP {status} {response.reason_phrase}".strip()
        if status == 429 or status >= 500:
            raise _Retryable(what, _retry_after(response.headers.get("retry-after")))
        if status >= 400:
            raise FetchError(what)
        if not 200 <= status < 300:
            raise FetchError(f"unexpected answer {what}")
        return FetchResult(url=url, status=status, content=self._read(response, deadline), **meta)

    def _read(self, response: httpx.Response, deadline: float) -> bytes:
        cap = self.options.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"response is {megabytes(int(declared))}, over the {megabytes(cap)} limit")
        chunks: list[bytes] = []
        size = 0
        inflate = _Inflater(response.headers.get("content-encoding"))
        try:
            for raw in response.iter_raw():
                # Decode at most one byte past the cap: a gzip bomb stops there, in memory too.
                chunk = inflate(raw, cap - size + 1)
                size += len(chunk)
                if size > cap:
                    raise FetchError(f"response larger than the {megabytes(cap)} limit")
                if time.monotonic() > deadline:
                    raise _Retryable(f"timed out after {TOTAL_TIME_FACTOR * self.options.timeout:g} s "
                                     "(download too slow)")
                chunks.append(chunk)
            inflate.check_complete()
        except httpx.TimeoutException:
            raise _Retryable(f"timed out after {self.options.timeout:g} s") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Retryable(f"connection broken: {_network_reason(exc)}") from None
        except (httpx.DecodingError, zlib.error):
            encoding = response.headers.get("content-encoding") or "compressed"
            raise FetchError(f"undecodable response body: the {encoding} data is damaged or cut short") from None
        return b"".join(chunks)


class _Inflater:
    """Decodes a gzip or deflate body chunk by chunk, never producing more than asked for
    (httpx's own decoders inflate a whole network chunk at once: up to ~1000x its size)."""

    def __init__(self, encoding: str | None):
        self.encoding = (encoding or "identity").strip().lower()
        if self.encoding in ("gzip", "x-gzip"):
            self._z: zlib._Decompress | None = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.encoding == "deflate":
            self._z = zlib.decompressobj()
        elif self.encoding in ("identity", ""):
            self._z = None
        else:
            raise FetchError(f"unsupported content encoding {encoding!r}")
        self._first = True  # nothing decoded yet

    def __call__(self, data: bytes, limit: int) -> bytes:
        """At most ``limit`` decoded bytes of ``data`` (input beyond that is left undecoded:
        the caller, asking for one byte past its cap, stops there)."""
        if self._z is None:
            return data
        try:
            out = self._z.decompress(data, limit)
        except zlib.error:
            if not (self.encoding == "deflate" and self._first):
                raise
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send it
            out = self._z.decompress(data, limit)
        self._first = False
        return out  # shorter than ``limit`` unless input is left: then the caller is over its cap

    def check_complete(self) -> None:
        """A compressed body must end where its stream ends (else it was cut short)."""
        if self._z is not None and not self._first and not self._z.eof:
            raise zlib.error(f"{self.encoding} stream ends early")


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _network_reason(exc: BaseException) -> str:
    """What failed on the network, in our words, from the operating-system error under the
    httpx one (httpx's messages repeat the library below it)."""
    causes: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(causes) < 10:
        causes.append(current)
        current = current.__cause__ or current.__context__
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return "host not found"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "the server's TLS certificate is not trusted"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "network unreachable"
        if isinstance(cause, OSError) and isinstance(cause.strerror, str) and cause.strerror.strip():
            return " ".join(cause.strerror.split())
    if isinstance(exc, httpx.RemoteProtocolError):
        # Read, never shown: a closed connection is told from a malformed answer by its wording.
        closed = any(w in str(exc).lower() for w in ("closed", "disconnected", "incomplete"))
        return "the server closed the connection before the answer was complete" if closed \
            else "the server's answer is not valid HTTP"
    if isinstance(exc, httpx.ReadError):
        return "the connection failed while reading the answer"
    if isinstance(exc, httpx.WriteError):
        return "the connection failed while sending the request"
    return f"{type(exc).__name__} in httpx"
