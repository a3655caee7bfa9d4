"""Readers for public leaderboard exports: LLM-Perf, Open LLM Leaderboard contents, price tables.

Columns are found by name, never by position: headers are normalised (Unicode NFKC, so
``CO₂`` reads ``co2``; emoji and other non-ASCII dropped; case and spacing folded) and
matched against the names each column has had across the exports' versions. Every table
says which header it used for each column, so an analysis can be traced to the file.
Cells that are not numbers become missing values and are counted, never guessed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import SlmEnergyError
from ..number_format import plural

LLM_PERF = "llm-perf"
OPEN_LLM = "open-llm"
PRICE = "price"
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")

# canonical column -> accepted normalised headers, most recent first.
_COMMON = {
    "params_b": ("params (b)", "#params (b)", "parameters (b)", "size (b)", "params_b", "parameters_b", "params"),
}
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    LLM_PERF: {
        "model": ("model", "model id", "model_id", "model name"),
        **_COMMON,
        "energy_tokens_per_kwh": ("energy (tokens/kwh)", "energy tokens/kwh", "energy_tokens_per_kwh"),
        "precision": ("precision", "dtype"),
        "quantization": ("quantization", "quantization scheme"),
        "backend": ("backend",),
        "hardware": ("hardware", "gpu", "machine"),
        "experiment": ("experiment", "experiment name"),
        "architecture": ("architecture", "arch"),
        "decode_tokens_per_s": ("decode (tokens/s)", "decode throughput (tokens/s)"),
    },
    OPEN_LLM: {
        # "Model" holds an HTML link in the published contents; "fullname" is the plain hub id.
        "model": ("fullname", "model", "model name", "eval_name"),
        **_COMMON,
        "co2_kg": ("co2 cost (kg)", "co2 cost", "co2_cost_kg", "co2 (kg)"),
        "chat_template": ("chat template", "chat_template"),
        "type": ("type", "model type"),
        "precision": ("precision",),
    },
    PRICE: {
        "model": ("model", "model id", "model name"),
        **_COMMON,
        "usd_per_1k_input": ("$ per 1k input tokens", "input $/1k tokens", "usd per 1k input tokens",
                             "input price per 1k tokens", "usd_per_1k_input", "price_input_per_1k"),
        "usd_per_1k_output": ("$ per 1k output tokens", "output $/1k tokens", "usd per 1k output tokens",
                              "output price per 1k tokens", "usd_per_1k_output", "price_output_per_1k"),
        # One price for every token, as the original analysis' price table had.
        "usd_per_1k": ("$ per 1k tokens", "$/1k tokens", "usd per 1k tokens", "price per 1k tokens",
                       "cost per 1k tokens", "cost ($/1k tokens)", "price ($/1k tokens)", "usd_per_1k"),
        "provider": ("provider", "vendor"),
    },
}
# The column that tells a file's kind; tried in this order.
SIGNATURE = ((LLM_PERF, "energy_tokens_per_kwh"), (OPEN_LLM, "co2_kg"), (PRICE, "usd_per_1k_output"),
             (PRICE, "usd_per_1k_input"), (PRICE, "usd_per_1k"))
NUMERIC = ("params_b", "energy_tokens_per_kwh", "decode_tokens_per_s", "co2_kg", "usd_per_1k_input",
           "usd_per_1k_output", "usd_per_1k")
REQUIRED = {LLM_PERF: ("model", "energy_tokens_per_kwh"), OPEN_LLM: ("model", "co2_kg"), PRICE: ()}

# Hardware named in LLM-Perf file names (llm-perf-leaderboard-1xA100.csv, ...-32vCPU-C7i.csv, the
# older input-A10.csv). Names are whole tokens: "gpt4" is not a T4, "xa100" is not an A100; a GPU
# count prefix ("1x", "2x") is read as a count: 1x is the plain name, 2xA100 stays 2xA100.
_B = r"(?<![a-z0-9])(?:(\d+)x)?"
_HARDWARE = ((re.compile(_B + r"a100(?![0-9])", re.I), "A100"), (re.compile(_B + r"a10g?(?![0-9])", re.I), "A10"),
             (re.compile(_B + r"h100(?![0-9])", re.I), "H100"), (re.compile(_B + r"l40s?(?![0-9])", re.I), "L40S"),
             (re.compile(_B + r"l4(?![0-9])", re.I), "L4"), (re.compile(_B + r"t4(?![0-9])", re.I), "T4"))
_CPU = ((re.compile(r"(?<![a-z0-9])(\d+)\s*[-_ ]?\s*vcpus?", re.I), "{0}vCPU"), (re.compile(r"cpu", re.I), "CPU"))
# The shipped files are invented; every output made from one says so.
SAMPLE_NOTE = "invented sample data"
OPEN_LLM_HARDWARE = "open-llm-eval"
PRICE_HARDWARE = "api-price"


def normalise_header(header: object) -> str:
    text = unicodedata.normalize("NFKC", str(header))
    text = text.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", text).strip().lower()


def hardware_from_name(name: str) -> str | None:
    for pattern, label in _HARDWARE:
        found = pattern.search(name)
        if found:
            count = found.group(1)
            return label if count in (None, "1") else f"{count}x{label}"
    for pattern, label in _CPU:
        found = pattern.search(name)
        if found:
            return label.format(*found.groups())
    return None


def is_sample_file(path: Path) -> bool:
    """One of the shipped invented samples: in the package's data/leaderboard, or a byte-for-byte copy
    of one under another name (``cp llm-perf-A10-sample.csv input-A10.csv`` is still invented)."""
    from ..paths import data_dir

    try:
        if path.resolve().parent == (data_dir() / "leaderboard").resolve():
            return True
        return path.stat().st_size in _sample_digests() and _digest(path) in _sample_digests()[path.stat().st_size]
    except OSError:
        return False


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=1)
def _sample_digests() -> dict[int, set[str]]:
    """size -> SHA-256 of each shipped sample table (sizes first, so most files are never hashed)."""
    from ..paths import data_dir

    digests: dict[int, set[str]] = {}
    folder = data_dir() / "leaderboard"
    for sample in sorted(folder.iterdir()) if folder.is_dir() else []:
        if is_table_file(sample):
            digests.setdefault(sample.stat().st_size, set()).add(_digest(sample))
    return digests


@dataclass(frozen=True)
class LeaderboardTable:
    """One file, its rows under canonical column names, and how they were read."""

    source: str
    kind: str
    hardware: str                       # LLM-Perf: per file; the others: a fixed label
    frame: pd.DataFrame                 # canonical columns only; numeric ones are floats (NaN = missing)
    columns_used: dict[str, str]        # canonical -> header as written in the file
    notes: tuple[str, ...] = field(default_factory=tuple)
    sample: bool = False                # one of the shipped invented samples

    @property
    def rows(self) -> int:
        return int(len(self.frame))


def read_frame(path: Path) -> pd.DataFrame:
    """The raw table of a CSV or Parquet file, or one clear error line."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            # Everything as text first: numeric parsing is ours, so bad cells are counted.
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if suffix in (".parquet", ".pq"):
            return _read_parquet(path)
    except FileNotFoundError:
        raise SlmEnergyError(f"{path}: no such file") from None
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SlmEnergyError(f"{path}: not a readable {suffix[1:]} table ({first})") from None
    raise SlmEnergyError(f"{path}: not a CSV or Parquet file")


