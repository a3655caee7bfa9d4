"""Wall time of the default run in interleaved vs grouped order, side by side (issue 10).

Runs `pytest benchmarks --energy-offline --energy-order ORDER` as a subprocess, alternating the
two orders PAIRS times (I G I G ...) so slow drift in a shared machine hits both alike, and prints
each run's wall time, the per-pair ratio interleaved / grouped and the ratio of the medians.
Each run writes into a temporary results folder; the number of model loads per run is read from
the run's files (interleaved must still load each model once).

    .venv/bin/python benchmarks/perf/order_walltime.py [--pairs 3] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_run(order: str, extra: list[str]) -> tuple[float, int, str]:
    results = Path(tempfile.mkdtemp(prefix=f"slm-order-{order}-"))
    cmd = [sys.executable, "-m", "pytest", "benchmarks", "--energy-offline", "--energy-order", order, "-q",
           "-p", "no:cacheprovider", "--energy-results-dir", str(results), *extra]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    loads = sum(len(json.loads(p.read_text())["loads"]) for p in results.glob("*/environmental_data_*.json"))
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return wall, loads, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    walls: dict[str, list[float]] = {"interleaved": [], "grouped": []}
    ratios = []
    for pair in range(args.pairs):
        for order in ("interleaved", "grouped"):
            wall, loads, tail = one_run(order, extra)
            walls[order].append(wall)
            print(f"pair {pair + 1} {order:<11} {wall:7.1f} s  model loads {loads}  | {tail}", flush=True)
        ratios.append(walls["interleaved"][-1] / walls["grouped"][-1])
        print(f"pair {pair + 1} ratio interleaved / grouped {ratios[-1]:.3f}", flush=True)
    med_i, med_g = statistics.median(walls["interleaved"]), statistics.median(walls["grouped"])
    print(f"median wall: interleaved {med_i:.1f} s, grouped {med_g:.1f} s, ratio {med_i / med_g:.3f}; "
          f"median per-pair ratio {statistics.median(ratios):.3f} (goal <= 1.05)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
