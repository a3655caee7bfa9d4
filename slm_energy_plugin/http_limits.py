"""Reading an untrusted server's HTTP answer within bounds: decoded bytes, line length, a deadline.

Served models and Prometheus exporters are input from the world. httpx decompresses a gzip body
one network chunk at a time with no limit on the output: one 64 KB chunk of a gzip bomb becomes
64 MB at once, a whole bomb gigabytes. Here the raw bytes are decompressed incrementally
(zlib's ``max_length``), decoded bytes are counted and reading stops at the cap; streamed lines
are split with a length cap; and an overall deadline is checked as bytes arrive, because a
read timeout bounds only the *silence* between two chunks: a server dripping one byte every few
seconds never trips it.

The deadline covers the whole request, connect and headers included: httpx has no total timeout
(its read timeout restarts with every byte, so a server dripping its *headers* one byte at a time
would hold a request for ever). :func:`bounded_transport` gives a client whose sockets take every
connect, write and read timeout from the deadline of the request running in their thread
(:func:`deadline_scope`): each socket call waits at most until the deadline, and one made after it
fails at once. No watchdog thread, no polling: the operating system's socket timeout does the
waiting. A request ends within a few milliseconds of its deadline, in any phase.
"""

from __future__ import annotations

import ssl
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Iterator

import httpcore
import httpx

MIB = 1 << 20
DEFAULT_MAX_MB = 32.0          # a 4,096-token streamed answer is ~1.5 MB of SSE; an exporter page < 1 MB
MAX_LINE_BYTES = 1 * MIB       # one SSE / NDJSON event: a few hundred bytes in practice
ACCEPT_ENCODING = "gzip, deflate"   # what is decoded here with a bound; brotli/zstd are refused
_STEP = 64 * 1024              # decoded bytes produced per decompression call

# The served request's deadline when none is set: generous for a slow CPU server, finite for a stuck one.
DEADLINE_BASE_S = 60.0         # connection, queueing and prefill of a long prompt
DEADLINE_PER_TOKEN_S = 1.0     # one token a second: slower than any engine that is still working


def request_deadline_s(max_new_tokens: int, override_s: float | None = None) -> float:
    """Seconds one served request may take in all: ``override_s`` (--energy-request-deadline), else
    60 s + 1 s per requested token (``max_tokens``)."""
    if override_s is not None:
        return override_s
    return DEADLINE_BASE_S + DEADLINE_PER_TOKEN_S * max(0, max_new_tokens)


class ResponseLimitError(Exception):
    """An answer crossed a bound; the message is one line that says which and what to do."""


@dataclass(frozen=True)
class ResponseLimits:
    """Bounds on one response: ``max_bytes`` decoded (after decompression)."""

    max_bytes: int = int(DEFAULT_MAX_MB * MIB)

    @property
    def line_bytes(self) -> int:
        return min(MAX_LINE_BYTES, self.max_bytes)

    @classmethod
    def from_mb(cls, megabytes: float | None) -> "ResponseLimits":
        return cls() if megabytes is None else cls(max(1, int(megabytes * MIB)))


def _size(n: int) -> str:
    return f"{n / MIB:g} MB" if n >= MIB else f"{n:,} bytes"


class _Decoder:
    """Content-Encoding gzip / deflate / identity, decoded with a bounded output per step."""

    def __init__(self, encoding: str, what: str) -> None:
        self.encoding = encoding
        self.what = what
        self._z: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = None   # zlib-wrapped or raw: decided on the first bytes, as httpx does
        elif encoding not in ("", "identity"):
            raise ResponseLimitError(f"{what}: unsupported Content-Encoding {encoding!r} (asked for "
                                     f"{ACCEPT_ENCODING}); check the server or a proxy in between")

    def feed(self, raw: bytes) -> Iterator[bytes]:
        if self.encoding in ("", "identity"):
            yield raw
            return
        if self._z is None:
            self._z = zlib.decompressobj(zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS)
        data = raw
        while data:
            try:
                out = self._z.decompress(data, _STEP)
            except zlib.error as exc:
                raise ResponseLimitError(f"{self.what}: corrupt {self.encoding} body ({exc})") from None
            if out:
                yield out
            data = self._z.unconsumed_tail
            if self._z.eof and self._z.unused_data:
                # Concatenated gzip members are legal; anything else after the end is ignored.
                rest = self._z.unused_data
                if self.encoding == "deflate" or rest[:2] != b"\x1f\x8b":
                    return
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = rest


def iter_decoded(response: httpx.Response, limits: ResponseLimits, deadline: float | None,
                 what: str, *, truncate: bool = False) -> Iterator[bytes]:
    """The body's decoded bytes as they arrive, at most ``limits.max_bytes`` in all.

    ``deadline``: a ``time.monotonic()`` instant after which reading stops. At the cap, reading
    stops with :class:`ResponseLimitError`, or quietly with ``truncate`` (an error body's start is
    all a message needs).
    """
    decoder = _Decoder(response.headers.get("content-encoding", "").strip().lower(), what)
    total = 0
    for raw in response.iter_raw():   # no chunk_size: httpx would hold bytes back until it fills
        check_deadline(deadline, what)
        for piece in decoder.feed(raw):
            room = limits.max_bytes - total
            if len(piece) > room:
                if truncate:
                    if room:
                        yield piece[:room]
                    return
                raise ResponseLimitError(
                    f"{what}: the answer passed {_size(limits.max_bytes)} after decompression; stopped reading "
                    "(a runaway or hostile server; --energy-response-max-mb raises the cap)")
            total += len(piece)
            yield piece