def _read_parquet(path: Path) -> pd.DataFrame:
    """The file's own columns, read without the ``pandas`` key of its Arrow schema metadata.

    That key is free JSON that pandas trusts to rebuild an index and dtypes: a crafted or
    mismatched one (columns that are not there, a list where a name belongs) raises KeyError or
    TypeError deep inside pandas. The columns and their Arrow types are all a table needs.
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path, use_pandas_metadata=False)
    return table.replace_schema_metadata(None).to_pandas()


def detect_kind(headers: dict[str, str]) -> str | None:
    """The file's kind from its (normalised) headers, or None."""
    for kind, column in SIGNATURE:
        if any(alias in headers for alias in COLUMNS[kind][column]):
            return kind
    return None


def _to_number(series: pd.Series) -> tuple[pd.Series, int]:
    """Floats, and how many non-empty cells were not numbers (they become NaN)."""
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype(str).str.strip().str.replace(",", "", regex=False)
        empty = text.isin(("", "nan", "NaN", "None", "null", "-", "—"))
        numbers = pd.to_numeric(text.where(~empty), errors="coerce")
        bad = int((numbers.isna() & ~empty).sum())
        return numbers.astype(float), bad
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float), 0
    numbers = pd.to_numeric(series, errors="coerce")
    return numbers.astype(float), int((numbers.isna() & series.notna()).sum())


