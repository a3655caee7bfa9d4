"""How long the statistics take for many models and queries (default 10 x 10,000).

Runs :func:`slm_energy_plugin.stats.core.compare_models` on synthetic per-query energies
(log-normal, a per-query difficulty shared by all models, as in a real paired run) and
prints the median, min and max wall time of several repeats, plus where the time goes.
Exit status 1 when the median exceeds --budget seconds.

    PYTHONPATH=$PWD python benchmarks/perf/bench_stats.py [--models 10] [--queries 10000]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

from slm_energy_plugin.stats import hodges_lehmann, rank_tests
from slm_energy_plugin.stats.core import BOOTSTRAP_RESAMPLES, compare_models

from _timing import timed


def synthetic(models: int, queries: int, seed: int = 0) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    difficulty = rng.lognormal(0.0, 0.6, queries)
    ids = [f"q{i:05d}" for i in range(queries)]
    return {f"model-{m}": dict(zip(ids, (5.0 * (1 + 0.15 * m) * difficulty * rng.lognormal(0, 0.2, queries)).tolist()))
            for m in range(models)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds allowed for the median")
    args = parser.parse_args(argv)

    values = synthetic(args.models, args.queries)
    compare_models(values)                                   # warm-up (imports, caches)
    times = timed(lambda: compare_models(values), args.repeats)
    median = statistics.median(times)
    pairs = args.models * (args.models - 1) // 2
    print(f"compare_models: {args.models} models x {args.queries} queries ({pairs} pairs, "
          f"{BOOTSTRAP_RESAMPLES} bootstrap resamples per model), {args.repeats} repeats")
    print(f"  median {median:.3f} s   min {min(times):.3f} s   max {max(times):.3f} s")

    # Where the time goes, per pair, on the first two models.
    a, b = (np.array(list(v.values())) for v in list(values.values())[:2])
    parts = {
        "Hodges-Lehmann ratio + CI": lambda: hodges_lehmann.paired_shift(np.log(a) - np.log(b)),
        "Mann-Whitney U": lambda: rank_tests.mann_whitney(a, b),
        "Wilcoxon signed-rank": lambda: rank_tests.wilcoxon(a, b),
    }
    for name, fn in parts.items():
        per_pair = statistics.median(timed(fn, args.repeats))
        print(f"  {name:<27} {per_pair * 1000:7.2f} ms per pair, {per_pair * pairs:.3f} s for {pairs} pairs")
    ok = median <= args.budget
    print(f"{'OK' if ok else 'TOO SLOW'}: median {median:.3f} s against a budget of {args.budget:.3f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
