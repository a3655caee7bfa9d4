"""Unbounded answers from a hostile server on 127.0.0.1 (issue 20): a gzip bomb in an error body or a
stream, one endless line, an endless stream past max_tokens, a drip under the read timeout. Each ends
as one BackendError line, fast, with the client's memory bounded; the next request still works.

Caps and deadlines are made small through the backends' options (what --energy-response-max-mb and
--energy-request-deadline set), so every case takes about a second.
"""

from __future__ import annotations

import resource
import time
from typing import Iterator

import pytest

from slm_energy_plugin.backends.base import BackendError
from slm_energy_plugin.backends.http_backend import HttpBackend
from slm_energy_plugin.backends.http_stream import Timeouts
from slm_energy_plugin.http_limits import MIB, ResponseLimits, request_deadline_s

from .hostile_server import HostileServer
from .scripted_server import WORDS
from .served_backend import served_backend

CAP = ResponseLimits(4 * MIB)   # one line: 1 MB at most
DEADLINE_S = 1.5
RSS_GROWTH_MB = 100     # a bomb read whole would add 1,024 MB


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


def _backend(kind: str, server: HostileServer) -> HttpBackend:
    # the drip's 0.3 s gaps never trip the 2 s read timeout: only the deadline ends it
    return served_backend(kind, server.url, "hostile", Timeouts(connect_s=1.0, read_s=2.0), CAP, DEADLINE_S)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KB


MODES = {
    "bomb-error": "HTTP 500",
    "bomb-stream": "passed 4 MB after decompression; stopped reading",
    "endless-line": "one line passed 1 MB without ending; stopped reading",
    "endless-tokens": "kept streaming past max_tokens=8",
    "drip": "still arriving at its deadline; stopped reading",
}


@pytest.mark.parametrize("kind", ["openai", "ollama"])
@pytest.mark.parametrize("mode", list(MODES))
def test_each_hostile_answer_is_one_line_fast_and_bounded(hostile: HostileServer, kind: str, mode: str) -> None:
    backend = _backend(kind, hostile)
    hostile.script = [mode]
    peak_before, started = _peak_rss_mb(), time.monotonic()
    with pytest.raises(BackendError) as caught:
        backend.generate("What is 7 + 5?", 8)
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert MODES[mode] in message and "\n" not in message, message
    assert elapsed < DEADLINE_S + 2.5, f"{mode}: {elapsed:.1f} s"
    assert _peak_rss_mb() - peak_before < RSS_GROWTH_MB, f"{mode}: peak RSS grew {_peak_rss_mb() - peak_before:.0f} MB"
    # The session goes on: the same client answers the next query normally.
    generation = backend.generate("What is 7 + 5?", 8)
    assert generation.response == "".join(WORDS)
    backend.close()


def test_a_bombed_error_body_still_gives_its_status_and_start(hostile: HostileServer) -> None:
    backend = _backend("openai", hostile)
    hostile.script = ["bomb-error"]
    with pytest.raises(BackendError, match=r'answered HTTP 500: \{"error": "out of memory"\}'):
        backend.generate("q", 8)
    assert hostile.bytes_sent < 20 * MIB   # the client hung up long before the 1 GiB


@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_a_bombed_model_list_is_a_probe_error_not_a_crash(hostile: HostileServer, kind: str) -> None:
    backend = _backend(kind, hostile)
    hostile.list_mode = "bomb"
    peak = _peak_rss_mb()
    backend.probe()   # type: ignore[attr-defined]
    assert backend.probe_error is not None and "4 MB after decompression" in backend.probe_error
    assert _peak_rss_mb() - peak < RSS_GROWTH_MB


def test_the_deadline_formula() -> None:
    assert request_deadline_s(256) == 60 + 256
    assert request_deadline_s(0) == 60
    assert request_deadline_s(256, 5.0) == 5.0
