"""Real HTTP servers on 127.0.0.1 for the tests: one way to start them, answer JSON, and stream.

``LocalServer(Handler)`` serves ``Handler`` from a thread on a port the OS picks, as a context
manager whose ``url`` is the server's base URL; leaving it shuts the server down and closes its
socket. ``LocalHandler`` is the handler base the test servers share: HTTP/1.1, silent, with the
JSON, chunked-stream, SSE and NDJSON writers their answers need. ``free_port()`` is a port for a
server started in another process (uvicorn, ``transformers serve``).

No pytest here: ``tests/backends/fake_ollama.py`` imports it in a process of its own.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on now, for a server another process is about to start."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def sse(event: Any) -> str:
    """One server-sent event carrying ``event`` as JSON (the OpenAI streaming wire form)."""
    return f"data: {json.dumps(event)}\n\n"


def ndjson(obj: Any) -> str:
    """One NDJSON line (Ollama's streaming wire form)."""
    return json.dumps(obj) + "\n"


def bind(handler: type[BaseHTTPRequestHandler], host: str = LOOPBACK) -> ThreadingHTTPServer:
    """A threading server for ``handler`` bound to a free port of ``host``, not serving yet."""
    httpd = ThreadingHTTPServer((host, 0), handler)
    httpd.daemon_threads = True   # a handler still streaming never holds the test process open
    return httpd


class LocalServer:
    """``handler`` served from a daemon thread on a free port; a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = LOOPBACK) -> None:
        self.host = host
        self.httpd = bind(handler, host)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LocalHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, chunked streams), no access log, and the writers test servers share."""

    protocol_version = "HTTP/1.1"
    json_type = "application/json"   # the Content-Type of send_json's answers

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def read_json(self) -> Any:
        """The request body as JSON (``{}`` when there is none)."""
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

    def send_body(self, status: int, content_type: str, data: bytes) -> None:
        """A whole answer with its Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status: int, body: Any) -> None:
        self.send_body(status, self.json_type, json.dumps(body).encode())

    def start_chunks(self, status: int, content_type: str, gzip: bool = False) -> None:
        """The head of a chunked (streamed) answer; ``gzip`` labels the body as gzip-encoded."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        if gzip:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()

    def send_chunk(self, data: bytes) -> bool:
        """One chunk, sent now; False once the client has hung up."""
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError:
            return False
        return True

    def end_chunks(self) -> None:
        """The last (empty) chunk; a client that has hung up is no error."""
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
