"""The regression gate on a sequential run (``--energy-until decided``): an always-valid verdict (pure).

A sequential run stopped measuring each model once its pairs were decided, so how many queries a
model has depends on its own values. The fixed-n gate's one-sided Wilcoxon test at that data-chosen
n does not keep its error rate. A confidence sequence does: it covers the true value at every look
at once, so also at the look where the run stopped, whatever made it stop. So the gate's question
(did a model's cost rise against the baseline?) is asked here with the run's own method: Lai's
sequential t confidence sequence (:mod:`.sequential`) on the per-query log ratios current /
baseline, taken in the order the run asked its queries, at the run's alpha, tuned to the run's
planned queries (fixed before its first query, so the tuning does not depend on the data either).

A model fails a spec such as ``energy:10%`` when BOTH its ratio of geometric means per query rose by
more than 10% and the always-valid interval lies above 1: the verdict "different, current costs
more". As in the fixed-n gate each model is judged on its own, at the run's alpha (two-sided
interval: a false alarm has at most alpha / 2 of that chance, as a one-sided test at alpha / 2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..number_format import num
from ..results.metrics import get_metric, values_by_model
from ..results.records import ModelRun
from .gate import GateResult, GateSpec, by_alias, fixed_n_verdict
from .sequential import design_for, running_intervals

SEQUENTIAL_GATE_TEST = ("always-valid confidence sequence (Lai's sequential t) on per-query log ratios "
                        "current / baseline, in the run's query order")


@dataclass(frozen=True)
class RunDesign:
    """What a sequential run fixed before its first query (its run.json ``sequential`` block)."""

    alpha: float
    margin: float
    planned: int


def design_of(block: Mapping[str, Any]) -> RunDesign | str:
    """The design a checked ``sequential`` block records, or why it cannot be used."""
    alpha, margin, planned = float(block["alpha"]), float(block["equivalence_margin"]), int(block["queries_planned"])
    if not (0 < alpha < 1 and 0 < margin < 1):
        return f"its run.json's 'sequential' block has alpha {alpha:g} and margin {margin:g} (each must lie in 0-1)"
    return RunDesign(alpha, margin, planned)


def query_order(run: ModelRun) -> list[str]:
    """The run's query ids in the order it asked them (its records' sequence; first ask of a repeat)."""
    first: dict[str, int] = {}
    for record in run.records:
        first[record.query_id] = min(record.sequence, first.get(record.query_id, record.sequence))
    return sorted(first, key=first.__getitem__)


def check_regressions_sequential(current: Sequence[ModelRun], baseline: Sequence[ModelRun],
                                 specs: Sequence[GateSpec], order: Mapping[str, Sequence[str]],
                                 designs: Mapping[str, RunDesign | str], *, alpha: float) -> list[GateResult]:
    """Per spec and per model (matched by alias), the always-valid verdict with one reason line.

    ``order``: alias -> query ids in the sequential run's order; ``designs``: alias -> its run's design,
    or the line saying why the run's design cannot be read (that model is then not compared). A model
    with no design came from a fixed-n run: the fixed-n gate at ``alpha`` judges it.
    """
    results: list[GateResult] = []
    for spec in specs:
        metric = get_metric(spec.metric)
        now, before = values_by_model(current, metric), values_by_model(baseline, metric)

        def compare(model: str) -> GateResult:
            design = designs.get(model)
            if design is None:   # a model of a fixed-n run compared alongside: its own gate holds
                return fixed_n_verdict(model, spec, now[model], before[model], alpha)
            if isinstance(design, str):
                return GateResult(model, spec.metric, spec.threshold, "not compared",
                                  f"{model}: {metric.label}: not compared - {design}", test=SEQUENTIAL_GATE_TEST)
            return _verdict(model, spec, now[model], before[model], order.get(model, ()), design)

        results += by_alias(now, before, spec, compare)
    return results


def _verdict(model: str, spec: GateSpec, current: Mapping[str, float], baseline: Mapping[str, float],
             order: Sequence[str], design: RunDesign) -> GateResult:
    metric = get_metric(spec.metric)
    label = f"{model}: {metric.label}"
    shared = [q for q in order if q in current and q in baseline and current[q] > 0 and baseline[q] > 0]
    if not shared:
        return GateResult(model, spec.metric, spec.threshold, "not compared",
                          f"{label}: not compared - no query with a positive value in both this run and the "
                          "baseline", test=SEQUENTIAL_GATE_TEST)
    logs = np.log([current[q] for q in shared]) - np.log([baseline[q] for q in shared])
    mean, low, high = (float(v[-1]) for v in running_intervals(logs, design_for(design.alpha, design.margin, 1,
                                                                                  design.planned, futility=False)))
    ratio, ci = math.exp(mean), (math.exp(low), math.exp(high))
    change = ratio - 1.0
    moved = (f"ratio {num(ratio)} current / baseline (always-valid CI {num(ci[0])} - "
             f"{'inf' if math.isinf(ci[1]) else num(ci[1])}) on {len(shared)} shared queries in the run's order")
    fields: dict[str, Any] = dict(baseline_median=float(np.median([baseline[q] for q in shared])),
                  current_median=float(np.median([current[q] for q in shared])), change=change,
                  n_shared=len(shared), test=SEQUENTIAL_GATE_TEST)

    def result(status: str, verdict: str) -> GateResult:
        return GateResult(model, spec.metric, spec.threshold, status, f"{label}: {verdict} - {moved}", **fields)

    if spec.threshold is None:
        return result("compared", "compared with the baseline")
    allowed = f"{spec.threshold * 100:g}%"
    if change <= spec.threshold:
        return result("ok", f"within {allowed}")
    if low > 0:
        return result("regressed", f"REGRESSION above {allowed}: the always-valid interval lies above 1 at the "
                                   f"run's alpha {design.alpha:g}")
    return result("ok", f"rise above {allowed} is not decided at the run's alpha {design.alpha:g} (the "
                        "always-valid interval includes 1)")
