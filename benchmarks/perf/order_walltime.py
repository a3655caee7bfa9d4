"""Wall time of the default run in interleaved vs grouped order, side by side (issue 10).

Runs `pytest benchmarks --energy-offline --energy-order ORDER` as a subprocess, alternating the
two orders PAIRS times (I G I G ...) so slow drift in a shared machine hits both alike, and prints
each run's wall time and CPU time (user + system: less sensitive than wall time to other jobs on a
shared machine), the per-pair ratios interleaved / grouped and the ratios of the medians.
Each run writes into a temporary results folder; the number of model loads per run is read from
the run's files (interleaved must still load each model once).

    .venv/bin/python benchmarks/perf/order_walltime.py [--pairs 3] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def one_run(order: str, extra: list[str]) -> tuple[float, float, int, str]:
    results = Path(tempfile.mkdtemp(prefix=f"slm-order-{order}-"))
    cmd = [sys.executable, "-m", "pytest", "benchmarks", "--energy-offline", "--energy-order", order, "-q",
           "-p", "no:cacheprovider", "--energy-results-dir", str(results), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    loads = sum(len(json.loads(p.read_text())["loads"]) for p in results.glob("*/environmental_data_*.json"))
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    return wall, cpu, loads, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    walls: dict[str, list[float]] = {"interleaved": [], "grouped": []}
    cpus: dict[str, list[float]] = {"interleaved": [], "grouped": []}
    ratios, cpu_ratios = [], []
    for pair in range(args.pairs):
        for order in ("interleaved", "grouped"):
            wall, cpu, loads, tail = one_run(order, extra)
            walls[order].append(wall)
            cpus[order].append(cpu)
            print(f"pair {pair + 1} {order:<11} wall {wall:7.1f} s  cpu {cpu:7.1f} s  model loads {loads}  | {tail}",
                  flush=True)
        ratios.append(walls["interleaved"][-1] / walls["grouped"][-1])
        cpu_ratios.append(cpus["interleaved"][-1] / cpus["grouped"][-1])
        print(f"pair {pair + 1} ratio interleaved / grouped: wall {ratios[-1]:.3f}, cpu {cpu_ratios[-1]:.3f}",
              flush=True)
    med_i, med_g = statistics.median(walls["interleaved"]), statistics.median(walls["grouped"])
    print(f"median wall: interleaved {med_i:.1f} s, grouped {med_g:.1f} s, ratio {med_i / med_g:.3f}; "
          f"median per-pair ratio {statistics.median(ratios):.3f} (goal <= 1.05)")
    med_ci, med_cg = statistics.median(cpus["interleaved"]), statistics.median(cpus["grouped"])
    print(f"median CPU time (user + system of the run): interleaved {med_ci:.1f} s, grouped {med_cg:.1f} s, "
          f"ratio {med_ci / med_cg:.3f}; median per-pair ratio {statistics.median(cpu_ratios):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
