"""Rendering of a run's summary to any object with ``write_line`` (pytest's terminal
reporter, or :class:`PrintWriter` for the command line). Pure: no pytest, no files.
"""

from __future__ import annotations

import textwrap
from typing import Any, Sequence

from tabulate import tabulate

from ..results.metrics import METRICS, record_values
from ..results.records import ModelRun
from ..medians import median_or_none
from ..stats.binary import wilson_interval
from ..number_format import accuracy, num
from .writer import LineWriter
from ..energy.units import J_PER_KWH

# The statistics modules import scipy.stats (~60 MB resident, ~0.7 s): imported when a summary is
# rendered, not when pytest loads the plugin, so a run's peak memory and start-up do not pay for them.


fmt = num  # the one number format (number_format.num)


def energy_header(runs: Sequence[ModelRun]) -> tuple[str, str]:
    from ..stats.build import energy_header as header

    return header(runs)


def provenance_sentence(runs: Sequence[ModelRun]) -> str:
    """Says in words how the energy figures were obtained; estimates are never called measurements."""
    return energy_header(runs)[1]


def _metric_median(run: ModelRun, name: str) -> float | None:
    return median_or_none(record_values(run.records, METRICS[name]).values())


WEIGHT_NOTES = {
    "untrained": "a tiny model never trained: its cost is real, its answers are not",
    "random": "random weights: cost only (real architecture, meaningless answers)",
}


def _accuracy(run: ModelRun) -> str:
    verdicts = [bool(r.scores["correct"]) for r in run.records
                if r.scores and r.scores.get("correct") is not None and r.outcome != "error"]
    if not verdicts:
        return "-"
    low, high = wilson_interval(sum(verdicts), len(verdicts))
    return accuracy(sum(verdicts), len(verdicts), low, high)


def render_brief(runs: Sequence[ModelRun], writer: LineWriter) -> None:
    """One line per model: what most users want after a run."""
    rows = []
    for run in runs:
        errors = sum(1 for r in run.records if r.outcome == "error")
        rows.append([
            run.alias,
            f"{len(run.records)}" + (f" ({errors} err)" if errors else ""),
            fmt(_metric_median(run, "energy")),
            fmt(_metric_median(run, "latency")),
            fmt(median_or_none(float(r.tokens_output) for r in run.records)),
            _accuracy(run),
            {"measured": "measured", "estimated": "estimated", "mixed": "mixed"}.get(run.energy_provenance, "none"),
            run.info.weights,
        ])
    _write_table(writer, rows, ["model", "n", "J/q", "s/q", "out tok", "correct", "energy", "weights"])
    for weights in sorted({run.info.weights for run in runs} & set(WEIGHT_NOTES)):
        writer.write_line(f"{weights}: {WEIGHT_NOTES[weights]}.")


def _write_table(writer: LineWriter, rows: list[list[Any]], headers: list[str]) -> None:
    for line in tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True).splitlines():
        writer.write_line(line)


def render_model_table(runs: Sequence[ModelRun], writer: LineWriter) -> None:
    """The full per-model tables: medians per query, then what loading and idling cost."""
    _write_table(writer, [[
        run.alias,
        len(run.records),
        fmt(_metric_median(run, "energy")),
        fmt(_metric_median(run, "latency")),
        fmt(_metric_median(run, "ttft")),
        fmt(median_or_none(float(r.tokens_input) for r in run.records)),
        fmt(_metric_median(run, "tokens")),
        fmt(_metric_median(run, "emissions")),
    ] for run in runs], ["model", "n", "J/q", "s/q", "TTFT s", "in tok", "out tok", "gCO2e/q"])
    writer.write_line("")
    rows = []
    for run in runs:
        load = run.loads[0] if run.loads else None
        load_kwh = load.energy.total_kwh if load and load.energy else None
        rows.append([run.alias, fmt(load.duration_s if load else None),
                     fmt(None if load_kwh is None else load_kwh * J_PER_KWH),
                     fmt(load.peak_rss_mb if load else None), fmt(run.idle.total_w if run.idle else None),
                     f"{run.info.device} {run.info.dtype}", fmt(run.info.parameters)])
    _write_table(writer, rows, ["model", "load s", "load J", "RSS MB", "idle W", "runs on", "params"])
    carbon = next((run.carbon for run in runs if run.carbon is not None), None)
    if carbon is not None:
        writer.write_line(
            f"Medians per query (J/q: joules, s/q: seconds). Emissions: energy x PUE {carbon.pue:g} x {carbon.intensity_g_per_kwh:.0f} g/kWh "
            f"({carbon.country_name}, {carbon.year}; {carbon.source}).")