def to_table(raw: pd.DataFrame, source: str, hardware_hint: str | None = None,
             sample: bool = False) -> LeaderboardTable:
    """Canonical columns from a raw frame; the kind from its headers."""
    headers: dict[str, str] = {}
    for header in raw.columns:
        headers.setdefault(normalise_header(header), str(header))
    kind = detect_kind(headers)
    if kind is None:
        shown = ", ".join(list(map(str, raw.columns))[:8]) or "none"
        raise SlmEnergyError(
            f"{source}: not an LLM-Perf export, Open LLM Leaderboard contents or price table "
            f"(no energy, CO2 or price column; columns: {shown})")
    used: dict[str, str] = {}
    data: dict[str, pd.Series] = {}
    for canonical, aliases in COLUMNS[kind].items():
        for alias in aliases:
            if alias in headers:
                used[canonical] = headers[alias]
                data[canonical] = raw[headers[alias]]
                break
    missing = [c for c in REQUIRED[kind] if c not in used]
    if missing:
        raise SlmEnergyError(f"{source}: {kind} table without a {missing[0]!r} column")
    notes: list[str] = []
    frame = pd.DataFrame(data, index=raw.index)
    if "model" not in frame:
        # A price table of sizes and prices only: each row is its own point, named by its line.
        frame["model"] = [f"row {i + 2}" for i in range(len(frame))]
        notes.append("no model column: rows named by their line in the file")
    for column in NUMERIC:
        if column in frame:
            frame[column], bad = _to_number(frame[column])
            if bad:
                notes.append(f"{plural(bad, 'non-numeric cell')} in {used[column]!r} read as missing")
    for column in frame.columns:
        if column not in NUMERIC:
            frame[column] = frame[column].astype(str).str.strip()
    if "params_b" not in used:
        frame["params_b"] = float("nan")
        notes.append("no parameter column: every size is missing")
    hardware = _table_hardware(kind, frame, source, hardware_hint, notes)
    if "hardware" not in frame:
        frame["hardware"] = hardware
    return LeaderboardTable(source=source, kind=kind, hardware=hardware, frame=frame.reset_index(drop=True),
                            columns_used=used, notes=tuple(notes), sample=sample)


def _table_hardware(kind: str, frame: pd.DataFrame, source: str, hint: str | None, notes: list[str]) -> str:
    if kind == OPEN_LLM:
        return OPEN_LLM_HARDWARE
    if kind == PRICE:
        return PRICE_HARDWARE
    if hint is not None:
        # FILE=HARDWARE on the command line wins over a column and the file name.
        if "hardware" in frame:
            notes.append(f"hardware {hint!r} given as FILE=HARDWARE, over the file's hardware column")
        frame["hardware"] = hint
        return hint
    if "hardware" in frame:
        # A column wins over the file name; per-row hardware is mapped to the same labels.
        frame["hardware"] = [hardware_from_name(v) or v for v in frame["hardware"]]
        return "per row"
    found = hardware_from_name(Path(source).name)
    if found is None:
        # Labelled by the file, so two files of unknown hardware are never pooled into one fit.
        label = f"unknown ({Path(source).name})"
        notes.append(f"hardware neither in a column nor in the file name: fitted alone as {label!r}; "
                     "name it with FILE=HARDWARE (e.g. results.csv=A10)")
        return label
    return found


def read_table(path: Path, hardware: str | None = None) -> LeaderboardTable:
    """One file; ``hardware`` (from ``FILE=HARDWARE``) overrides the column and the file name."""
    table = to_table(read_frame(path), str(path), hardware, sample=is_sample_file(path))
    return table


def is_table_file(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES
