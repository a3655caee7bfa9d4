"""Regression gate: fail a model whose cost rose against a saved baseline (pure).

What pytest-benchmark's ``--benchmark-compare-fail`` does for time, for energy, latency
and tokens. A model fails a spec such as ``energy:10%`` when BOTH

1. its median over the queries it shares with the baseline rose by more than 10%, and
2. a paired Wilcoxon signed-rank test on those queries says the rise is significant
   at 0.05, ONE-SIDED (current > baseline).

One-sided because the gate asks a directional question fixed in advance: "did it get
worse?". A drop never fails the gate, so a two-sided test would only spend half of the
5% false-alarm budget on a direction nobody acts on and need more queries to see a real
rise. The threshold condition guards against failing on tiny but significant changes.
Medians are taken over shared queries only, so a changed query set cannot pass for a
changed model. Each model is judged on its own at 0.05 (no adjustment across models):
a CI gate should rather re-run a false alarm than miss a regression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Collection, Sequence

import numpy as np

from ..errors import ConfigError
from ..results.metrics import METRICS, get_metric, values_by_model
from .rank_tests import wilcoxon
from ..results.records import ModelRun
from ..number_format import num, plural

GATE_TEST = "Wilcoxon signed-rank, one-sided (current > baseline)"
_SPEC = re.compile(r"^\s*([a-z_]+)\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*$")


@dataclass(frozen=True)
class GateSpec:
    metric: str
    threshold: float | None        # allowed relative rise (0.10 = 10%); None: report, never fail

    def __str__(self) -> str:
        return self.metric if self.threshold is None else f"{self.metric}:{self.threshold * 100:g}%"


@dataclass(frozen=True)
class GateResult:
    model: str
    metric: str
    threshold: float | None
    status: str                    # 'regressed', 'ok', 'inconclusive', 'not compared', 'compared'
    reason: str                    # one line, starting with the model
    baseline_median: float | None = None
    current_median: float | None = None
    change: float | None = None    # relative change of the median
    n_shared: int = 0
    p_value: float | None = None
    test: str = GATE_TEST

    @property
    def failed(self) -> bool:
        return self.status == "regressed"


def _gateable() -> list[str]:
    return [name for name, m in METRICS.items() if m.lower_is_better]


def parse_gate_specs(text: str | Sequence[str]) -> list[GateSpec]:
    """``'energy:10%,latency:5%'`` (or a list of such strings) -> specs."""
    parts = text.split(",") if isinstance(text, str) else [p for t in text for p in t.split(",")]
    specs = []
    for part in (p for p in parts if p.strip()):
        match = _SPEC.match(part)
        if not match:
            raise ConfigError(f"bad gate spec {part.strip()!r}: write METRIC:PERCENT%, e.g. energy:10% "
                              f"(metrics: {', '.join(_gateable())})")
        name, percent = match.group(1), float(match.group(2))
        if name not in METRICS:
            raise ConfigError(f"bad gate spec {part.strip()!r}: unknown metric {name!r}; "
                              f"choose from {', '.join(_gateable())}")
        if not METRICS[name].lower_is_better:
            raise ConfigError(f"bad gate spec {part.strip()!r}: the gate fails on rises of a cost, "
                              f"and higher {name!r} is better; choose from {', '.join(_gateable())}")
        specs.append(GateSpec(name, percent / 100.0))
    if not specs:
        raise ConfigError("no gate spec given: write METRIC:PERCENT%, e.g. energy:10%")
    return specs


def session_specs(fail_specs: str | None, metrics: Sequence[str]) -> list[GateSpec]:
    """The gate of a pytest session: the ``--energy-compare-fail`` specs, or report-only specs
    (never failing) for the summary's cost metrics when only ``--energy-compare`` is given."""
    if fail_specs:
        return parse_gate_specs(fail_specs)
    return [GateSpec(name, None) for name in metrics if name in METRICS and METRICS[name].lower_is_better]


