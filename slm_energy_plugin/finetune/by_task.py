"""``slm-energy compare --by task``: per-task accuracy, paired differences, the trade-off table.

Glue between the model files, the adapters' ``training.json`` files (read here: the only
I/O), the pure builders in :mod:`.tradeoff` and a text rendering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from tabulate import tabulate

from ..quality.efficiency import efficiency_rows
from ..results.records import ModelRun
from .report import FILE_NAME
from ..number_format import accuracy, format_energy
from ..stats.paired_accuracy import CI_METHOD, PairedAccuracy
from .tradeoff import (GATE_TEST, AccuracyGateSpec, TaskComparison, accuracy_drops, adapter_pairs, paired_by_task,
                       tradeoff_rows)


def training_energy(runs: Sequence[ModelRun]) -> dict[str, tuple[float | None, str]]:
    """Tuned alias -> (training kWh, provenance), from ``training.json`` beside each adapter."""
    found: dict[str, tuple[float | None, str]] = {}
    for run in runs:
        folder = run.info.adapter.get("path") if run.info.adapter else None
        if not folder:
            continue
        try:
            data: Any = json.loads((Path(str(folder)) / FILE_NAME).read_text(encoding="utf-8"))
            energy = data["energy"]
            kwh = energy.get("training_kwh")
            found[run.alias] = (float(kwh) if kwh is not None else None, str(energy.get("provenance", "none")))
        except (OSError, ValueError, KeyError, TypeError):
            found[run.alias] = (None, "none")   # moved or foreign adapter: the table says "unknown"
    return found


def build_task_comparison(runs: Sequence[ModelRun], alpha: float = 0.05,
                          gate: AccuracyGateSpec | None = None,
                          baseline: Sequence[ModelRun] | None = None,
                          training: Mapping[str, tuple[float | None, str]] | None = None) -> TaskComparison:
    rows = efficiency_rows(runs)
    paired = [p for base, tuned in adapter_pairs(runs) for p in paired_by_task(base, tuned, alpha)]
    tradeoffs = tradeoff_rows(runs, rows, training if training is not None else training_energy(runs), alpha=alpha)
    verdicts = []
    if gate is not None:
        if baseline:   # each model against the same alias in the saved run
            by_alias = {run.alias: run for run in baseline}
            gated = [p for run in runs if run.alias in by_alias for p in paired_by_task(by_alias[run.alias], run, alpha)]
        else:          # each fine-tuned model against its base in this run: a forgetting check
            gated = paired
        verdicts = accuracy_drops(gated, gate, alpha)
    return TaskComparison(rows=rows, paired=paired, tradeoffs=tradeoffs, gate=verdicts)


def _pp(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}"


def _pair_cell(pair: PairedAccuracy | None) -> str:
    if pair is None or pair.difference is None:
        return "-"
    p = "-" if pair.p_value is None else f"{pair.p_value:.3g}"
    return f"{_pp(pair.difference)} pp [{_pp(pair.ci_low)}, {_pp(pair.ci_high)}] p={p}"


def render_task_comparison(result: TaskComparison, *, accuracy_table: bool = True) -> list[str]:
    lines: list[str] = []
    if accuracy_table:
        lines.append("Accuracy per task (95% Wilson CI), energy per query and per correct answer")
        table = [[r.task, r.model, r.scored, accuracy(r.correct, r.scored, r.ci_low, r.ci_high),
                  format_energy(r.energy_per_query_j), format_energy(r.energy_per_correct_j), r.provenance]
                 for r in sorted(result.rows, key=lambda r: (r.task, r.model))]
        lines += tabulate(table, headers=["task", "model", "n", "right/n (accuracy [95% Wilson])", "per query",
                                          "per correct", "energy"],
                          disable_numparse=True).splitlines()
    if result.paired:
        lines += ["", f"Paired difference per task (fine-tuned - base, percentage points; CI: {CI_METHOD}; "
                      "McNemar two-sided, exact binomial below 25 discordant pairs)"]
        table = [[p.task, p.candidate, p.reference, p.n, f"{p.only_candidate}/{p.only_reference}",
                  _pp(p.difference), f"[{_pp(p.ci_low)}, {_pp(p.ci_high)}]",
                  "-" if p.p_value is None else f"{p.p_value:.3g}", p.test if p.p_value is not None else p.reason]
                 for p in result.paired]
        lines += tabulate(table, headers=["task", "model", "vs", "n", "gained/lost", "diff pp", "95% CI", "p",
                                          "test"], disable_numparse=True).splitlines()
    if result.tradeoffs:
        lines += ["", "Trade-off (training energy from training.json beside the adapter)"]
        table = []
        for t in result.tradeoffs:
            others = "; ".join(f"{p.task} {_pair_cell(p)}" for p in t.other_tasks) or "-"
            kwh = "unknown" if t.training_kwh is None else f"{t.training_kwh:.3g} kWh ({t.training_provenance})"
            table.append([t.tuned, t.base, f"{t.target_task} {_pair_cell(t.gain)}", others, kwh, t.break_even.text])
        lines += tabulate(table, headers=["fine-tuned", "base", "gain", "other tasks", "training", "break-even"],
                          disable_numparse=True).splitlines()
        lines.append("Break-even: training energy / (base - fine-tuned energy per correct answer on the target task),"
                     " in queries to the fine-tuned model.")
    if result.gate:
        failed = [v for v in result.gate if v.failed]
        lines += ["", f"Quality gate ({GATE_TEST}): {'FAILED' if failed else 'passed'}"]
        lines += [f"  {v.status.upper()}: {v.reason}" for v in result.gate]
    return lines


def task_comparison_dict(result: TaskComparison) -> dict[str, Any]:
    def pair(p: PairedAccuracy | None) -> dict[str, Any] | None:
        return None if p is None else dict(p.__dict__)
    return {
        "rows": [r.to_dict() for r in result.rows],
        "paired": [pair(p) for p in result.paired],
        "paired_ci": CI_METHOD,
        "tradeoffs": [{"base": t.base, "tuned": t.tuned, "target_task": t.target_task, "gain": pair(t.gain),
                       "other_tasks": [pair(p) for p in t.other_tasks], "training_kwh": t.training_kwh,
                       "training_provenance": t.training_provenance, "break_even_queries": t.break_even.queries,
                       "break_even": t.break_even.text} for t in result.tradeoffs],
        "gate": [dict(v.__dict__) for v in result.gate],
    }


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(value, default=str)   # one cell: a CSV has no nesting
    else:
        out[prefix] = value


def task_comparison_csv(result: TaskComparison) -> str:
    """The comparison as one long CSV: a ``table`` column (accuracy, paired, tradeoff, gate) and the
    fields of each table's rows (nested ones dotted, lists as JSON text), so a spreadsheet filters by table."""
    import csv
    import io

    data = task_comparison_dict(result)
    rows: list[dict[str, Any]] = []
    for table, key in (("accuracy", "rows"), ("paired", "paired"), ("tradeoff", "tradeoffs"), ("gate", "gate")):
        for item in data[key]:
            flat: dict[str, Any] = {"table": table}
            _flat("", item, flat)
            if table == "paired":
                flat["ci_method"] = data["paired_ci"]
            rows.append(flat)
    columns: dict[str, None] = {"table": None}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def fine_tune_summary_lines(runs: Sequence[ModelRun]) -> list[str]:
    """The paired and trade-off tables for the ``--energy-report`` summary (its efficiency table already
    shows accuracy per task). Never raises: the terminal summary must not break the run."""
    try:
        result = build_task_comparison(runs)
    except Exception as exc:  # noqa: BLE001 - a summary line instead of a broken session
        return ["", f"Fine-tuning trade-off not shown: {type(exc).__name__}: {exc}"]
    if not result.paired:
        return []
    return render_task_comparison(result, accuracy_table=False)
