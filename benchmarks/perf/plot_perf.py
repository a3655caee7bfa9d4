"""How long `slm-energy plot` and `slm-energy report` take for many models and queries.

Writes a synthetic run folder (default 10 models x 10,000 queries: log-normal energies with
a per-query difficulty shared by all models, tokens, scores, estimated-energy method labels,
as the suite writes them), then times, after every import is done:

- load: the model files -> records -> the tidy table (load_input);
- plot: every figure's data and its files (build_figures + render_figures, which also keeps each
  figure's caption-free PNG for the report: one drawing per figure); --format as `slm-energy plot`
  (default: PNG and SVG);
- report: the HTML report with its statistics and those embedded figures (build_html(drawn=...)).

Prints each step's median CPU and wall time over --repeats runs and the total. Exit status 1
when the median CPU time of load + plot + report exceeds --budget seconds (goal: 5 s).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/perf/plot_perf.py [--models 10] [--queries 10000] [--format png]

The three steps are what ``slm-energy report --plots DIR`` does in one process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.results.records import ModelInfo, ModelRun, QueryRecord
from slm_energy_plugin.render.html_report import build_html
from slm_energy_plugin.render.plots import FORMATS, build_figures, render_figures
from slm_energy_plugin.render.run_input import load_input
from slm_energy_plugin.results.storage import write_model_runs

ESTIMATED = {"cpu": "cpu-load-estimate", "gpu": "absent", "ram": "ram-constant-estimate"}
TASKS = ("math", "sql", "mmlu", "code")


def synthetic_runs(models: int, queries: int, seed: int = 0) -> list[ModelRun]:
    rng = np.random.default_rng(seed)
    difficulty = rng.lognormal(0.0, 0.6, queries)
    runs = []
    for m in range(models):
        joules = 5.0 * (1 + 0.15 * m) * difficulty * rng.lognormal(0, 0.2, queries)
        correct = rng.random(queries) < 0.2 + 0.05 * m
        tokens = rng.integers(8, 64, queries)
        records = []
        for i in range(queries):
            kwh = float(joules[i]) / 3.6e6
            seconds = float(joules[i]) / 25.0
            reading = EnergyReading(seconds, 0.3 * kwh, None, 0.7 * kwh, ESTIMATED, "codecarbon")
            records.append(QueryRecord(
                model=f"model-{m}", query_id=f"q{i:05d}", query=f"What is {i} + {i}?", response=str(2 * i),
                tokens_input=13, tokens_output=int(tokens[i]), duration_s=seconds, sequence=i + 1,
                energy=reading, emissions_kg=kwh * 0.369, ttft_s=seconds / 10, decode_s=seconds * 0.9,
                task=TASKS[i % len(TASKS)], expected=str(2 * i),
                scores={"score": float(correct[i]), "correct": bool(correct[i]), "kind": "numeric"}))
        info = ModelInfo(alias=f"model-{m}", model_id=f"org/model-{m}", parameters=124_000_000 * (m + 1))
        runs.append(ModelRun(info=info, records=tuple(records), run_id="perf", machine={"hostname": "perf"},
                             meter={"name": "codecarbon"}))
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", action="append", choices=("png", "svg"), default=None,
                        help="figure file format (repeat for both). Default: png and svg, as `slm-energy plot`")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds for load + plot + report (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        run_dir.mkdir()
        write_model_runs(run_dir, synthetic_runs(args.models, args.queries))
        out = Path(tmp) / "plots"
        load_input([run_dir])        # warm-up: first-use costs (font cache, lazy imports) are not the figure
        wall: dict[str, list[float]] = {"load": [], "plot": [], "report": [], "total": []}
        cpu: dict[str, list[float]] = {name: [] for name in wall}
        files = 0
        for _ in range(args.repeats):
            marks = [(time.perf_counter(), time.process_time())]
            data = load_input([run_dir])
            marks.append((time.perf_counter(), time.process_time()))
            drawn = render_figures(build_figures(data.frame, data.efficiency), out, tuple(args.format or FORMATS))
            files = sum(len(figure.files) for figure in drawn)
            marks.append((time.perf_counter(), time.process_time()))
            html = build_html(data, drawn=drawn)
            marks.append((time.perf_counter(), time.process_time()))
            for i, name in enumerate(("load", "plot", "report")):
                wall[name].append(marks[i + 1][0] - marks[i][0])
                cpu[name].append(marks[i + 1][1] - marks[i][1])
            wall["total"].append(marks[-1][0] - marks[0][0])
            cpu["total"].append(marks[-1][1] - marks[0][1])
    print(f"plot + report: {args.models} models x {args.queries} queries ({len(data.frame)} rows), "
          f"{files} figure files, report {len(html) // 1024} KiB; median of {args.repeats} runs, imports excluded")
    print(f"  {'step':7s} {'CPU s (median)':>15s} {'wall s (median)':>16s}")
    for name in wall:
        print(f"  {name:7s} {statistics.median(cpu[name]):15.2f} {statistics.median(wall[name]):16.2f}")
    total = statistics.median(cpu["total"])
    print(f"goal < {args.budget:g} s (CPU time: wall time on a shared machine counts the other processes too; "
          f"load average now {os.getloadavg()[0]:.1f}): {'met' if total <= args.budget else 'NOT met'}")
    return 0 if total <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