def render_stability(runs: Sequence[ModelRun], writer: LineWriter) -> None:
    """Answer agreement across repeated rounds, said only when rounds were repeated."""
    from ..quality import stability_by_model

    for item in stability_by_model(runs):
        if item.queries == 0:
            continue
        share = "-" if item.mean_share_identical is None else f"{item.mean_share_identical:.0%}"
        writer.write_line(f"stability {item.model}: {share} of rounds give the modal answer over "
                          f"{item.queries} repeated queries" + (f"; {item.note}" if item.note else ""))


def meter_warnings(runs: Sequence[ModelRun]) -> list[str]:
    """Problems meters reported (zero or missing energy, windows shorter than a counter's
    resolution), counted per message: such records are kept, and flagged, never silently used."""
    counts: dict[str, int] = {}
    for run in runs:
        for message, count in run.facts.meter_warnings.items():   # gathered in the records' one pass
            counts[message] = counts.get(message, 0) + count
    return [f"Meter warning ({count} quer{'y' if count == 1 else 'ies'}): {message}"
            for message, count in sorted(counts.items(), key=lambda item: -item[1])]


def render_summary(runs: Sequence[ModelRun], writer: LineWriter, *, full: bool, metrics: Sequence[str],
                   alpha: float = 0.05, sequential: Sequence[str] | None = None) -> None:
    """The session summary: the energy provenance first, the full tables with ``full``, then one line per model.

    ``sequential``: a sequential run's verdict lines (render/sequential_lines.py), always shown; they
    replace the fixed-n statistics, whose p-values do not hold after stopping on the data."""
    from .perf_tables import render_performance
    from ..quality.efficiency import efficiency_rows
    from .efficiency_table import render_efficiency
    from .stats_tables import write_statistics
    from .workload_tables import has_breakdown, render_task_load_table

    for line in textwrap.wrap(provenance_sentence(runs), 100):
        writer.write_line(line)
    for line in meter_warnings(runs):
        writer.write_line(line)
    from . import verdicts   # issue 10: run order, background load, one measurement, repeatability

    trust = verdicts.trust_lines(runs, metrics)   # the same lines as `slm-energy compare`
    for line in trust.conditions:
        for part in textwrap.wrap(line, 100):
            writer.write_line(part)
    metrics = trust.metrics
    if full:
        writer.write_line("")
        render_model_table(runs, writer)
        writer.write_line("")
        render_performance(runs, writer)
        rows = [row for row in efficiency_rows(runs) if row.scored]
        if rows:
            writer.write_line("")
            render_efficiency(rows, writer)
        if any(run.info.adapter for run in runs):   # fine-tuned adapters with their bases: the trade-off
            from ..finetune.by_task import fine_tune_summary_lines

            for line in fine_tune_summary_lines(runs):
                writer.write_line(line)

        if has_breakdown(runs):   # workloads (issue 13): cost by task type and input load
            writer.write_line("")
            render_task_load_table(runs, writer)
        render_stability(runs, writer)
        for line in trust.spread + ([trust.same_note] if trust.same_note else []):
            for part in textwrap.wrap(line, 100):
                writer.write_line(part)
        if sequential is None:
            write_statistics(runs, metrics, writer, alpha=alpha, header=False)
        writer.write_line("")
    from .lm_eval_tables import lm_eval_lines   # lm-eval tasks (issue 22): shown whenever a run has them

    task_lines = lm_eval_lines(runs, alpha)
    for line in task_lines + ([""] if task_lines else []):
        writer.write_line(line)
    for line in sequential or ():
        writer.write_line(line)
    render_brief(runs, writer)


def skipped_code_lines(skipped: dict[str, int]) -> list[str]:
    """One line per reason the code tasks could not run here (no OS confinement), with the count."""
    return [f"Skipped {count} code task{'s' if count != 1 else ''}: {reason}" for reason, count in skipped.items()]


def skipped_model_lines(skipped: dict[str, tuple[int, str]]) -> list[str]:
    """One line per model that could not be had here: how many tests it skipped, why, how to get it.

    Printed even when every model was skipped, so ``116 skipped`` never stands alone.
    """
    if not skipped:
        return []
    lines = [f"Skipped {len(skipped)} model{'s' if len(skipped) != 1 else ''} (not available here):"]
    for alias, (count, reason) in skipped.items():
        lines.append(f"  {alias} ({count} test{'s' if count != 1 else ''}): {reason}")
    return lines
