"""The fine-tuning trade-off per task: what a fine-tune gains, what it forgets, what it costs (pure).

Paired right/wrong answers on the queries both models answered, per task
(``stats.paired_accuracy``: Newcombe's interval and McNemar's test).
The quality gate (``correct:-5pp``) asks a directional question fixed in advance ("did the
accuracy fall?") and so uses the ONE-sided exact binomial on the discordant pairs, as the cost
gate uses a one-sided Wilcoxon.

Break-even: training energy T is repaid by a lower energy per correct answer on the target
task, e_base - e_tuned joules saved per correct answer, so after T / (e_base - e_tuned) correct
answers, i.e. that many / accuracy_tuned queries to the fine-tuned model. "never" when the
fine-tune saves nothing per correct answer (or answers none correctly).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from scipy import stats as sps

from ..errors import ConfigError
from ..energy.units import J_PER_KWH
from ..quality.efficiency import EfficiencyRow
from ..results.records import COUNTED_OUTCOMES, ModelRun
from ..stats.paired_accuracy import PairedAccuracy, paired_accuracy

GATE_TEST = "exact binomial on discordant pairs, one-sided (accuracy fell)"
_PP_SPEC = re.compile(r"^\s*correct\s*:\s*-\s*([0-9]+(?:\.[0-9]+)?)\s*pp\s*$")


@dataclass(frozen=True)
class BreakEven:
    queries: float | None            # queries to the fine-tuned model until training is repaid
    text: str                        # the figure or "never", and why


@dataclass(frozen=True)
class TradeoffRow:
    base: str
    tuned: str
    target_task: str
    gain: PairedAccuracy | None
    other_tasks: tuple[PairedAccuracy, ...]
    training_kwh: float | None
    training_provenance: str
    break_even: BreakEven


@dataclass(frozen=True)
class AccuracyDrop:
    """One gate verdict: did ``candidate``'s accuracy on ``task`` fall by more than the threshold?"""

    task: str
    reference: str
    candidate: str
    threshold_pp: float
    status: str                      # 'dropped', 'ok', 'inconclusive'
    reason: str
    difference_pp: float | None = None
    p_value: float | None = None
    test: str = GATE_TEST

    @property
    def failed(self) -> bool:
        return self.status == "dropped"


@dataclass(frozen=True)
class AccuracyGateSpec:
    threshold_pp: float

    def __str__(self) -> str:
        return f"correct:-{self.threshold_pp:g}pp"


# --- answers ------------------------------------------------------------------------------

def correctness_by_task(run: ModelRun) -> dict[str, dict[str, float]]:
    """task -> query id -> 1.0 (right) or 0.0 (wrong), for answered, scored queries."""
    found: dict[str, dict[str, float]] = {}
    for record in run.records:
        correct = (record.scores or {}).get("correct")
        if record.outcome in COUNTED_OUTCOMES and correct is not None:
            found.setdefault(record.task or "-", {})[record.query_id] = 1.0 if correct else 0.0
    return found


# --- which models to pair -----------------------------------------------------------------

def adapter_pairs(runs: Sequence[ModelRun]) -> list[tuple[ModelRun, ModelRun]]:
    """(base, fine-tuned) for every adapter model whose base ran too; else every model against the first."""
    by_alias = {run.alias: run for run in runs}
    pairs = [(by_alias[str(run.info.adapter["base_alias"])], run) for run in runs
             if run.info.adapter and run.info.adapter.get("base_alias") in by_alias]
    if pairs or len(runs) < 2:
        return pairs
    return [(runs[0], run) for run in runs[1:]]


def paired_by_task(reference: ModelRun, candidate: ModelRun, alpha: float = 0.05) -> list[PairedAccuracy]:
    ref, cand = correctness_by_task(reference), correctness_by_task(candidate)
    return [paired_accuracy(task, reference.alias, ref[task], candidate.alias, cand[task], alpha)
            for task in ref if task in cand]


# --- break-even ---------------------------------------------------------------------------

