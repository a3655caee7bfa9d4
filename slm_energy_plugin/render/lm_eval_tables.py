"""The lm-eval tasks' tables (issue 22): aggregates per task and model, then paired statistics per task.

Pure: rows from :mod:`..quality.task_metrics`, lines to any ``write_line`` writer; the session
summary and ``slm-energy compare`` print the same lines. The one exception: a corpus-level metric
(BLEU, perplexity) needs lm-eval's own aggregation function, reached through the bridge
(``workload/lm_eval.py``) only when a run has one.
"""

from __future__ import annotations

import textwrap
from typing import Any, Sequence

from tabulate import tabulate

from ..errors import ConfigError
from ..quality.task_metrics import MEAN_CI, CorpusAggregate, TaskAggregate, TaskPair, task_aggregates, task_pairs
from ..results.records import ModelRun
from ..number_format import num, pval
from .writer import WIDTH, LineWriter


def _value(row: TaskAggregate) -> str:
    if row.value is None:
        return f"({row.aggregation}: corpus-level, see lm_eval)" if row.aggregation else "-"
    if row.aggregation not in (None, "mean"):
        return f"{row.value:.3f} ({row.aggregation}, corpus)"   # lm-eval's function over all documents
    interval = "" if row.ci_low is None or row.ci_high is None else f" [{row.ci_low:.3f}, {row.ci_high:.3f}]"
    return f"{row.value:.3f}{interval}"


def lm_eval_corpus_aggregate(aggregation: str, values: list[Any]) -> float | None:
    """lm-eval's own aggregation function over the documents' values, through the bridge (the one
    importer of lm-eval), imported only when a run has a corpus-level metric to show. Without the
    [lm-eval] extra the value stays "see lm_eval"."""
    try:
        from ..workload.lm_eval import corpus_aggregate
    except (ConfigError, ImportError):
        return None
    return corpus_aggregate(aggregation, values)


def _pair_accuracy(pair: TaskPair, alpha: float) -> str:
    acc = pair.accuracy
    if acc is None or acc.difference is None:
        return "-"
    interval = "" if acc.ci_low is None or acc.ci_high is None else f" [{acc.ci_low * 100:+.1f}, {acc.ci_high * 100:+.1f}]"
    return f"{acc.difference * 100:+.1f} pp{interval} McNemar p={pval(acc.p_value, alpha)}"


def _pair_energy(pair: TaskPair, alpha: float) -> str:
    energy = pair.energy
    if energy is None:
        return "-"
    shift = energy.shift
    wilcoxon = energy.wilcoxon
    p = None if wilcoxon is None else wilcoxon.p_value
    if shift is None or shift.estimate is None:
        reason = (shift.reason if shift is not None else None) or (wilcoxon.reason if wilcoxon else None) or "-"
        return f"not computed - {reason}"
    # The shift is a over b; the table reads "second vs first": b / a.
    if shift.kind == "ratio":
        low = None if shift.high is None else 1.0 / shift.high
        high = None if shift.low is None else 1.0 / shift.low
        return f"{num(1.0 / shift.estimate)}x [{num(low)}, {num(high)}] Wilcoxon p={pval(p, alpha)}"
    return f"{num(-shift.estimate)} J Wilcoxon p={pval(p, alpha)}"


def lm_eval_lines(runs: Sequence[ModelRun], alpha: float = 0.05,
                  corpus: CorpusAggregate | None = lm_eval_corpus_aggregate) -> list[str]:
    rows = task_aggregates(runs, corpus)
    if not rows:
        return []
    lines = textwrap.wrap("lm-eval tasks: each task's primary metric per model (lm-eval's aggregate over the "
                          f"documents; 95% CI: {MEAN_CI}; a corpus-level metric such as BLEU or perplexity is "
                          "lm-eval's own function over all documents, without an interval), energy per document "
                          "(all of its requests, one window) and per correct answer", WIDTH)
    table = [[r.task, r.model, r.metric, str(r.n), _value(r), num(r.energy_per_doc_j), num(r.energy_per_correct_j),
              r.provenance] for r in rows]
    lines += tabulate(table, headers=["task", "model", "metric", "docs", "aggregate [95% CI]", "J/doc",
                                      "J/correct", "energy"], disable_numparse=True).splitlines()
    pairs = task_pairs(runs, alpha)
    if pairs:
        lines += [""] + textwrap.wrap(
            "lm-eval tasks, paired on the documents both models answered (second model vs first): right/wrong "
            "difference with Newcombe's 95% interval and McNemar's test; energy per document as a Hodges-Lehmann "
            "ratio (log scale) with its 95% CI and the Wilcoxon signed-rank test", WIDTH)
        table = [[p.task, f"{p.b} vs {p.a}", str(p.n), _pair_accuracy(p, alpha), _pair_energy(p, alpha)]
                 for p in pairs]
        lines += tabulate(table, headers=["task", "pair", "docs", "accuracy difference", "energy per document"],
                          disable_numparse=True).splitlines()
    return lines


def render_lm_eval(runs: Sequence[ModelRun], writer: LineWriter, alpha: float = 0.05) -> None:
    for line in lm_eval_lines(runs, alpha):
        writer.write_line(line)
