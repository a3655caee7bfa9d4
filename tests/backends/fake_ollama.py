"""A stand-in Ollama server, run as its own process from the repository root:
``python -m tests.backends.fake_ollama MODEL[,MODEL]``.

It listens on 127.0.0.1 (port chosen by the OS, printed as the first line of stdout) and answers
with the documented shapes of Ollama's native API (docs.ollama.com/api): ``GET /api/version``,
``GET /api/tags`` (models with ``details``), ``POST /api/show`` (``details.parameter_size``,
``details.quantization_level``, ``model_info["general.parameter_count"]``), and ``POST
/api/generate`` / ``/api/chat`` streamed as NDJSON whose last object has ``done: true`` and the
server's counters in nanoseconds. A separate process, so the client can tell the server's CPU and
RSS from its own; it holds ~64 MB and spins a little per request, as a real server would work.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tests.local_http import LocalHandler, bind, ndjson

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
    class Handler(LocalHandler):
        json_type = "application/json; charset=utf-8"

        def do_GET(self) -> None:
            if self.path == "/api/version":
                self.send_json(200, {"version": "0.12.6"})
            elif self.path == "/api/tags":
                self.send_json(200, {"models": [
                    {"name": m, "model": m, "modified_at": "2025-10-01T10:00:00.000000+00:00", "size": 2019393189,
                     "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                     "details": _details(m)} for m in models]})
            else:
                self.send_json(404, {"error": "404 page not found"})

        def do_POST(self) -> None:
            body = self.read_json()
            name = body.get("model") or body.get("name")
            if name not in models:
                self.send_json(404, {"error": f"model '{name}' not found"})
                return
            if self.path == "/api/show":
                facts = _details(name)
                count = SHOW.get(name, {}).get("parameter_count", 1235814432)
                self.send_json(200, {"modelfile": f"FROM {name}\n", "parameters": "stop \"<|eot_id|>\"",
                                 "template": "{{ .Prompt }}", "details": facts,
                                 "model_info": {"general.architecture": "llama", "general.file_type": 15,
                                                "general.parameter_count": count,
                                                "general.quantization_version": 2},
                                 "capabilities": ["completion"], "modified_at": "2025-10-01T10:00:00+00:00"})
                return
            if self.path not in ("/api/generate", "/api/chat"):
                self.send_json(404, {"error": "404 page not found"})
                return
            self.start_chunks(200, "application/x-ndjson")
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
                self.send_chunk(ndjson(piece).encode())
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
            self.send_chunk(ndjson(final).encode())
            self.end_chunks()

    server = bind(Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else ["llama3.2:3b"])
