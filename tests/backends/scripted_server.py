"""A real HTTP server on 127.0.0.1 that answers with the documented wire shapes of the OpenAI
streaming API and Ollama's native API, or with scripted faults (5xx, malformed, truncated, slow).

Real sockets, real chunked transfer, real SSE/NDJSON bytes: the client under test cannot tell
it from an engine. The answers follow the public documentation (OpenAI chat.completion.chunk with
``stream_options.include_usage``; Ollama /api/generate and /api/chat, docs.ollama.com/api/usage).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

WORDS = ["The", " answer", " is", " 12", "."]


class ScriptedServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.mode = "ok"
        self.host = host
        self.requests: list[dict[str, Any]] = []
        handler = self._handler()
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def __enter__(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _echo_401(self) -> None:
                """A careless gateway: refuses the key and echoes every request header in a plain
                text body that carries raw terminal escape sequences (clear screen, window title)."""
                echoed = "\n".join(f"{name}: {value}" for name, value in self.headers.items())
                data = (f"\x1b[2J\x1b]0;pwned\x07invalid credentials: Authorization: "
                        f"{self.headers.get('Authorization')}\nyou sent:\n{echoed}\n").encode()
                self.send_response(401)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if server.mode == "401-echo":
                    self._echo_401()
                elif self.path.endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "scripted-model", "object": "model"}]})
                elif self.path == "/api/version":
                    self._json(200, {"version": "0.12.6"})
                elif self.path == "/api/tags":
                    self._json(200, {"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest"}]})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                body["__path__"] = self.path
                body["__auth__"] = self.headers.get("Authorization")
                server.requests.append(body)
                mode = server.mode
                if mode == "401-echo":
                    self._echo_401()
                    return
                if mode == "500":
                    self._json(500, {"error": {"message": "CUDA out of memory"}})
                    return
                if mode == "404":
                    self._json(404, {"error": {"message": "model 'x' not found"}})
                    return
                if self.path.startswith("/api/"):
                    self._stream("application/x-ndjson", ollama_lines(self.path, mode), mode)
                else:
                    self._stream("text/event-stream", openai_lines(self.path, body, mode), mode)

            def _stream(self, content_type: str, lines: Iterator[str], mode: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i, line in enumerate(lines):
                    if mode == "slow" and i == 1:
                        time.sleep(1.5)
                    if mode == "die" and i == 4:
                        # The server process dies mid-answer: the socket closes inside a chunked body.
                        self.wfile.write(b"5\r\nda")
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        self.close_connection = True
                        return
                    data = line.encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        return Handler


def openai_lines(path: str, body: dict[str, Any], mode: str) -> Iterator[str]:
    chat = path.endswith("/chat/completions")
    created = 1733011200

    def chunk(delta: dict[str, Any] | None, text: str | None = None, finish: str | None = None,
              usage: dict[str, Any] | None = None) -> str:
        choices: list[dict[str, Any]] = []
        if delta is not None or text is not None:
            choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
            if chat:
                choice["delta"] = delta or {}
            else:
                choice["text"] = text or ""
            choices.append(choice)
        event: dict[str, Any] = {"id": "cmpl-1", "object": "chat.completion.chunk" if chat else "text_completion",
                                 "created": created, "model": "scripted-model-v1", "choices": choices}
        if usage is not None:
            event["usage"] = usage
        return f"data: {json.dumps(event)}\n\n"

    yield ": keep-alive\n\n"
    if mode == "malformed":
        yield "data: {not json\n\n"
        return
    if chat:
        yield chunk({"role": "assistant", "content": ""})
    if mode == "reasoning":
        for piece in ["Let", " me", " add"]:
            yield chunk({"reasoning_content": piece})
    for word in WORDS:
        yield chunk({"content": word}, text=word)
    if mode == "truncated":
        return   # the body ends cleanly but without a finish reason or [DONE]
    yield chunk({}, text="", finish="stop")
    if mode not in ("no-usage", "reasoning-no-usage"):
        usage: dict[str, Any] = {"prompt_tokens": 9, "completion_tokens": len(WORDS), "total_tokens": 9 + len(WORDS)}
        if mode == "reasoning":
            usage["completion_tokens"] = len(WORDS) + 3
            usage["completion_tokens_details"] = {"reasoning_tokens": 3}
        yield chunk(None, usage=usage)
    yield "data: [DONE]\n\n"


def ollama_lines(path: str, mode: str) -> Iterator[str]:
    chat = path == "/api/chat"
    stamp = "2025-10-17T23:14:07.414671Z"
    if mode == "malformed":
        yield "{\"model\": \"llama3.2\", \"respo\n"
        return
    if mode == "reasoning":
        for piece in ["Let", " me", " add"]:
            body = {"message": {"role": "assistant", "content": "", "thinking": piece}} if chat else {"response": "", "thinking": piece}
            yield json.dumps({"model": "llama3.2", "created_at": stamp, **body, "done": False}) + "\n"
    for word in WORDS:
        body = {"message": {"role": "assistant", "content": word}} if chat else {"response": word}
        yield json.dumps({"model": "llama3.2", "created_at": stamp, **body, "done": False}) + "\n"
    if mode == "truncated":
        return
    final: dict[str, Any] = {"model": "llama3.2", "created_at": stamp, "done": True, "done_reason": "stop",
                             "total_duration": 174560334, "load_duration": 101397084, "prompt_eval_count": 11,
                             "prompt_eval_duration": 13074791, "eval_count": 18, "eval_duration": 52479709}
    final.update({"message": {"role": "assistant", "content": ""}} if chat else {"response": "", "context": [1, 2, 3]})
    yield json.dumps(final) + "\n"