def check_deadline(deadline: float | None, what: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise _deadline_passed(what)


def _deadline_passed(what: str) -> ResponseLimitError:
    return ResponseLimitError(f"{what}: the answer was still arriving at its deadline; stopped reading "
                              "(a stuck or dripping server; --energy-request-deadline sets the seconds)")


# -- the deadline at the socket: connect, request, headers and body alike -------------------------

class _ThreadDeadline(threading.local):
    """The deadline of the request running in this thread. A synchronous httpx request does all its
    socket work in the calling thread, so concurrent requests (``--energy-concurrency``) each see
    their own."""

    instant: float | None = None
    what: str = ""


_CURRENT = _ThreadDeadline()


@contextmanager
def deadline_scope(deadline: float | None, what: str) -> Iterator[None]:
    """Within this block, sockets of a :func:`bounded_transport` client wait at most until
    ``deadline`` (a ``time.monotonic()`` instant) and then raise :class:`ResponseLimitError`."""
    previous = (_CURRENT.instant, _CURRENT.what)
    _CURRENT.instant, _CURRENT.what = deadline, what
    try:
        yield
    finally:
        _CURRENT.instant, _CURRENT.what = previous


def _within_deadline(timeout: float | None) -> float | None:
    """``timeout`` shortened to the time left before this thread's deadline; past it, the error."""
    if _CURRENT.instant is None:
        return timeout
    left = _CURRENT.instant - time.monotonic()
    if left <= 0:
        raise _deadline_passed(_CURRENT.what)
    return left if timeout is None else min(timeout, left)


def _timed_out_at_deadline() -> bool:
    return _CURRENT.instant is not None and time.monotonic() >= _CURRENT.instant


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every wait ends at the deadline; a timeout there is worded as the deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self.inner.read(max_bytes, _within_deadline(timeout))
        except httpcore.TimeoutException:
            if _timed_out_at_deadline():
                raise _deadline_passed(_CURRENT.what) from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self.inner.write(buffer, _within_deadline(timeout))
        except httpcore.TimeoutException:
            if _timed_out_at_deadline():
                raise _deadline_passed(_CURRENT.what) from None
            raise

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, _within_deadline(timeout)))

    def get_extra_info(self, info: str) -> object:
        return self.inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self.inner.connect_tcp(host, port, _within_deadline(timeout), local_address,
                                                      socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self.inner.connect_unix_socket(path, _within_deadline(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def bounded_transport() -> httpx.HTTPTransport:
    """httpx's own transport (request and error mapping unchanged) on sockets that keep the
    deadline of :func:`deadline_scope`. Environment proxies and certificate settings are ignored,
    as the clients here ask (``trust_env=False``): a benchmark of a loopback server must not detour."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend as a parameter; its pool is rebuilt with httpx's default limits.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=_DeadlineBackend())
    return transport


def read_body(response: httpx.Response, limits: ResponseLimits, deadline: float | None, what: str,
              *, truncate: bool = False) -> bytes:
    """The whole body, bounded (see :func:`iter_decoded`)."""
    return b"".join(iter_decoded(response, limits, deadline, what, truncate=truncate))


def iter_lines(response: httpx.Response, limits: ResponseLimits, deadline: float | None,
               what: str) -> Iterator[str]:
    r"""The body's non-blank lines (``\n``, ``\r\n`` or ``\r`` endings: SSE allows all three), each
    at most ``limits.line_bytes``, decoded as UTF-8 (invalid bytes replaced).

    Blank lines (SSE event separators) are dropped here: both stream readers ignore them, and a
    stream of nothing but newlines would otherwise cost a Python iteration per byte."""
    partial: list[bytes] = []
    size = 0
    carry_cr = False
    for piece in iter_decoded(response, limits, deadline, what):
        if carry_cr:
            piece, carry_cr = b"\r" + piece, False
        if piece.endswith(b"\r"):      # maybe the first half of \r\n: decide with the next piece
            piece, carry_cr = piece[:-1], True
        lines = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        if len(lines) > 1:
            lines[0] = b"".join(partial) + lines[0]
            for line in lines[:-1]:
                if line:
                    yield line.decode("utf-8", "replace")
            partial, size = [], 0
        partial.append(lines[-1])
        size += len(lines[-1])
        if size > limits.line_bytes:
            raise ResponseLimitError(f"{what}: one line passed {_size(limits.line_bytes)} without ending; "
                                     "stopped reading (a malformed or hostile stream)")
    rest = b"".join(partial)
    if rest:
        yield rest.decode("utf-8", "replace")
