"""Requests/s, output tokens/s and J/request of an in-process model at several batch sizes.

Uses the runner of ``--energy-batch-size`` (slm_energy_plugin.roles.load_run.run_batched): the
first N math queries, greedy, with the prompt format's stop strings, generated ``size`` rows per
``model.generate`` call, one meter window per call; energy per request = the windows' energy /
requests (each request's share by time overlap sums to this). The levels run in alternating
order (1,2,4,8 then 8,4,2,1 ...) so that drift in the machine lands on every level alike; the
table gives each level's median over the passes.

    .venv/bin/python benchmarks/perf/batch_load.py --model tiny-qwen2 --queries 32 --passes 4
    .venv/bin/python benchmarks/perf/batch_load.py --model gpt2@random --queries 16 --passes 2

The meter is the machine's (default codecarbon); on a machine without counters its joules are
CodeCarbon's estimate, and the output says so.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from slm_energy_plugin.backends.registry import load_registry, resolve_model
from slm_energy_plugin.backends.tiny import ensure_tiny
from slm_energy_plugin.backends.transformers_runtime import load_model
from slm_energy_plugin.energy import build_meter
from slm_energy_plugin.energy.units import J_PER_KWH
from slm_energy_plugin.roles.load_plan import ask_defaults
from slm_energy_plugin.roles.load_run import LoadResult, run_batched
from slm_energy_plugin.settings import build_settings
from slm_energy_plugin.workload.asks import ask_rounds
from slm_energy_plugin.workload.queries import load_queries

from _timing import markdown_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny-qwen2")
    parser.add_argument("--sizes", default="1,2,4,8")
    parser.add_argument("--queries", type=int, default=32)
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--meter", default="codecarbon")
    args = parser.parse_args()
    settings = build_settings({}, {}, Path.cwd())
    spec = resolve_model(args.model, load_registry(), Path.cwd())
    local = ensure_tiny(spec.base_alias, str(spec.tiny)) if spec.source == "tiny" else None
    model = load_model(spec, local)
    asks = [ask for q in load_queries(None, None)[:args.queries]
            for ask in ask_rounds(spec, q.prompt, q.task, ask_defaults(settings, spec))]
    meter = build_meter(args.meter, settings.country)
    meter.warm_up()
    sizes = [int(x) for x in args.sizes.split(",")]
    run_batched(model, asks[:max(sizes)], max(sizes), meter)   # warm-up: kernels, stop-string tables
    results: dict[int, list[LoadResult]] = {size: [] for size in sizes}
    for p in range(args.passes):
        for size in sizes if p % 2 == 0 else sizes[::-1]:
            results[size].append(run_batched(model, asks, size, meter))
    first = results[sizes[0]][0].reading
    print(f"{spec.alias} ({spec.model_id}), {len(asks)} queries x max {spec.max_new_tokens} new tokens, greedy, "
          f"{args.passes} passes; meter {meter.describe().get('name')} "
          f"({first.provenance if first else '?'}: {dict(first.methods) if first else {}})")
    rows = []
    for size in sizes:
        runs = results[size]
        seconds = statistics.median(r.throughput.window_s for r in runs)
        joules = statistics.median((r.reading.total_kwh or 0.0) * J_PER_KWH / len(asks) for r in runs if r.reading)
        tokens = statistics.median(r.throughput.output_tokens for r in runs)
        latency = statistics.median(q.ended - q.started for r in runs for q in r.requests)
        rows.append([size, len(runs[0].windows), f"{seconds:.2f}", f"{len(asks) / seconds:.2f}",
                     f"{tokens / seconds:.1f}", f"{joules:.3f}", f"{latency:.3f}"])
    print(markdown_table(["batch size", "windows", "s (median)", "requests/s", "output tok/s", "J/request",
                          "median latency s"], rows))
    meter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
