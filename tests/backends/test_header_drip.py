"""A server that drips its response *headers* (issue 20, left over): one byte every 0.5 s, never
ending the header block. httpx's read timeout restarts with every byte, so before the deadline
reached the socket such a request hung until the server gave up. Now the request deadline
(--energy-request-deadline; a small one here) covers connect, headers and body alike: the query ends
as one line near its deadline and the next query on the same client works.

The server is a raw socket on 127.0.0.1 (no http.server: it must be able to stop mid-header), and
answers in the documented wire shapes of the OpenAI streaming API, Ollama's NDJSON and a Prometheus
text exposition when it is not dripping.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import replace
from typing import BinaryIO, Iterator

import pytest

from slm_energy_plugin.backends.base import BackendError
from slm_energy_plugin.backends.http_backend import HttpBackend
from slm_energy_plugin.backends.http_stream import Timeouts
from slm_energy_plugin.energy.prometheus import PrometheusMeter, parse_argument

from .served_backend import served_backend

DEADLINE_S = 1.0
DRIP_GAP_S = 0.5        # far under the read timeout below: only a total deadline can cut it
DRIP_FOR_S = 12.0       # the server gives up after this; the old client waited for it
READ_TIMEOUT_S = 5.0
WORDS = ["The", " answer", " is", " 12", "."]
RAPL = ("# HELP node_rapl_package_joules_total Current RAPL package value in joules\n"
        "# TYPE node_rapl_package_joules_total counter\n"
        'node_rapl_package_joules_total{index="0",path="/sys/class/powercap/intel-rapl:0"} 12345.5\n')


class HeaderDripServer:
    """Answers each request normally, or, while ``drip`` is set, with a status line and then one
    header byte every DRIP_GAP_S seconds, never the blank line that ends the headers."""

    def __init__(self) -> None:
        self.drip = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def __enter__(self) -> "HeaderDripServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)   # wakes the blocked accept(); close() alone does not
        except OSError:
            pass
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            try:
                while not self.stopping.is_set():
                    request = self._read_request(reader)
                    if request is None:
                        return
                    if self.drip:
                        self._drip_headers(conn)
                        return
                    conn.sendall(self._answer(*request))
            except OSError:
                return

    @staticmethod
    def _read_request(reader: BinaryIO) -> tuple[str, str] | None:
        start = reader.readline()
        if not start:
            return None
        method, path = start.decode().split()[:2]
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        reader.read(length)
        return method, path

    def _drip_headers(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        ends = time.monotonic() + DRIP_FOR_S
        while time.monotonic() < ends and not self.stopping.wait(DRIP_GAP_S):
            conn.sendall(b"z")

    @staticmethod
    def _answer(method: str, path: str) -> bytes:   # noqa: ARG004 - GET and POST alike
        if path == "/metrics":
            kind, body = "text/plain; version=0.0.4", RAPL
        elif path.endswith("/chat/completions"):
            kind = "text/event-stream"
            events: list[dict[str, object]] = [{"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]} for word in WORDS]
            events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            body = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
        elif path == "/api/chat":
            kind = "application/x-ndjson"
            lines: list[dict[str, object]] = [
                {"model": "drip", "message": {"role": "assistant", "content": word}, "done": False} for word in WORDS]
            lines.append({"model": "drip", "message": {"role": "assistant", "content": ""}, "done": True,
                          "done_reason": "stop", "prompt_eval_count": 11, "eval_count": len(WORDS)})
            body = "".join(json.dumps(line) + "\n" for line in lines)
        else:
            kind, body = "application/json", "{}"
        data = body.encode()
        return (f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


@pytest.fixture
def server() -> Iterator[HeaderDripServer]:
    with HeaderDripServer() as running:
        yield running


def _backend(kind: str, server: HeaderDripServer) -> HttpBackend:
    return served_backend(kind, server.url, "drip", Timeouts(connect_s=1.0, read_s=READ_TIMEOUT_S), None, DEADLINE_S)


@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_dripped_headers_end_at_the_deadline_as_one_line(server: HeaderDripServer, kind: str) -> None:
    backend = _backend(kind, server)
    assert backend.generate("What is 7 + 5?", 8).response == "".join(WORDS)   # a kept-alive connection
    server.drip = True
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        backend.generate("What is 7 + 5?", 8)
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert "still arriving at its deadline; stopped reading" in message and "\n" not in message, message
    assert elapsed < DEADLINE_S + 0.5, f"{elapsed:.1f} s for a {DEADLINE_S:g} s deadline"
    server.drip = False   # the session goes on: the same client answers the next query
    assert backend.generate("What is 7 + 5?", 8).response == "".join(WORDS)
    backend.close()


def test_dripped_headers_on_the_first_request_of_a_new_connection(server: HeaderDripServer) -> None:
    server.drip = True
    backend = _backend("openai", server)
    started = time.monotonic()
    with pytest.raises(BackendError, match="still arriving at its deadline"):
        backend.generate("What is 7 + 5?", 8)
    assert time.monotonic() - started < DEADLINE_S + 0.5
    backend.close()


def test_the_prometheus_meter_leaves_one_window_unmeasured(server: HeaderDripServer) -> None:
    meter = PrometheusMeter(replace(parse_argument(f"{server.url}/metrics"), deadline_s=DEADLINE_S))
    server.drip = True
    started = time.monotonic()
    reading = meter.stop(meter.start())   # two scrapes, each cut at its deadline
    assert time.monotonic() - started < 2 * DEADLINE_S + 1.0
    assert reading.cpu_kwh is None and reading.methods["cpu"] == "not-measured"
    [warning] = reading.warnings
    assert "still arriving at its deadline" in warning and "window not measured" in warning and "\n" not in warning
    server.drip = False
    assert meter.stop(meter.start()).methods["cpu"] == "prometheus:node_rapl_package_joules_total"
    meter.close()
