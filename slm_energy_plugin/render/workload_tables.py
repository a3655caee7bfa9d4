"""Cost by task type and input load: one row per (model, task, load) with medians.

Pure: renders records to any ``write_line`` writer. Energy is the meter's figure per round
(its provenance is stated once by the summary's first line); J per 1k input tokens shows what
a longer prompt costs to read.
"""

from __future__ import annotations

from typing import Any, Sequence

from tabulate import tabulate

from ..energy.units import J_PER_KWH
from ..results.records import ModelRun
from ..medians import median_or_none
from ..number_format import num
from .writer import LineWriter


def _key(record: Any) -> tuple[str, str]:
    return record.task or "-", str(record.extra.get("load") or "-")


def has_breakdown(runs: Sequence[ModelRun]) -> bool:
    """Worth a table when a run has more than one task or any load."""
    keys = {_key(r) for run in runs for r in run.records}
    return len(keys) > 1 or any(load != "-" for _, load in keys)


def render_task_load_table(runs: Sequence[ModelRun], writer: LineWriter) -> None:
    rows = []
    for run in runs:
        groups: dict[tuple[str, str], list[Any]] = {}
        for record in run.records:
            groups.setdefault(_key(record), []).append(record)
        for (task, load), records in groups.items():
            energy = [r.energy_kwh * J_PER_KWH for r in records if r.energy_kwh is not None]
            per_k = [r.energy_kwh * J_PER_KWH * 1000 / r.tokens_input for r in records
                     if r.energy_kwh is not None and r.tokens_input]
            rows.append([run.alias, task, load, len(records),
                         num(median_or_none([float(r.tokens_input) for r in records])),
                         num(median_or_none([float(r.tokens_output) for r in records])),
                         num(median_or_none([r.duration_s for r in records])),
                         num(median_or_none(energy)), num(median_or_none(per_k))])
    writer.write_line("By task type and input load (medians per query)")
    for line in tabulate(rows, headers=["model", "task", "load", "n", "tokens in", "tokens out", "time s",
                                        "energy J", "J/1k in"], tablefmt="simple").splitlines():
        writer.write_line(line)
