"""HTTP plumbing shared by the served backends: one client, sane timeouts, one-line failures.

httpx rather than the ``openai`` package: one small dependency that also speaks to Ollama's
native API, explicit connect/read timeouts per phase, and the raw Server-Sent-Events lines, so
the time to the first token is taken when its bytes arrive, not after an SDK has parsed them.
Every failure becomes a :class:`~.base.BackendError` whose message says what to check.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Iterator

import httpx

from ..errors import ConfigError
from ..http_limits import (ACCEPT_ENCODING, ResponseLimitError, ResponseLimits, bounded_transport, deadline_scope,
                           iter_lines, read_body)
from ..textfile import parse_json
from .base import BackendError
from .served import strip_credentials


@dataclass(frozen=True)
class Timeouts:
    """Connect: a server that is up accepts at once. Read: the longest silence between two chunks
    (a long prefill on a busy server), not the whole answer's time."""

    connect_s: float = 5.0
    read_s: float = 120.0
    write_s: float = 10.0

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect_s, read=self.read_s, write=self.write_s, pool=self.connect_s)


def api_key(env_name: str | None) -> str | None:
    """The key from the named environment variable, read at request-building time, never stored."""
    return os.environ.get(env_name) if env_name else None


def make_client(base_url: str, env_name: str | None, timeouts: Timeouts) -> httpx.Client:
    headers = {"Accept": "application/json, text/event-stream", "Accept-Encoding": ACCEPT_ENCODING}
    key = api_key(env_name)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    # Environment proxies are ignored: a benchmark of a loopback server must not detour through one.
    # The transport keeps each request's deadline at the socket: connect and headers included.
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeouts.to_httpx(), trust_env=False,
                        transport=bounded_transport())


def explain(exc: Exception, url: str, timeouts: Timeouts, key_env: str | None = None,
            pieces: int | None = None) -> BackendError:
    """One line for a failed request: what happened and what to check.

    ``pieces``: how much of the answer had arrived (0: a reset before any answer, which is how a
    kept-alive connection to a server that died between two queries fails).
    """
    where = strip_credentials(url)
    if isinstance(exc, BackendError):
        return exc
    if isinstance(exc, ResponseLimitError):
        return BackendError(str(exc))
    if isinstance(exc, ServerStatusError):
        return BackendError(f"{where} answered HTTP {exc.status}{': ' + exc.body if exc.body else ''}; "
                            f"{_status_hint(exc.status, key_env)}")
    if pieces == 0 and _is(exc, "RemoteProtocolError", "ReadError"):
        return BackendError(f"{where} reset the connection before answering ({_first_line(exc)}); check that "
                            "the server is still running (it may have crashed or restarted)")
    if _is(exc, "ConnectTimeout"):
        return BackendError(f"no connection to {where} within {timeouts.connect_s:g} s; check the host, "
                            "port and firewall")
    if _is(exc, "ConnectError"):
        return BackendError(f"cannot connect to {where} ({_first_line(exc)}); check that the server is "
                            "running and that --energy-base-url / OLLAMA_HOST point at it")
    if _is(exc, "ReadTimeout"):
        return BackendError(f"{where} sent nothing for {timeouts.read_s:g} s (read timeout); check the "
                            "server's log and load")
    if _is(exc, "RemoteProtocolError", "ReadError"):
        return BackendError(f"{where} closed the connection mid-answer ({_first_line(exc)}); check whether "
                            "the server crashed or restarted")
    if isinstance(exc, httpx.HTTPError):
        return BackendError(f"request to {where} failed ({type(exc).__name__}: {_first_line(exc)})")
    return BackendError(f"{type(exc).__module__}.{type(exc).__name__}: {_first_line(exc)}")


def _is(exc: BaseException, *names: str) -> bool:
    """Transport failures by class name: httpx and httpcore name them alike, and a failure that
    reaches us unmapped (or from a re-imported httpx, as pytester's in-process runs cause) is
    still worded right."""
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _status_hint(status: int, key_env: str | None) -> str:
    if status in (401, 403):
        return (f"check the API key in ${key_env}" if key_env
                else "the server wants an API key: name its variable with api_key_env in the registry")
    if status == 404:
        return "check the model name and the base URL (an OpenAI-compatible URL usually ends in /v1)"
    return "check the server's log"


class ServerStatusError(Exception):
    """An HTTP error status, with the start of its body (read within a small cap)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


ERROR_BODY_BYTES = 64 * 1024   # an error message needs its first 200 characters, never a gzip bomb's gigabytes


def _raise_for_status(response: httpx.Response, deadline: float | None, what: str) -> None:
    if response.status_code < 400:
        return
    try:
        raw = read_body(response, ResponseLimits(ERROR_BODY_BYTES), deadline, what, truncate=True)
    except (httpx.HTTPError, ResponseLimitError):
        raw = b""
    raise ServerStatusError(response.status_code, " ".join(raw.decode("utf-8", "replace").split())[:200])


def stream_lines(client: httpx.Client, path: str, payload: dict[str, Any], limits: ResponseLimits,
                 deadline_s: float) -> Iterator[str]:
    """POST ``payload`` and yield the answer's lines as they arrive (SSE or NDJSON), within
    ``limits`` and ``deadline_s`` seconds from now.

    Raises httpx errors, :class:`ServerStatusError` and :class:`ResponseLimitError` for
    :func:`explain` to word.
    """
    deadline = time.monotonic() + deadline_s
    what = strip_credentials(str(client.base_url).rstrip("/") + path)
    with deadline_scope(deadline, what), client.stream("POST", path, json=payload) as response:
        _raise_for_status(response, deadline, what)
        yield from iter_lines(response, limits, deadline, what)


def get_json(client: httpx.Client, path: str, limits: ResponseLimits, deadline_s: float,
             post: dict[str, Any] | None = None) -> Any:
    """GET ``path`` (POST ``post`` as JSON when given) and parse its JSON body, read within
    ``limits`` and the deadline."""
    deadline = time.monotonic() + deadline_s
    what = strip_credentials(str(client.base_url).rstrip("/") + path)
    method, body = ("GET", None) if post is None else ("POST", post)
    with deadline_scope(deadline, what), client.stream(method, path, json=body) as response:
        _raise_for_status(response, deadline, what)
        return parse_json(read_body(response, limits, deadline, what).decode("utf-8", "replace"), what)


def parse_event(text: str, hint: str) -> dict[str, Any]:
    """One streamed event, a JSON object. A server is untrusted input: the project's bounded JSON
    reader refuses huge numbers and deep nesting; anything else is one line ending in ``hint``."""
    try:
        event = parse_json(text, "stream event")
    except ConfigError as exc:
        raise BackendError(f"malformed stream: {exc} ({text[:80]!r}); {hint}") from None
    if not isinstance(event, dict):
        raise BackendError(f"malformed stream: expected a JSON object, got {text[:80]!r}")
    return event

