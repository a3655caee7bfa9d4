"""What the openai: client costs per request, against a bare httpx streaming loop, same server, same run.

Both clients send the same streamed chat request (``stream_options.include_usage``) and read the
whole answer; the bare loop only reads the SSE lines, the backend also parses every chunk, times
TTFT/decode and builds the Generation. They alternate in blocks (bare, backend, bare, ...), so
drift in the machine lands on both. Reported: median seconds per request of each, the difference
(the client's overhead, goal <= 1 ms) and the throughput ratio backend/bare (goal >= 0.98).

The default server is a stdlib SSE server in this process's threads that answers at once with
``--chunks`` chunks (so the figures are the client's own cost, not a model's). ``--chunk-ms``
paces it like a model: it sleeps that long before each event (1 ms: a server making 1000 tokens/s),
so the ratio is also shown where a request takes the time a real one does. ``--base-url`` and
``--model`` point both clients at a real server instead (e.g. transformers serve).

    .venv/bin/python benchmarks/perf/serving_overhead.py [--requests 200] [--blocks 10] [--chunks 32]
    .venv/bin/python benchmarks/perf/serving_overhead.py --chunk-ms 1 --requests 40 --blocks 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from slm_energy_plugin.backends.http_stream import Timeouts
from slm_energy_plugin.backends.openai_backend import OpenAIBackend
from slm_energy_plugin.backends.spec import ModelSpec


def sse_server(chunks: int, chunk_ms: float = 0.0) -> ThreadingHTTPServer:
    def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
        event: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            event["usage"] = usage
        return f"data: {json.dumps(event)}\n\n".encode()

    events = ([chunk({"role": "assistant", "content": ""})]
              + [chunk({"content": f" w{i}"}) for i in range(chunks)]
              + [chunk({}, "length", {"prompt_tokens": 9, "completion_tokens": chunks, "total_tokens": 9 + chunks}),
                 b"data: [DONE]\n\n"])
    body = b"".join(events)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: with Nagle on, the body waits for the client's
        # delayed ACK (~40 ms here), which would hide the client's own cost entirely.
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not chunk_ms:
                self.wfile.write(body)
                return
            for event in events:   # one write per event, as a model's server sends each token
                time.sleep(chunk_ms / 1e3)
                self.wfile.write(event)
                self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="requests per client per block")
    parser.add_argument("--blocks", type=int, default=10, help="alternating blocks per client")
    parser.add_argument("--chunks", type=int, default=32, help="content chunks per answer (built-in server)")
    parser.add_argument("--chunk-ms", type=float, default=0.0,
                        help="built-in server: sleep this long before each event (0: answer at once)")
    parser.add_argument("--base-url", help="a real OpenAI-compatible server instead of the built-in one")
    parser.add_argument("--model", default="m", help="model name at --base-url")
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    server = None
    if args.base_url:
        base_url = args.base_url.rstrip("/")
    else:
        server = sse_server(args.chunks, args.chunk_ms)
        base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    spec = ModelSpec(alias="bench", source="served", backend="openai", served_name=args.model,
                     base_url=base_url, prompt_style="chat")
    backend = OpenAIBackend(spec, Timeouts())
    bare = httpx.Client(base_url=base_url, timeout=Timeouts().to_httpx(), trust_env=False)
    payload = {"model": args.model, "messages": [{"role": "user", "content": "What is 7 + 5?"}],
               "max_tokens": args.max_tokens, "temperature": 0, "stream": True,
               "stream_options": {"include_usage": True}}

    def bare_request() -> None:
        with bare.stream("POST", "/chat/completions", json=payload) as response:
            response.raise_for_status()
            for _ in response.iter_lines():
                pass

    def backend_request() -> None:
        backend.generate("What is 7 + 5?", args.max_tokens)

    for fn in (bare_request, backend_request):   # warm connections, imports, caches
        for _ in range(20):
            fn()
    times: dict[str, list[float]] = {"bare httpx loop": [], "slm-energy openai backend": []}
    block_totals: dict[str, float] = {name: 0.0 for name in times}
    for block in range(args.blocks):
        order = [("bare httpx loop", bare_request), ("slm-energy openai backend", backend_request)]
        if block % 2:
            order.reverse()
        for name, fn in order:
            block_start = time.perf_counter()
            for _ in range(args.requests):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
            block_totals[name] += time.perf_counter() - block_start
    bare_median = statistics.median(times["bare httpx loop"])
    ours_median = statistics.median(times["slm-energy openai backend"])
    built_in = f"built-in stdlib SSE, {args.chunks} chunks/answer, " + (
        f"{args.chunk_ms:g} ms before each event" if args.chunk_ms else "at once")
    print(f"server: {built_in if server else base_url}; "
          f"{args.blocks} alternating blocks x {args.requests} requests per client")
    print(f"{'client':<28}{'median ms/request':>20}{'p90 ms':>10}{'requests/s':>12}")
    for name, values in times.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:<28}{statistics.median(values) * 1e3:>20.3f}{p90 * 1e3:>10.3f}"
              f"{len(values) / block_totals[name]:>12.1f}")
    overhead_ms = (ours_median - bare_median) * 1e3
    ratio = (len(times['slm-energy openai backend']) / block_totals['slm-energy openai backend']) / (
        len(times['bare httpx loop']) / block_totals['bare httpx loop'])
    print(f"overhead per request: {overhead_ms:.3f} ms (goal <= 1 ms); throughput ratio backend/bare: {ratio:.3f} "
          "(goal >= 0.98)")
    if server:
        server.shutdown()
    return 0 if overhead_ms <= 1.0 and ratio >= 0.98 else 1


if __name__ == "__main__":
    sys.exit(main())
