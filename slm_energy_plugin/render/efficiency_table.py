"""The efficiency-per-quality table (:mod:`slm_energy_plugin.quality.efficiency`'s rows) for a line writer."""

from __future__ import annotations

import textwrap
from typing import Sequence

from tabulate import tabulate

from ..number_format import accuracy, format_energy
from ..quality.efficiency import FEW_CORRECT, EfficiencyRow, efficiency_legend, stars_text
from .writer import WIDTH, LineWriter


def _accuracy_text(row: EfficiencyRow) -> str:
    if row.accuracy is None:
        return "not scored"
    return accuracy(row.correct, row.scored, row.ci_low, row.ci_high)


def _per_correct_text(row: EfficiencyRow) -> str:
    if row.correct == 0:
        return "no correct answers"
    if row.energy_per_correct_j is None:
        return "no energy figure"
    mark = "*" if row.correct < FEW_CORRECT else ""
    return format_energy(row.energy_per_correct_j) + mark + (" (chance)" if row.at_chance else "")


def render_efficiency(rows: Sequence[EfficiencyRow], writer: LineWriter, *, tablefmt: str = "simple",
                      unicode: bool = True) -> None:
    """Write the efficiency table and its legend, one line at a time."""
    if not rows:
        writer.write_line("efficiency per quality: no scored answers in this run")
        return
    # The energy column appears only when rows differ in provenance: the legend says it otherwise.
    mixed = len({r.provenance for r in rows}) > 1
    table = [[r.model, r.task, _accuracy_text(r), format_energy(r.energy_per_query_j), _per_correct_text(r),
              "-" if r.correct_per_kj is None else f"{r.correct_per_kj:.3g}",
              "at chance" if r.at_chance and r.correct else stars_text(r.stars, unicode),
              {True: "yes", False: "no", None: "-"}[r.pareto]] + ([r.provenance] if mixed else [])
             for r in rows]
    headers = ["model", "task", "right/n (accuracy [95% Wilson])", "per query", "per correct",
               "correct/kJ", "rating", "Pareto"] + (["energy"] if mixed else [])
    for line in tabulate(table, headers=headers, tablefmt=tablefmt, disable_numparse=True).splitlines():
        writer.write_line(line)
    for line in efficiency_legend(rows, unicode=unicode):   # prose: wrapped, as every legend
        for part in textwrap.wrap(line, WIDTH, subsequent_indent="  ", break_on_hyphens=False) or [""]:
            writer.write_line(part)
