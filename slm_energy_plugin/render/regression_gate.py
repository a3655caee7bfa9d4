"""Which test judges a regression gate, for ``compare --baseline --fail`` and the pytest option
``--energy-compare-fail`` alike (pure): one choice, so the command and the session agree.

The fixed-n gate (a one-sided paired Wilcoxon test) needs a sample size fixed in advance. A model of a
sequential run (``--energy-until decided``; this side's, else the baseline's) stopped on its data, so
it is judged by the always-valid verdict in that run's query order at that run's alpha
(:mod:`..stats.sequential_gate`).
"""

from __future__ import annotations

from typing import Sequence

from ..results.records import ModelRun
from ..stats.gate import GateResult, GateSpec, check_regressions
from .sequential_tables import SequentialRun


def regression_gate(runs: Sequence[ModelRun], sequential: Sequence[SequentialRun], baseline: Sequence[ModelRun],
                    baseline_sequential: Sequence[SequentialRun], specs: Sequence[GateSpec],
                    alpha: float) -> list[GateResult]:
    """The gate's verdicts: fixed-n, or, for the models of a sequential run (this side's, else the
    baseline's), the always-valid verdict in that run's query order at that run's alpha."""
    if not (sequential or baseline_sequential):
        return check_regressions(runs, baseline, specs, alpha=alpha)
    from ..stats.sequential_gate import RunDesign, check_regressions_sequential, design_of, query_order

    designs: dict[str, RunDesign | str] = {}
    order: dict[str, list[str]] = {}
    for side, found in ((runs, sequential), (baseline, baseline_sequential)):
        for run in found:
            design = (design_of(run.block) if run.block is not None else
                      f"the verdicts of its sequential run {run.run_id} cannot be read ({run.problem})")
            if isinstance(design, str):
                design += ", and a fixed-n test does not hold on its adaptively stopped queries"
            for model in (m for m in side if m.alias in run.models and m.alias not in designs):
                designs[model.alias], order[model.alias] = design, query_order(model)
    return check_regressions_sequential(runs, baseline, specs, order, designs, alpha=alpha)
