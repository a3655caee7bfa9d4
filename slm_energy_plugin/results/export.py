"""Write the tidy table (:mod:`.frame`) as CSV, JSON lines or Parquet, and read it back."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from ..errors import SlmEnergyError

FORMATS = ("csv", "parquet", "jsonl")  # also in commands/export.py (kept light)


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
        frame.to_csv(buffer, index=False)
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
    (a text column whose values all look like numbers reads back as numbers).
    """
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path, keep_default_na=True, low_memory=False)
    return pd.read_json(path, orient="records", lines=True, dtype=False)
