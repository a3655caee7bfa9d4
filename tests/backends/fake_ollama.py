"""A stand-in Ollama server, run as its own process: ``python -m tests.backends.fake_ollama MODEL[,MODEL]``.

It listens on 127.0.0.1 (port chosen by the OS, printed as the first line of stdout) and answers
with the documented shapes of Ollama's native API (docs.ollama.com/api): ``GET /api/version``,
``GET /api/tags`` (models with ``details``), ``POST /api/show`` (``details.parameter_size``,
``details.quantization_level``, ``model_info["general.parameter_count"]``), and ``POST
/api/generate`` / ``/api/chat`` streamed as NDJSON whose last object has ``done: true`` and the
server's counters in nanoseconds. A separate process, so the client can tell the server's CPU and
RSS from its own; it holds ~64 MB and spins a little per request, as a real server would work.
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# What `ollama show llama3.2:3b` reports for the published model (3.21 B parameters, Q4_K_M).
SHOW = {
    "llama3.2:3b": {"parameter_size": "3.2B", "quantization_level": "Q4_K_M", "family": "llama",
                    "parameter_count": 3212749888},
}
BALLAST = bytearray(64 * 2**20)   # a server holds its weights: RSS well above a bare interpreter's


def _details(name: str) -> dict[str, Any]:
    facts = SHOW.get(name, {"parameter_size": "1.2B", "quantization_level": "Q8_0", "family": "llama",
                            "parameter_count": 1235814432})
    return {"parent_model": "", "format": "gguf", "family": facts["family"], "families": [facts["family"]],
            "parameter_size": facts["parameter_size"], "quantization_level": facts["quantization_level"]}


def main(models: list[str]) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/api/version":
                self._json(200, {"version": "0.12.6"})
            elif self.path == "/api/tags":
                self._json(200, {"models": [
                    {"name": m, "model": m, "modified_at": "2025-10-01T10:00:00.000000+00:00", "size": 2019393189,
                     "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                     "details": _details(m)} for m in models]})
            else:
                self._json(404, {"error": "404 page not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            name = body.get("model") or body.get("name")
            if name not in models:
                self._json(404, {"error": f"model '{name}' not found"})
                return
            if self.path == "/api/show":
                facts = _details(name)
                count = SHOW.get(name, {}).get("parameter_count", 1235814432)
                self._json(200, {"modelfile": f"FROM {name}\n", "parameters": "stop \"<|eot_id|>\"",
                                 "template": "{{ .Prompt }}", "details": facts,
                                 "model_info": {"general.architecture": "llama", "general.file_type": 15,
                                                "general.parameter_count": count,
                                                "general.quantization_version": 2},
                                 "capabilities": ["completion"], "modified_at": "2025-10-01T10:00:00+00:00"})
                return
            if self.path not in ("/api/generate", "/api/chat"):
                self._json(404, {"error": "404 page not found"})
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            words = ["Paris", " is", " the", " answer", "."]
            limit = int((body.get("options") or {}).get("num_predict") or len(words))
            started = time.perf_counter_ns()
            for word in words[:limit]:
                spin_until = time.perf_counter() + 0.01   # the server's own CPU work
                while time.perf_counter() < spin_until:
                    pass
                piece: dict[str, Any] = {"model": name, "created_at": "2025-10-01T10:00:00Z", "done": False}
                if self.path == "/api/chat":
                    piece["message"] = {"role": "assistant", "content": word}
                else:
                    piece["response"] = word
                self._chunk(piece)
            elapsed = time.perf_counter_ns() - started
            final: dict[str, Any] = {"model": name, "created_at": "2025-10-01T10:00:01Z", "done": True,
                                     "done_reason": "stop" if limit >= len(words) else "length",
                                     "total_duration": elapsed + 1000, "load_duration": 1000,
                                     "prompt_eval_count": 11, "prompt_eval_duration": 500,
                                     "eval_count": min(limit, len(words)), "eval_duration": elapsed}
            if self.path == "/api/chat":
                final["message"] = {"role": "assistant", "content": ""}
            else:
                final["response"] = ""
            self._chunk(final)
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, obj: dict[str, Any]) -> None:
            data = (json.dumps(obj) + "\n").encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else ["llama3.2:3b"])
