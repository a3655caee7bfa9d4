"""How fast the footprint estimator is: pure estimates, config loading, calibration, analytics, HTTP.

Run from the repository root:

    PYTHONPATH=$PWD python benchmarks/perf/estimator_perf.py

Prints one line per figure (median of repeats, wall clock). Timings are noisy on a shared
machine: they are for orders of magnitude, not for asserting anything.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from slm_energy_plugin.carbon.analytics import analyse, parse_usage
from slm_energy_plugin.carbon.calibration import Sample, calibrate
from slm_energy_plugin.carbon.config import load_config
from slm_energy_plugin.carbon.formulas import Span, Workload, estimate

from _timing import median_seconds

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    config = load_config(include_user=False)
    cold = median_seconds(lambda: load_config(include_user=False), 5)
    print(f"load_config (built-ins, 5 YAML files, validated): {cold * 1e3:.1f} ms")

    hw, region, dc = config.hardware_profile("a100"), config.region("usa"), config.datacenter("typical")
    workload = Workload(Span(2000, 500, 4000), Span(500, 100, 1000), 1000)
    n = 20_000
    per_call = median_seconds(lambda: [estimate(workload, hw, region, dc) for _ in range(n)], 3) / n
    print(f"estimate() with ranges: {per_call * 1e6:.1f} us per call ({1 / per_call:,.0f} per second)")

    rng = np.random.default_rng(0)
    samples = [Sample(int(i), int(o), i / 800 + o / 25, {"cpu": 35 * (i / 800 + o / 25)})
               for i, o in zip(rng.integers(50, 2000, 5000), rng.integers(8, 128, 5000), strict=True)]
    fit = median_seconds(lambda: calibrate(samples, "bench"), 5)
    print(f"calibrate() on 5,000 records: {fit * 1e3:.1f} ms")

    rows = ["date,profile,requests"] + [f"2024-{1 + d % 12:02d}-{1 + d % 28:02d},{p},{100 + d}"
                                        for d in range(50_000) for p in ("chatbot",)]
    text = "\n".join(rows)
    usage = median_seconds(lambda: analyse(parse_usage(text, "bench.csv"), config.profiles, hw, region, dc), 3)
    print(f"usage analytics, 50,000 CSV rows (parse + aggregate): {usage:.2f} s")

    http_figures()


def http_figures() -> None:
    try:
        import httpx
    except ImportError:
        print("httpx not installed: skipping the HTTP figures (pip install 'slm-energy-plugin[dev]')")
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "slm_energy_plugin.cli", "serve", "--port", str(port),
                               "--log-level", "warning"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            print(f"slm-energy serve: ready after {time.perf_counter() - start:.2f} s")
            body = {"tokens_in": 2000, "tokens_out": 500, "region": "usa", "hardware": "a100", "count": 1000000}
            n = 500
            elapsed = median_seconds(lambda: [client.post("/estimate", json=body) for _ in range(n)], 3)
            print(f"POST /estimate over HTTP, one client, keep-alive: {elapsed / n * 1e3:.2f} ms per request "
                  f"({n / elapsed:,.0f} requests/s)")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