def fixed_n_verdict(model: str, spec: GateSpec, current: dict[str, float], baseline: dict[str, float],
             alpha: float) -> GateResult:
    metric = get_metric(spec.metric)
    label = f"{model}: {metric.label}"
    shared = sorted(current.keys() & baseline.keys())
    if not shared:
        why = ("no values in this run" if not current else "no values in the baseline" if not baseline
               else "no query ids shared with the baseline, so nothing can be paired")
        return GateResult(model, spec.metric, spec.threshold, "not compared", f"{label}: not compared - {why}")
    cur = np.array([current[q] for q in shared])
    base = np.array([baseline[q] for q in shared])
    cur_med, base_med = float(np.median(cur)), float(np.median(base))
    fields: dict[str, Any] = dict(baseline_median=base_med, current_median=cur_med, n_shared=len(shared))
    if base_med <= 0:
        return GateResult(model, spec.metric, spec.threshold, "not compared",
                          f"{label}: not compared - the baseline median is {num(base_med)} {metric.unit}, "
                          "so a relative rise is undefined", **fields)
    change = cur_med / base_med - 1.0
    test = wilcoxon(cur, base, alternative="greater")
    moved = (f"median {'rose' if change > 0 else 'fell' if change < 0 else 'stayed'} "
             f"{abs(change) * 100:.1f}% ({num(base_med)} -> {num(cur_med)} {metric.unit})")
    evidence = (f"{GATE_TEST}: p = {test.p_value:.3g} on {len(shared)} shared queries"
                if test.p_value is not None else f"no paired test ({len(shared)} shared queries): {test.reason}")
    fields.update(change=change, p_value=test.p_value)

    def result(status: str, verdict: str) -> GateResult:
        return GateResult(model, spec.metric, spec.threshold, status,
                          f"{label}: {verdict} - {moved}; {evidence}", **fields)

    if spec.threshold is None:
        return result("compared", "compared with the baseline")
    allowed = f"{spec.threshold * 100:g}%"
    if change <= spec.threshold:
        return result("ok", f"within {allowed}")
    if test.p_value is None:
        return result("inconclusive", f"rise above {allowed} cannot be tested")
    if test.p_value < alpha:
        return result("regressed", f"REGRESSION above {allowed}, significant at {alpha:g}")
    return result("ok", f"rise above {allowed} is not significant at {alpha:g}")


def check_regressions(current: Sequence[ModelRun], baseline: Sequence[ModelRun], specs: Sequence[GateSpec],
                      *, alpha: float = 0.05) -> list[GateResult]:
    """Per spec and per model (matched by alias): the gate's verdict with one reason line."""
    results = []
    for spec in specs:
        now = values_by_model(current, spec.metric)
        before = values_by_model(baseline, spec.metric)
        results += by_alias(now, before, spec, lambda model: fixed_n_verdict(model, spec, now[model], before[model], alpha))
    return results


def by_alias(now: Collection[str], before: Collection[str], spec: GateSpec,
             compare: Callable[[str], GateResult]) -> list[GateResult]:
    """``compare`` for each model of this run that the baseline has too; one 'not compared' line for
    each model that only one side has (this run's models first, in their order)."""
    results = [compare(model) if model in before else
               GateResult(model, spec.metric, spec.threshold, "not compared", f"{model}: not compared - not in the baseline")
               for model in now]
    return results + [GateResult(model, spec.metric, spec.threshold, "not compared",
                                 f"{model}: not compared - in the baseline but not in this run")
                      for model in before if model not in now]


def gate_failed(results: Sequence[GateResult]) -> bool:
    return any(r.failed for r in results)


def gate_lines(results: Sequence[GateResult], specs: Sequence[GateSpec]) -> list[str]:
    """A title, then one line per result (failures first); for terminals and CI logs."""
    failed = [r for r in results if r.failed]
    skipped = sum(1 for r in results if r.status == "not compared")
    title = (f"energy gate ({', '.join(str(s) for s in specs)}): "
             + (f"FAILED for {plural(len(failed), 'model')}" if failed else "passed")
             + (f" ({skipped} of {len(results)} checks could not be made)" if skipped else ""))
    ordered = failed + [r for r in results if not r.failed]
    return [title] + [r.reason for r in ordered]