def break_even(training_kwh: float | None, base_row: EfficiencyRow | None,
               tuned_row: EfficiencyRow | None) -> BreakEven:
    if training_kwh is None:
        return BreakEven(None, "unknown (no training.json with a training energy)")
    if tuned_row is None or base_row is None:
        return BreakEven(None, "unknown (a model has no scored answers on the task)")
    if not tuned_row.accuracy:
        return BreakEven(None, "never (the fine-tuned model answers none correctly)")
    if tuned_row.energy_per_correct_j is None:
        return BreakEven(None, "unknown (no energy per query)")
    if not base_row.accuracy:
        return BreakEven(0.0, "from the first correct answer (the base answers none correctly)")
    if base_row.energy_per_correct_j is None:
        return BreakEven(None, "unknown (no energy per query)")
    saving = base_row.energy_per_correct_j - tuned_row.energy_per_correct_j
    if saving <= 0:
        return BreakEven(None, "never (no energy saved per correct answer)")
    queries = training_kwh * J_PER_KWH / saving / tuned_row.accuracy
    return BreakEven(queries, f"{queries:,.0f} queries")


def tradeoff_rows(runs: Sequence[ModelRun], rows: Iterable[EfficiencyRow],
                  training: Mapping[str, tuple[float | None, str]], target_task: str = "sql",
                  alpha: float = 0.05) -> list[TradeoffRow]:
    """One row per (base, fine-tuned) pair; ``training`` maps a tuned alias to (kWh, provenance)."""
    by_key = {(row.model, row.task): row for row in rows}
    result = []
    for base, tuned in adapter_pairs(runs):
        paired = paired_by_task(base, tuned, alpha)
        gain = next((p for p in paired if p.task == target_task), None)
        kwh, provenance = training.get(tuned.alias, (None, "none"))
        result.append(TradeoffRow(
            base=base.alias, tuned=tuned.alias, target_task=target_task, gain=gain,
            other_tasks=tuple(p for p in paired if p.task != target_task), training_kwh=kwh,
            training_provenance=provenance,
            break_even=break_even(kwh, by_key.get((base.alias, target_task)), by_key.get((tuned.alias, target_task)))))
    return result


# --- the quality gate ---------------------------------------------------------------------

def is_accuracy_spec(text: str) -> bool:
    return bool(_PP_SPEC.match(text))


def parse_accuracy_spec(text: str) -> AccuracyGateSpec:
    match = _PP_SPEC.match(text)
    if not match:
        raise ConfigError(f"bad accuracy gate {text.strip()!r}: write correct:-POINTSpp, e.g. correct:-5pp")
    return AccuracyGateSpec(float(match.group(1)))


def one_sided_drop_p(only_reference: int, only_candidate: int) -> float | None:
    """P(at least this many reference-only right answers | discordant pairs, no difference)."""
    discordant = only_reference + only_candidate
    if discordant == 0:
        return None
    return float(sps.binomtest(only_reference, discordant, 0.5, alternative="greater").pvalue)


def accuracy_drops(pairs: Iterable[PairedAccuracy], spec: AccuracyGateSpec,
                   alpha: float = 0.05) -> list[AccuracyDrop]:
    """Fails a (task, candidate) whose accuracy fell by more than the threshold AND significantly."""
    verdicts = []
    for pair in pairs:
        head = f"{pair.candidate} vs {pair.reference} on {pair.task}"
        if pair.difference is None:
            verdicts.append(AccuracyDrop(pair.task, pair.reference, pair.candidate, spec.threshold_pp,
                                         "inconclusive", f"{head}: {pair.reason or 'no shared answers'}"))
            continue
        diff_pp = pair.difference * 100
        p = one_sided_drop_p(pair.only_reference, pair.only_candidate)
        big = diff_pp < -spec.threshold_pp
        significant = p is not None and p < alpha
        p_text = "no discordant pairs" if p is None else f"one-sided p = {p:.3g}"
        if big and significant:
            status, why = "dropped", f"accuracy {diff_pp:+.1f} pp (more than -{spec.threshold_pp:g} pp), {p_text}"
        elif big:
            status, why = "inconclusive", f"accuracy {diff_pp:+.1f} pp but not significant ({p_text}, n={pair.n})"
        else:
            status, why = "ok", f"accuracy {diff_pp:+.1f} pp (limit -{spec.threshold_pp:g} pp), {p_text}"
        verdicts.append(AccuracyDrop(pair.task, pair.reference, pair.candidate, spec.threshold_pp, status,
                                     f"{head}: {why}", diff_pp, p))
    return verdicts


@dataclass
class TaskComparison:
    """Everything ``compare --by task`` shows."""

    rows: list[EfficiencyRow]
    paired: list[PairedAccuracy]
    tradeoffs: list[TradeoffRow]
    gate: list[AccuracyDrop] = field(default_factory=list)
