"""Rendering of a run's summary to any object with ``write_line`` (pytest's terminal
reporter, or :class:`PrintWriter` for the command line). Pure: no pytest, no files.
"""

from __future__ import annotations

import statistics
from typing import Any, Iterable, Protocol, Sequence

from tabulate import tabulate

from .metrics import METRICS, record_values
from .records import ModelRun, summarize_provenance


class LineWriter(Protocol):
    def write_line(self, line: str, **markup: Any) -> None: ...


class PrintWriter:
    """``write_line`` onto stdout (or a list, for tests)."""

    def __init__(self, sink: list[str] | None = None) -> None:
        self.sink = sink

    def write_line(self, line: str, **markup: Any) -> None:
        if self.sink is not None:
            self.sink.append(line)
        else:
            print(line)


def _median(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 3) -> str:
    """Compact significant-figure formatting that keeps tiny energies readable."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000 or magnitude < 0.001:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def provenance_sentence(runs: Sequence[ModelRun]) -> str:
    """Says in words how the energy figures were obtained; estimates are never called measurements."""
    kind = summarize_provenance(runs)
    methods = sorted({f"{component}: {method}"
                      for run in runs for record in run.records if record.energy is not None
                      for component, method in record.energy.methods.items()
                      if method not in {"absent"}})
    detail = f" ({', '.join(methods)})" if methods else ""
    if kind == "measured":
        return f"Energy: MEASURED by hardware counters{detail}."
    if kind == "estimated":
        return (f"Energy: ESTIMATED, not measured: no hardware energy counters were used{detail}. "
                "Treat energy and emissions as model-based estimates.")
    if kind == "mixed":
        return f"Energy: MIXED: some components measured by counters, others estimated{detail}."
    return "Energy: not measured (null meter); time and tokens only."


def _metric_median(run: ModelRun, name: str) -> float | None:
    return _median(record_values(run.records, METRICS[name]).values())


def _outcomes(run: ModelRun) -> str:
    counts = {o: sum(1 for r in run.records if r.outcome == o) for o in ("passed", "failed", "error")}
    return "/".join(str(counts[o]) for o in ("passed", "failed", "error"))


WEIGHT_NOTES = {
    "untrained": "untrained tiny model: its cost is real, its answers are not",
    "random": "random weights: cost only (real architecture, meaningless answers)",
}


def render_brief(runs: Sequence[ModelRun], writer: LineWriter) -> None:
    """One line per model: what most users want after a run."""
    writer.write_line(provenance_sentence(runs))
    rows = []
    for run in runs:
        errors = sum(1 for r in run.records if r.outcome == "error")
        rows.append([
            run.alias,
            f"{len(run.records)}" + (f" ({errors} err)" if errors else ""),
            fmt(_metric_median(run, "energy")),
            fmt(_metric_median(run, "latency")),
            fmt(_median(float(r.tokens_output) for r in run.records)),
            {"measured": "measured", "estimated": "estimated", "mixed": "mixed"}.get(run.energy_provenance, "none"),
            run.info.weights,
        ])
    _write_table(writer, rows, ["model", "queries", "J/q", "s/q", "tok out", "energy", "weights"])
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
        fmt(_median(float(r.tokens_input) for r in run.records)),
        fmt(_metric_median(run, "tokens")),
        fmt(_metric_median(run, "emissions")),
    ] for run in runs], ["model", "n", "J/q", "s/q", "TTFT s", "in tok", "out tok", "gCO2e/q"])
    writer.write_line("")
    rows = []
    for run in runs:
        load = run.loads[0] if run.loads else None
        load_kwh = load.energy.total_kwh if load and load.energy else None
        rows.append([run.alias, fmt(load.duration_s if load else None),
                     fmt(None if load_kwh is None else load_kwh * 3.6e6),
                     fmt(load.peak_rss_mb if load else None), fmt(run.idle.total_w if run.idle else None),
                     f"{run.info.device} {run.info.dtype}", fmt(run.info.parameters)])
    _write_table(writer, rows, ["model", "load s", "load J", "RSS MB", "idle W", "runs on", "params"])
    carbon = next((run.carbon for run in runs if run.carbon is not None), None)
    if carbon is not None:
        writer.write_line(
            f"Medians per query (J/q: joules, s/q: seconds). Emissions: energy x PUE {carbon.pue:g} x {carbon.intensity_g_per_kwh:.0f} g/kWh "
            f"({carbon.country_name}, {carbon.year}; {carbon.source}).")
