"""Sequential verdicts (issue 23): error rate, power and queries to decision, from RECORDED costs.

    python benchmarks/perf/sequential_validity.py --aa RUN_DIR [--noise RUN_DIR ...] [--replay RUN_DIR ...] \
        [--full RUN_DIR --sequential RUN_DIR]

--aa: a recorded A/A run (the same model under two names, e.g. two copies of a tiny model's folder).
Its per-query log ratios are centred and resampled with random signs (under A/A the two arms are
exchangeable, so d and -d are equally likely): 2,000 simulated 56-query runs, looked at after every
query, with the futility stop on (the default) and off. Then the recorded differences: the same
resampled noise shifted by log 1.1, 1.25, 1.5.
--noise: another recorded run; each of its pairs' centred log ratios is used as noise the same way.
--replay: a recorded full run replayed through the session's own monitor in 200 random query orders
(models stop when their pairs end, as in a session), futility on and off: the share of model x query
tests run and how often every verdict matches the full run's.
--full / --sequential: the goal check: the fixed-n verdicts of a full run (Wilcoxon signed-rank on log
ratios, Holm, alpha 0.05) against a sequential run's verdicts, queries and measured energy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from slm_energy_plugin.results.storage import load_run_dir
from slm_energy_plugin.stats.core import compare_models
from slm_energy_plugin.results.metrics import values_by_model
from slm_energy_plugin.stats.sequential import DIFFERENT, FUTILE_REASON, Monitor, design_for, simulate

from _timing import markdown_table

RUNS, QUERIES, ALPHA, SEED = 2000, 56, 0.05, 23
METRICS = ("energy", "latency")


def pair_log_ratios(run_dir: Path, metric: str) -> dict[str, np.ndarray]:
    values = values_by_model(load_run_dir(run_dir), metric)
    models = list(values)
    out = {}
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            shared = sorted(set(values[a]) & set(values[b]))
            out[f"{a} vs {b}"] = np.log([values[a][q] for q in shared]) - np.log([values[b][q] for q in shared])
    return out


def null_runs(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    centred: np.ndarray = d - d.mean()
    picks = rng.integers(0, len(centred), (RUNS, QUERIES))
    signs: np.ndarray = rng.choice([-1.0, 1.0], (RUNS, QUERIES))
    runs: np.ndarray = centred[picks] * signs
    return runs


def report_noise(name: str, d: np.ndarray) -> None:
    rng = np.random.default_rng(SEED)
    design = design_for(ALPHA, 0.05, comparisons=1, planned_queries=QUERIES)
    off = design_for(ALPHA, 0.05, comparisons=1, planned_queries=QUERIES, futility=False)
    noise = null_runs(d, rng)
    print(f"\nnoise: {name} (recorded sd of log ratio {d.std(ddof=1):.3f}, n={len(d)})")
    rows = []
    for ratio in (1.0, 1.1, 1.25, 1.5):
        sims = noise + np.log(ratio)
        seq, seq_off = simulate(sims, design), simulate(sims, off)
        fixed = scipy_stats.wilcoxon(sims, axis=1).pvalue < ALPHA
        median = seq.median_queries(DIFFERENT)
        rows.append([f"{ratio:g}", f"{seq.rate(DIFFERENT):.3f}", "-" if median is None else f"{median:g}",
                     f"{seq.rate(FUTILE_REASON):.3f}", f"{seq.mean_queries:.1f}", f"{seq_off.rate(DIFFERENT):.3f}",
                     f"{seq_off.mean_queries:.1f}", f"{float(np.mean(fixed)):.3f}"])
    print(markdown_table(["true ratio", "'different' (futility on)", "median queries to 'different'", "futile",
                          "mean queries per run", "'different' (futility off)", "mean queries, off",
                          "fixed-n Wilcoxon (56 q) rejects"], rows))


def fixed_verdicts(run_dir: Path, metric: str) -> dict[str, str]:
    comparison = compare_models(values_by_model(load_run_dir(run_dir), metric), alpha=ALPHA)
    out = {}
    for pair in comparison.pairs:
        test = pair.wilcoxon
        p = None if test is None else (test.p_holm if test.p_holm is not None else test.p_value)
        direction = "lower" if (pair.shift and pair.shift.estimate is not None and pair.shift.estimate < 1) else "higher"
        out[f"{pair.a} vs {pair.b}"] = f"different ({direction})" if p is not None and p < ALPHA else "no difference"
    return out


def query_energy_j(run_dir: Path) -> tuple[int, float]:
    runs = load_run_dir(run_dir)
    records = [r for run in runs for r in run.records]
    return len(records), sum((r.energy_kwh or 0.0) * 3.6e6 for r in records)


def goal(full: Path, sequential: Path) -> None:
    block = json.loads((sequential / "run.json").read_text())["sequential"]
    print(f"\ngoal: full run {full.name} vs sequential run {sequential.name}")
    rows = []
    same = 0
    for entry in block["pairs"]:
        verdict = fixed_verdicts(full, entry["metric"])[entry["pair"]]
        decision = entry["decision"]
        if entry.get("reason") == FUTILE_REASON:
            decision += " (futile)"
        if decision == DIFFERENT:
            decision += " (lower)" if entry["ratio"] < 1 else " (higher)"
        agree = decision == verdict or (verdict == "no difference" and not decision.startswith(DIFFERENT))
        same += agree
        ci = entry["ci"] or [None, None]
        rows.append([entry["pair"], entry["metric"], verdict, decision, entry["after_queries"],
                     f"{entry['ratio']:.3f}", f"{ci[0] if ci[0] is None else round(ci[0], 3)} - "
                     f"{ci[1] if ci[1] is None else round(ci[1], 3)}", "yes" if agree else "NO"])
    print(markdown_table(["pair", "metric", "full run (Wilcoxon, Holm)", "sequential", "after queries", "ratio",
                          "always-valid CI", "same"], rows))
    tests_full, joules_full = query_energy_j(full)
    tests_seq, joules_seq = query_energy_j(sequential)
    print(f"\nsame verdicts: {same}/{len(block['pairs'])}; queries (model x query tests): {tests_seq}/{tests_full} "
          f"= {tests_seq / tests_full:.2f}; query energy {joules_seq:.1f}/{joules_full:.1f} J "
          f"= {joules_seq / joules_full:.2f}; stop: {block['stop_reason']}; models stopped early: "
          f"{block.get('models_stopped')}")


def replay_once(values: dict[str, dict[str, dict[str, float]]], order: list[str], futility: bool
                ) -> tuple[float, Monitor]:
    """One session's monitor on ``order``: the share of model x query tests it ran, and the monitor."""
    models = list(values["energy"])
    monitor = Monitor(models, list(values), ALPHA, 0.05, planned_queries=len(order), futility=futility)
    stopped: dict[str, int] = {}
    for i, query in enumerate(order):
        if monitor.decided:
            break
        monitor.look({metric: {m: per[m][query] for m in models if m not in stopped}
                      for metric, per in values.items()})
        for model in monitor.done_models():
            stopped.setdefault(model, i + 1)
    monitor.finish()
    return sum(stopped.get(m, monitor.looks) for m in models) / (len(order) * len(models)), monitor


