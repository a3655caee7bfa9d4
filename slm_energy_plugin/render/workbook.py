"""The math benchmark's Excel workbook (openpyxl): a summary sheet, then one sheet per model's records."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from ..results.records import ModelRun
from ..results.seed_exports import RECORD_COLUMNS, SUMMARY_COLUMNS, record_row, summary_row

SUMMARY_SHEET = "summary"
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")
MAX_SHEET_NAME = 31   # Excel's limit


def sheet_names(aliases: Sequence[str]) -> list[str]:
    """Excel-safe, unique sheet names (at most 31 characters, none of []:*?/\\), in model order."""
    names: list[str] = []
    taken = {SUMMARY_SHEET}
    for alias in aliases:
        base = _SHEET_UNSAFE.sub("-", alias)[:MAX_SHEET_NAME] or "model"
        name, n = base, 2
        while name.lower() in {t.lower() for t in taken}:
            suffix = f"~{n}"
            name, n = base[:MAX_SHEET_NAME - len(suffix)] + suffix, n + 1
        taken.add(name)
        names.append(name)
    return names


def _cells(row: Sequence[Any]) -> list[Any]:
    """Strings without the control characters Excel's XML cannot hold (a model's answer may have them)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v for v in row]


def write_workbook(runs: Sequence[ModelRun], path: Path) -> list[str]:
    """Write the workbook; the sheet names, summary first."""
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    summary.title = SUMMARY_SHEET
    summary.append(list(SUMMARY_COLUMNS))
    for run in runs:
        summary.append(_cells(summary_row(run)))
    names = sheet_names([run.alias for run in runs])
    for run, name in zip(runs, names):
        sheet = book.create_sheet(name)
        sheet.append(list(RECORD_COLUMNS))
        for record in run.records:
            sheet.append(_cells(record_row(record)))
    for sheet in book.worksheets:
        sheet.freeze_panes = "A2"
    notes = book.create_sheet("units")
    notes.append(["field", "unit"])
    for field, unit in (("emissions", "kg CO2eq per generation"), ("energy", "kWh per generation"),
                        ("duration_s, ttft_s", "seconds"), ("energy_provenance", "measured / estimated / none")):
        notes.append([field, unit])
    book.save(path)
    return [SUMMARY_SHEET, *names]
