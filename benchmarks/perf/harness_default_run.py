"""Wall time of the offline default run (`pytest benchmarks`), split into where it goes.

Runs `pytest benchmarks` (plus --energy-results-dir into a temporary folder, so nothing lands in the
checkout) as a subprocess, times it from outside, and splits the time with the run's own files:

  model load      loads[].duration_s of every model
  warm-up         loads[].warmup_s
  idle baseline   --energy-idle-seconds once per process (idle_power.window_s)
  generation      the measured model-work windows: sum of duration_s x rounds over every query
  scoring         the tests' call phases outside those windows (scoring answers, pytest-benchmark):
                  sum of extra.call_s - duration_s x rounds
  start-up        interpreter start, imports and collection: a separate `--collect-only` run
  rest            the wall time minus all of the above: the hub probe and skipped models, setup
                  and teardown, report hooks and journal, writing files, the summary

    PYTHONPATH=$PWD /work/main/.venv/bin/python benchmarks/perf/harness_default_run.py [-- extra args]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    extra = sys.argv[1:]
    if extra[:1] == ["--"]:
        extra = extra[1:]
    results = Path(tempfile.mkdtemp(prefix="slm-default-run-"))
    cmd = [sys.executable, "-m", "pytest", "benchmarks", "-p", "no:cacheprovider", "--energy-results-dir",
           str(results), *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
    [run_dir] = [p for p in results.iterdir() if p.is_dir()]
    manifest = json.loads((run_dir / "run.json").read_text())
    split = {"model_load_s": 0.0, "warmup_s": 0.0, "idle_baseline_s": 0.0, "generation_s": 0.0, "scoring_s": 0.0}
    per_model = {}
    idle_seen = set()
    for path in sorted(run_dir.glob("environmental_data_*.json")):
        data = json.loads(path.read_text())
        load = sum(item["duration_s"] for item in data["loads"])
        warmup = sum(item.get("warmup_s") or 0.0 for item in data["loads"])
        generation = sum(q["duration_s"] * q.get("rounds", 1) for q in data["query_history"])
        idle = data.get("idle_power") or {}
        if idle and (key := json.dumps(idle, sort_keys=True)) not in idle_seen:
            idle_seen.add(key)
            split["idle_baseline_s"] += float(idle.get("window_s") or 0.0)
        split["model_load_s"] += load
        split["warmup_s"] += warmup
        split["generation_s"] += generation
        split["scoring_s"] += sum(q["extra"]["call_s"] - q["duration_s"] * q.get("rounds", 1)
                                  for q in data["query_history"])
        per_model[data["alias"]] = {"queries": data["total_queries"], "load_s": load, "warmup_s": warmup,
                                    "generation_s": generation}
    begin = time.perf_counter()
    subprocess.run([*cmd, "--collect-only", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    split["startup_collection_s"] = time.perf_counter() - begin
    split["rest_s"] = wall - sum(split.values())
    figures = {"command": "pytest benchmarks", "exit_code": proc.returncode, "outcome": tail, "wall_s": wall,
               "plugin_wall_s": manifest.get("wall_s"), "split": split,
               "share": {key: value / wall for key, value in split.items()}, "per_model": per_model}
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
