"""Write the tidy table (:mod:`.frame`) as CSV, JSON lines or Parquet, and read it back."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from ..errors import SlmEnergyError
from ..spreadsheet import from_spreadsheet_safe, spreadsheet_safe

FORMATS = ("csv", "parquet", "jsonl")  # also in commands/export.py (kept light)
def _text_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that may hold text (object, string or categorical): numbers, also negative ones, stay numbers."""
    return [name for name in frame.columns if not pd.api.types.is_numeric_dtype(frame[name])]


def export_frame(frame: pd.DataFrame, fmt: str, path: Path | None = None) -> str | None:
    """Write ``frame`` to ``path`` (or return it as text for csv/jsonl when ``path`` is None)."""
    if fmt not in FORMATS:
        raise SlmEnergyError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "parquet":
        if path is None:
            raise SlmEnergyError("parquet is a binary format: give -o FILE")
        frame.to_parquet(path, index=False)
        return None
    buffer = io.StringIO()
    if fmt == "csv":
        safe = frame.copy()
        for name in _text_columns(safe):   # numbers (also negative ones) stay numbers
            safe[name] = safe[name].map(spreadsheet_safe)
        safe.to_csv(buffer, index=False)
    else:
        frame.to_json(buffer, orient="records", lines=True, force_ascii=False, double_precision=15)
    text = buffer.getvalue()
    if path is None:
        return text
    path.write_text(text, encoding="utf-8")
    return None


def read_export(path: Path, fmt: str) -> pd.DataFrame:
    """Read a file written by :func:`export_frame` (for notebooks and the round-trip tests).

    Parquet and JSON lines keep each column's type; CSV has none, so pandas infers them
    (a text column whose values all look like numbers reads back as numbers), and the quote
    that kept a formula-like cell text (:func:`spreadsheet_safe`) is removed.
    """
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        frame = pd.read_csv(path, keep_default_na=True, low_memory=False)
        for name in _text_columns(frame):
            frame[name] = frame[name].map(from_spreadsheet_safe)
        return frame
    return pd.read_json(path, orient="records", lines=True, dtype=False)
