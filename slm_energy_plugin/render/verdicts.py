"""Lines that say how far a run's comparisons can be trusted (issue 10). Pure: no pytest, no files.

- which run order ran (a grouped order cannot separate drift in the machine from the models);
- how many queries ran while other processes used the CPU (``extra.background_load``);
- when energy and latency are one measurement (every energy figure estimated as power x time);
- with repeated rounds, the within-query spread next to the between-model differences.

:func:`trust_lines` assembles them for the pytest summary and ``slm-energy compare`` alike.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from ..perf.background import THRESHOLD
from ..results.performance import PerformanceView
from ..results.records import ModelRun
from ..medians import median_or_none

BACKGROUND_SHARE_WARN = 0.1   # warn when more than this share of a model's queries were loaded


def order_lines(runs: Sequence[ModelRun]) -> list[str]:
    modes = {str(extra["order"].get("mode")) for run in runs for extra in run.facts.extras
             if isinstance(extra.get("order"), dict)}
    if not modes:
        return []
    if modes == {"interleaved"}:
        return ["Run order: interleaved - each query ran on every model before the next query, the "
                "models' order rotated from query to query, so drift in the machine lands on every model alike."]
    return [f"Warning: run order {'/'.join(sorted(modes))} (model by model): anything that changed during the "
            "run (other jobs, heat, clock speed) is confounded with the model, and the tests below cannot "
            "tell the two apart; the default --energy-order interleaved can."]


def background_counts(run: ModelRun, threshold: float = THRESHOLD) -> tuple[int, int]:
    """(queries whose background load exceeded ``threshold``, queries with a reading)."""
    loads = [float(extra["background_load"]) for extra in run.facts.extras
             if isinstance(extra.get("background_load"), (int, float))]
    return sum(1 for x in loads if x > threshold), len(loads)


def background_lines(runs: Sequence[ModelRun], threshold: float = THRESHOLD) -> list[str]:
    counts = {run.alias: background_counts(run, threshold) for run in runs}
    flagged = {a: c for a, c in counts.items() if c[1] and c[0] / c[1] > BACKGROUND_SHARE_WARN}
    if not flagged:
        return []
    per_model = ", ".join(f"{a} {hit}/{n}" for a, (hit, n) in counts.items() if n)
    return [f"Warning: background load - other processes used more than {threshold:.0%} of the machine's "
            f"CPU time during some queries ({per_model}); their energy and latency include that "
            "contention (per query: extra.background_load)."]


def same_measurement(runs: Sequence[ModelRun], metrics: Sequence[str]) -> tuple[list[str], str | None]:
    """Metrics to show, and a note, when energy and latency are one measurement.

    With every energy figure an estimate (power from a TDP guess and CPU load, RAM constant) the
    energy of a query is its run time times a near-constant power: the two comparisons are one.
    The statistics are then shown once, under energy; the model files keep both figures.
    Not so when a model ran at a load level (its requests' energy is a share of a window).
    """
    shown = list(metrics)
    if not runs or "energy" not in shown or "latency" not in shown:
        return shown, None
    if any(run.facts.provenance != "estimated" for run in runs):
        return shown, None
    if any(PerformanceView.from_block(run.performance).load for run in runs):
        # A load level shares a window's energy among overlapping requests: a request's energy is
        # no longer its own latency x power, so the two comparisons differ and both are shown.
        return shown, None
    shown.remove("latency")
    return shown, ("Energy and latency are one measurement here: every energy figure is estimated as power x "
                   "time, so their comparisons are the same test; the statistics are shown once, under "
                   "energy (the model files keep both).")


def round_cv(seconds: Sequence[float]) -> float | None:
    """Coefficient of variation of one query's rounds (sample sd / mean)."""
    if len(seconds) < 2:
        return None
    mean = statistics.fmean(seconds)
    return statistics.stdev(seconds) / mean if mean > 0 else None


def repeatability_lines(runs: Sequence[ModelRun]) -> list[str]:
    """Within-query spread (median CV of latency across rounds) next to the between-model differences."""
    spreads: dict[str, float] = {}
    for run in runs:
        cvs = [round_cv([float(x) for x in extra["round_seconds"]]) for extra in run.facts.extras
               if isinstance(extra.get("round_seconds"), list)]
        cv = median_or_none(c for c in cvs if c is not None)
        if cv is not None:
            spreads[run.alias] = cv
    if not spreads:
        return []
    medians = {run.alias: median_or_none(r.duration_s for r in run.records if r.duration_s)
               for run in runs}
    logs = [math.log(m) for m in medians.values() if m]
    between = math.exp(max(logs) - min(logs)) - 1.0 if len(logs) > 1 else None
    within = ", ".join(f"{a} {cv:.1%}" for a, cv in spreads.items())
    line = f"Repeatability: within-query spread of latency (median CV across rounds): {within}"
    if between is not None:
        noisy = max(spreads.values()) >= between
        line += (f"; between models the median latencies differ by up to {between:.1%}"
                 + (" - the noise is as large as the differences." if noisy else "."))
    return [line]


@dataclass(frozen=True)
class TrustLines:
    """Everything above, for one set of runs: the one source of the summary's and compare's lines."""

    conditions: list[str]       # load levels, run order, background load: said before any table
    spread: list[str]           # repeatability: said beside the statistics
    same_note: str | None       # energy and latency are one measurement (then ``metrics`` lacks latency)
    metrics: list[str]          # the metrics to test


def trust_lines(runs: Sequence[ModelRun], metrics: Sequence[str]) -> TrustLines:
    shown, same = same_measurement(runs, metrics)
    from .load_lines import load_lines   # how a load level ran: throughput and energy per request

    return TrustLines(load_lines(runs) + order_lines(runs) + background_lines(runs), repeatability_lines(runs),
                      same, shown)