def replay(full: Path, orders: int = 200) -> None:
    runs = load_run_dir(full)
    values = {metric: values_by_model(runs, metric) for metric in METRICS}
    queries = sorted(set.intersection(*(set(v) for v in values["energy"].values())))
    fixed = {metric: fixed_verdicts(full, metric) for metric in METRICS}
    print(f"\nreplay: full run {full.name}, {len(queries)} queries in {orders} random orders (seed {SEED})")
    rows = []
    for futility in (True, False):
        rng = np.random.default_rng(SEED)
        shares, same = [], 0
        for _ in range(orders):
            share, monitor = replay_once(values, [str(q) for q in rng.permutation(queries)], futility)
            shares.append(share)
            same += all((s.decision == DIFFERENT) == fixed[s.metric][s.pair].startswith(DIFFERENT)
                        for s in monitor.states)
        rows.append(["on" if futility else "off", f"{np.mean(shares):.2f}", f"{np.percentile(shares, 90):.2f}",
                     f"{same / orders:.2f}"])
    print(markdown_table(["futility", "tests run, mean", "90th percentile",
                          "orders with every verdict as the full run's"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aa", type=Path, required=True)
    parser.add_argument("--noise", type=Path, action="append", default=[])
    parser.add_argument("--replay", type=Path, action="append", default=[])
    parser.add_argument("--full", type=Path)
    parser.add_argument("--sequential", type=Path)
    args = parser.parse_args()
    print(f"{RUNS} simulated runs of {QUERIES} queries per row, alpha {ALPHA}, equivalence ±5%, seed {SEED}")
    for metric in METRICS:
        for pair, d in pair_log_ratios(args.aa, metric).items():
            report_noise(f"A/A {pair}, {metric}", d)
        for noise in args.noise:
            for pair, d in pair_log_ratios(noise, metric).items():
                report_noise(f"{pair}, {metric} (centred)", d)
    for full in args.replay:
        replay(full)
    if args.full and args.sequential:
        goal(args.full, args.sequential)


if __name__ == "__main__":
    main()
