"""lm-eval tasks in a run: each task's aggregate per model with a 95 % CI, energy per document and
per correct answer, and the paired statistics per task (issue 22).

Pure (numpy/scipy through the project's statistics; no lm-eval, no I/O): reads the ``extra.lm_eval``
block the bridge writes on each record (workload/lm_eval.py). The aggregate is the task's primary
metric (its first metric, first filter) over the documents. For lm-eval's ``mean`` aggregation
(acc, acc_norm, exact_match, ...) that is the mean of the documents' values, which is lm-eval's own
number; its interval is Wilson's for right/wrong values and a t interval (lm-eval's stderr, the
sample standard deviation / sqrt n) otherwise. Corpus-level aggregations (bleu, perplexity, ...)
are lm-eval's own functions over all documents' recorded values, given by the caller as ``corpus``
(the bridge's ``corpus_aggregate``: this module does not import lm-eval); without it, or for an
aggregation lm-eval does not register, the value is left to ``lm_eval`` and said so. They have no
interval here (lm-eval bootstraps one).

Paired per task, on the documents both models answered: McNemar with Newcombe's interval for
right/wrong metrics (stats.paired_accuracy), and Wilcoxon signed-rank with the
Hodges-Lehmann ratio on log energy per document (stats.core.compare_models).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Callable, Sequence

from ..energy.units import J_PER_KWH
from ..results.records import COUNTED_OUTCOMES, ModelRun, QueryRecord, combine_provenance
from ..stats.binary import wilson_interval
from ..stats.paired_accuracy import PairedAccuracy, paired_accuracy

MEAN_CI = "Wilson score (right/wrong), else mean +- t(0.975, n-1) x sd / sqrt(n)"
# lm-eval's aggregation by name over the documents' values (None: not computable here).
CorpusAggregate = Callable[[str, list[Any]], "float | None"]


@dataclass(frozen=True)
class TaskAggregate:
    task: str
    model: str
    metric: str                          # lm-eval's "metric,filter" key
    aggregation: str | None              # lm-eval's aggregation name ("mean", "perplexity", ...)
    n: int                               # documents with a value
    value: float | None                  # the task's aggregate (None: corpus-level, see lm_eval)
    ci_low: float | None
    ci_high: float | None
    binary: bool
    correct: int | None                  # right answers, when the metric is right/wrong
    energy_per_doc_j: float | None       # mean over documents with an energy figure
    energy_per_correct_j: float | None
    provenance: str


@dataclass(frozen=True)
class TaskPair:
    task: str
    a: str
    b: str
    n: int                               # documents both answered
    accuracy: PairedAccuracy | None = None  # b - a, right/wrong metrics
    energy: Any = None                   # stats.core.PairComparison on energy per document (a vs b)


def lm_eval_block(record: QueryRecord) -> dict[str, Any] | None:
    block = (record.extra or {}).get("lm_eval")
    return block if isinstance(block, dict) else None


def has_lm_eval(runs: Sequence[ModelRun]) -> bool:
    return any(lm_eval_block(r) is not None for run in runs for r in run.records)


def _by_task(run: ModelRun) -> dict[str, list[QueryRecord]]:
    found: dict[str, list[QueryRecord]] = {}
    for record in run.records:
        block = lm_eval_block(record)
        if block is not None and record.outcome in COUNTED_OUTCOMES:
            found.setdefault(str(block.get("task")), []).append(record)
    return found


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float | None, float | None]:
    """t interval of a mean (lm-eval's stderr: sample sd / sqrt n); (None, None) below 2 values."""
    from scipy import stats as sps

    n = len(values)
    if n < 2:
        return None, None
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def _aggregate(task: str, model: str, records: list[QueryRecord], corpus: CorpusAggregate | None) -> TaskAggregate:
    first = lm_eval_block(records[0]) or {}
    metric = str(first.get("primary"))
    info = (first.get("metric_info") or {}).get(metric.split(",", 1)[0]) or {}
    aggregation = info.get("aggregation")
    raw = [(lm_eval_block(r) or {}).get("metrics", {}).get(metric) for r in records]
    values = [v for v in map(_number, raw) if v is not None]
    binary = bool(values) and all(v in (0.0, 1.0) for v in values)
    value = low = high = None
    correct = int(sum(values)) if binary else None
    n = len(values)
    if aggregation == "mean" and values:
        value = sum(values) / len(values)
        low, high = wilson_interval(int(sum(values)), len(values)) if binary else mean_interval(values)
    elif aggregation and corpus is not None:
        # A corpus-level metric: per-document values are pieces (a reference and a prediction, a
        # log-likelihood and a word count) that only lm-eval's function turns into the number.
        items = [v for v in raw if v is not None]
        n = len(items)
        value = corpus(str(aggregation), items) if items else None
    energies = [r.energy_kwh * J_PER_KWH for r in records if r.energy_kwh is not None]
    per_doc = sum(energies) / len(energies) if energies else None
    per_correct = per_doc / value if per_doc is not None and binary and value else None
    provenance = combine_provenance(r.energy.provenance for r in records if r.energy is not None)
    return TaskAggregate(task, model, metric, aggregation, n, value, low, high, binary, correct,
                         per_doc, per_correct, provenance)


def task_aggregates(runs: Sequence[ModelRun], corpus: CorpusAggregate | None = None) -> list[TaskAggregate]:
    """One row per (task, model), tasks in first-seen order, models in run order; ``corpus``
    computes corpus-level aggregations (see the module's text)."""
    rows: dict[tuple[str, str], TaskAggregate] = {}
    order: list[str] = []
    for run in runs:
        for task, records in _by_task(run).items():
            if task not in order:
                order.append(task)
            rows[(task, run.alias)] = _aggregate(task, run.alias, records, corpus)
    return [rows[(task, run.alias)] for task in order for run in runs if (task, run.alias) in rows]


def task_pairs(runs: Sequence[ModelRun], alpha: float = 0.05) -> list[TaskPair]:
    """Each pair of models on each task's shared documents (models in run order, b against a)."""
    from ..stats.core import compare_models

    by_model = {run.alias: _by_task(run) for run in runs}
    tasks = list(dict.fromkeys(task for per_task in by_model.values() for task in per_task))
    pairs: list[TaskPair] = []
    for task in tasks:
        models = [alias for alias in by_model if task in by_model[alias]]
        for a, b in combinations(models, 2):
            recs_a = {r.query_id: r for r in by_model[a][task]}
            recs_b = {r.query_id: r for r in by_model[b][task]}
            shared = recs_a.keys() & recs_b.keys()
            right_a = {q: 1.0 if r.scores.get("correct") else 0.0 for q, r in recs_a.items()
                       if r.scores and r.scores.get("correct") is not None}
            right_b = {q: 1.0 if r.scores.get("correct") else 0.0 for q, r in recs_b.items()
                       if r.scores and r.scores.get("correct") is not None}
            accuracy = paired_accuracy(task, a, right_a, b, right_b, alpha) if right_a and right_b else None
            energy_a = {q: r.energy_kwh * J_PER_KWH for q, r in recs_a.items() if r.energy_kwh is not None}
            energy_b = {q: r.energy_kwh * J_PER_KWH for q, r in recs_b.items() if r.energy_kwh is not None}
            energy = None
            if energy_a and energy_b:
                energy = compare_models({a: energy_a, b: energy_b}, alpha=alpha).pair(a, b)
            pairs.append(TaskPair(task, a, b, len(shared), accuracy, energy))
    return pairs
