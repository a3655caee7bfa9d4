"""A hostile HTTP server on 127.0.0.1: the answers a red team sends a client that trusts its server.

Each POST takes the next mode from ``script`` (then ``mode``); GET /metrics uses ``metrics_mode``:

* ``bomb-error``: HTTP 500 whose gzip body decompresses to 1 GiB (about 2 MB on the wire);
* ``bomb-stream``: HTTP 200, a gzip stream of 1 GiB of valid but empty lines (SSE keep-alive
  comments / blank NDJSON lines): only a cap on decoded bytes stops it;
* ``endless-line``: one SSE/NDJSON line that never ends (up to 1 GiB, never a newline);
* ``endless-tokens``: valid pieces forever, past any ``max_tokens``;
* ``drip``: a valid start, then one byte every ``drip_s`` seconds for 100 s (under the read timeout);
* ``list_mode = "bomb"``: the model list (GET) is a gzip bomb;
* ``ok``: a well-formed answer (scripted_server's), optionally without ``usage`` (``usage=False``).

The bombs are built from one compressed block repeated (a deflate full flush makes the block
independent of what came before), so the server spends no CPU and no memory on them; every
writer stops when the client hangs up. Nothing here allocates more than a few megabytes.
"""

from __future__ import annotations

import time
import zlib
from typing import Any, Iterable, Iterator

from ..local_http import LocalHandler, LocalServer, ndjson, sse
from .scripted_server import ollama_lines, openai_lines

GIB = 1 << 30
DRIP_TOTAL_S = 100.0


def gzip_bomb(pattern: bytes, total: int = GIB) -> Iterator[bytes]:
    """A gzip stream of ``pattern`` repeated to ``total`` bytes, yielded as compressed pieces (no trailer:
    the client under test must stop long before the end)."""
    plain = pattern * max(1, (1 << 20) // len(pattern))
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = compressor.compress(plain) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(plain) + compressor.flush(zlib.Z_FULL_FLUSH)
    yield head
    for _ in range(total // len(plain)):
        yield block


def metrics_page() -> str:
    return ("# HELP node_rapl_package_joules_total Current RAPL package value in joules\n"
            "# TYPE node_rapl_package_joules_total counter\n"
            'node_rapl_package_joules_total{index="0",path="/sys/class/powercap/intel-rapl:0"} 12345.5\n')


class HostileServer(LocalServer):
    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.script: list[str] = []
        self.metrics_mode = "ok"
        self.list_mode = "ok"      # "bomb": the model list (/v1/models, /api/version) is a gzip bomb
        self.usage = True          # ok answers carry usage (False: a server that sends none)
        self.drip_s = 0.3
        self.requests: list[dict[str, Any]] = []
        self.bytes_sent = 0
        super().__init__(self._handler())

    def next_mode(self) -> str:
        return self.script.pop(0) if self.script else self.mode

    def _handler(self) -> type[LocalHandler]:
        server = self

        class Handler(LocalHandler):
            def send_chunk(self, data: bytes) -> bool:
                if not super().send_chunk(data):
                    return False
                server.bytes_sent += len(data)
                return True

            def _send_all(self, pieces: Iterable[bytes]) -> bool:
                """Each piece a chunk; False once the client has hung up."""
                return all(self.send_chunk(piece) for piece in pieces)

            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._metrics(server.metrics_mode)
                elif server.list_mode == "bomb":
                    self.start_chunks(200, "application/json", gzip=True)
                    if self._send_all(gzip_bomb(b'{"data": [' + b" " * 54)):
                        self.end_chunks()
                elif self.path.endswith("/models"):
                    self.send_json(200, {"object": "list", "data": [{"id": "hostile-model", "object": "model"}]})
                elif self.path == "/api/version":
                    self.send_json(200, {"version": "0.12.6"})
                elif self.path == "/api/tags":
                    self.send_json(200, {"models": [{"name": "hostile:latest"}]})
                else:
                    self.send_json(404, {"error": "not found"})

            def _metrics(self, mode: str) -> None:
                if mode == "bomb":
                    self.start_chunks(200, "text/plain; version=0.0.4", gzip=True)
                    if not self._send_all(gzip_bomb(b"# HELP padding an endless exposition\n")):
                        return
                elif mode == "drip":
                    self.start_chunks(200, "text/plain; version=0.0.4")
                    self._drip(metrics_page().encode())
                else:
                    self.start_chunks(200, "text/plain; version=0.0.4")
                    self.send_chunk(metrics_page().encode())
                self.end_chunks()

            def do_POST(self) -> None:
                body = self.read_json()
                body["__path__"] = self.path
                server.requests.append(body)
                ollama = self.path.startswith("/api/")
                content_type = "application/x-ndjson" if ollama else "text/event-stream"
                mode = server.next_mode()
                if mode == "bomb-error":
                    self.start_chunks(500, "application/json", gzip=True)
                    sent = self._send_all(gzip_bomb(b'{"error": "out of memory"}'))
                elif mode == "bomb-stream":
                    self.start_chunks(200, content_type, gzip=True)
                    sent = self._send_all(gzip_bomb(b"\n" if ollama else b": keep-alive\n\n"))
                elif mode == "endless-line":
                    self.start_chunks(200, content_type)
                    start = b'{"response": "' if ollama else b'data: {"choices": [{"delta": {"content": "'
                    filler = b"A" * (64 * 1024)
                    sent = self.send_chunk(start) and self._send_all(filler for _ in range(GIB // len(filler)))
                elif mode == "endless-tokens":
                    self.start_chunks(200, content_type)
                    sent = self._send_all(line.encode() for line in self._endless_pieces(ollama))
                elif mode == "drip":
                    self.start_chunks(200, content_type)
                    lines = list(self._ok_lines(ollama, body))
                    if not self.send_chunk("".join(lines[:3]).encode()):
                        return
                    self._drip("".join(lines[3:]).encode())
                    sent = True
                else:
                    self.start_chunks(200, content_type)
                    sent = self._send_all(line.encode() for line in self._ok_lines(ollama, body))
                if sent:
                    self.end_chunks()

            def _ok_lines(self, ollama: bool, body: dict[str, Any]) -> Iterator[str]:
                if ollama:
                    return ollama_lines(self.path, "ok")
                return openai_lines(self.path, body, "ok" if server.usage else "no-usage")

            def _endless_pieces(self, ollama: bool) -> Iterator[str]:
                for i in range(10_000_000):
                    if ollama:
                        yield ndjson({"model": "hostile", "response": f" w{i}", "done": False})
                    else:
                        yield sse({"choices": [{"index": 0, "delta": {"content": f" w{i}"}}]})

            def _drip(self, data: bytes) -> None:
                """One byte every ``drip_s`` seconds, for at most DRIP_TOTAL_S (the data repeated)."""
                stop = time.monotonic() + DRIP_TOTAL_S
                i = 0
                while time.monotonic() < stop:
                    if not self.send_chunk(data[i % len(data):i % len(data) + 1]):
                        return
                    i += 1
                    time.sleep(server.drip_s)

        return Handler
