"""Runs as one tidy table (pandas): one row per query record and round.

Files are read by the project's one loader (:func:`slm_energy_plugin.results.storage.load_runs`,
which validates them and upgrades seed-format files); each :class:`ModelRun` is then
flattened from its own ``to_dict()``, so every field a results file holds becomes a column
and a field added to the records later appears here without a change.

Naming (what :func:`column_for` implements):

- a record's field keeps its JSON name (``duration_s``, ``tokens_output``, ``ttft_s``), a
  nested one its dotted path (``scores.correct``, ``extra.health.degenerate``), except the
  renames in ``RECORD_RENAMES`` that put the unit in the name (``emissions`` ->
  ``emissions_kg``) or say what a field is (``timestamp`` -> ``sequence``);
- a model file's field (the same for every row of that model) likewise, with the renames
  in ``MODEL_RENAMES`` (``alias`` -> ``model``, ``total_emissions`` ->
  ``model_total_emissions_kg``, ``extra.settings.*`` -> ``run_extra.settings.*``, ...);
- lists (warnings, notes, loads, per-round seconds) are JSON text, and a field whose values
  differ in type between records (``scores.extracted``: a number here, a text there) is
  text, so every column has one type and CSV, JSON lines and Parquet keep it alike; empty
  objects give no column.

Every derived or renamed column is listed in ``COLUMNS`` with its unit and meaning; the
others are the results file's own field names (units in the name: ``duration_s``,
``ttft_s``, ``net_energy_kwh``; the file's ``units.*`` columns give them per kind), with
the meaning :mod:`slm_energy_plugin.results.records` documents.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ..energy.reading import NO_FIGURE_METHODS, provenance
from .metrics import get_metric
from .record_columns import RecordColumns, record_columns
from .records import COUNTED_OUTCOMES, ModelRun, combine_provenance
from .storage import load_sources


@dataclass(frozen=True)
class Column:
    name: str
    unit: str          # "" for text, flags and identifiers
    meaning: str


# The columns with a name of their own (not a dotted JSON path), in frame order.
COLUMNS: tuple[Column, ...] = (
    # provenance of the row
    Column("run_id", "", "the run's id (run.json / every model file)"),
    Column("host", "", "machine.hostname of the machine the run measured on ('unknown' for seed files)"),
    Column("source_file", "", "the model file the row was read from"),
    Column("source_format", "", "'slm-energy', or 'seed' for an original SLM Green Benchmark file"),
    Column("energy_method", "", "how energy was obtained, per component, e.g. 'cpu=rapl,ram=rapl' "
           "(components without a figure left out); '' when there is no energy figure"),
    Column("estimated", "", "True when any component of the row's energy is an estimate, not a counter"),
    # identity of the row
    Column("model", "", "the model's alias (file name alias for seed files)"),
    Column("alias_in_file", "", "the alias as the model file gives it; 'model' differs only where equal aliases "
           "from different runs were told apart (gpt2@1, gpt2@2)"),
    Column("query_id", "", "the query's id (q001, ..., or a task case id)"),
    Column("round", "", "1-based round of the query (--energy-repeat); rounds share the record's per-round "
           "energy, which is the window's energy divided by the rounds"),
    Column("round_duration_s", "s", "this round's own generation time when it was recorded, else duration_s"),
    # derived figures (each from the project's metric of the same name in metrics.METRICS)
    Column("energy_j", "J", "energy per round (metric 'energy'); NaN without a figure"),
    Column("energy_per_token_j", "J/token", "energy per output token (metric 'energy_per_token')"),
    Column("latency_s", "s", "measured window per round (metric 'latency')"),
    Column("emissions_g", "g CO2eq", "emissions per round (metric 'emissions')"),
    Column("correct", "0/1", "1.0 right, 0.0 wrong, NaN not scored (metric 'correct')"),
    Column("score", "0-1", "the scorer's score (metric 'score')"),
    # a record's renamed fields
    Column("emissions_kg", "kg CO2eq", "per round: energy x PUE x grid intensity (the seed's 'emissions')"),
    Column("sequence", "", "order of completion within the model (the seed's 'timestamp')"),
    Column("query_started_at", "ISO 8601 UTC", "when the query's test started"),
    Column("energy_kwh", "kWh", "energy per round, all components (also energy.total_kwh)"),
    Column("energy_cpu_kwh", "kWh", "CPU part of energy_kwh"),
    Column("energy_gpu_kwh", "kWh", "GPU part of energy_kwh"),
    Column("energy_ram_kwh", "kWh", "RAM part of energy_kwh"),
    Column("energy_window_s", "s", "the energy window per round"),
    Column("energy_provenance", "", "measured / estimated / mixed / none, for this row's energy"),
    Column("energy_meter_name", "", "the meter that read this row's energy"),
    Column("energy_warnings", "JSON list", "problems the meter reported for this window"),
    # a model file's renamed fields
    Column("model_id", "", "hub id or local path of the model (the seed's 'model')"),
    Column("model_energy_provenance", "", "measured / estimated / mixed / none over the whole model"),
    Column("model_total_emissions_kg", "kg CO2eq", "the seed's total_emissions"),
    Column("model_total_queries", "", "the seed's total_queries"),
    Column("model_avg_emissions_per_query_kg", "kg CO2eq", "the seed's avg_emissions_per_query"),
    Column("model_total_time_s", "s", "the seed's total_time_s"),
    Column("model_avg_time_s_per_query", "s", "the seed's avg_time_s_per_query"),
    Column("run_started_at", "ISO 8601 UTC", "when the run started"),
    Column("run_finished_at", "ISO 8601 UTC", "when the run finished"),
    Column("run_status", "", "complete / interrupted / failed"),
    Column("loads", "JSON list", "model loads: duration_s, energy (kWh), emissions (kg CO2eq), peak_rss_mb"),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)

RECORD_RENAMES: dict[str, str] = {
    "emissions": "emissions_kg",
    "timestamp": "sequence",
    "started_at": "query_started_at",
    "energy.total_kwh": "energy_kwh",
    "energy.cpu_kwh": "energy_cpu_kwh",
    "energy.gpu_kwh": "energy_gpu_kwh",
    "energy.ram_kwh": "energy_ram_kwh",
    "energy.window_s": "energy_window_s",
    "energy.provenance": "energy_provenance",
    "energy.meter": "energy_meter_name",
    "energy.warnings": "energy_warnings",
}
MODEL_RENAMES: dict[str, str] = {
    "model": "model_id",
    "alias": "model",
    "energy_provenance": "model_energy_provenance",
    "total_emissions": "model_total_emissions_kg",
    "total_queries": "model_total_queries",
    "avg_emissions_per_query": "model_avg_emissions_per_query_kg",
    "total_time_s": "model_total_time_s",
    "avg_time_s_per_query": "model_avg_time_s_per_query",
    "started_at": "run_started_at",
    "finished_at": "run_finished_at",
    "status": "run_status",
}
_MODEL_PREFIX_RENAMES = {"extra": "run_extra"}   # a record has its own 'extra'
_DERIVED_METRICS = {  # column -> metric of metrics.METRICS
    "energy_j": "energy", "energy_per_token_j": "energy_per_token", "latency_s": "latency",
    "emissions_g": "emissions", "correct": "correct", "score": "score",
}


def column_for(path: Sequence[str], *, level: str) -> str:
    """The column of a JSON field at ``path`` in a record (``level='record'``) or model file."""
    dotted = ".".join(path)
    if level == "record":
        if tuple(path[:2]) == ("energy", "methods"):
            return "energy_method_" + ".".join(path[2:])
        return RECORD_RENAMES.get(dotted, dotted)
    if dotted in MODEL_RENAMES:
        return MODEL_RENAMES[dotted]
    head = _MODEL_PREFIX_RENAMES.get(path[0])
    return ".".join((head, *path[1:])) if head else dotted


def json_leaves(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every leaf: scalars, and lists as JSON text; empty objects give none."""
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            yield from json_leaves(value, path)
        elif isinstance(value, (list, tuple)):
            yield path, json.dumps(value, default=str, ensure_ascii=False)
        else:
            yield path, value


def _energy_method(methods: Mapping[str, str]) -> str:
    return ",".join(f"{c}={m}" for c, m in sorted(methods.items()) if m not in NO_FIGURE_METHODS)


def _label_table(label_sets: Sequence[Mapping[str, str] | None]) -> tuple[list[str], list[bool], set[str]]:
    """Each label set's energy_method and estimated flag (None, no reading: '' and False), and the
    provenances they give: all three depend on a record's method labels only, so they are worked
    out once per distinct set (see :attr:`.record_columns.RecordColumns.label_sets`)."""
    texts, estimated, found = [], [], set()
    for labels in label_sets:
        kind = "none" if labels is None else provenance(labels)
        if labels is not None:
            found.add(kind)
        texts.append("" if labels is None else _energy_method(labels))
        estimated.append(kind in ("estimated", "mixed"))
    return texts, estimated, found


_SEP = "\x1f"   # joins JSON path parts while flattening; no field name contains it


def _jsonable_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """List values as JSON text (see the naming rules)."""
    for name in frame.columns[frame.dtypes == object]:
        column = frame[name]
        if column.map(lambda v: isinstance(v, (list, tuple))).any():
            frame[name] = column.map(lambda v: json.dumps(list(v), default=str, ensure_ascii=False)
                                     if isinstance(v, (list, tuple)) else v)
    return frame


def _derived_columns(columns: RecordColumns) -> dict[str, np.ndarray]:
    """The derived metric columns (``_DERIVED_METRICS``) of a run's records."""
    return {column: columns.metrics[metric] for column, metric in _DERIVED_METRICS.items()}


def _run_frame(run: ModelRun, source: str, alias_in_file: str) -> pd.DataFrame:
    """One model's rows: its records flattened (one row per record and round) plus its file's fields."""
    whole = run.to_dict()
    records = pd.json_normalize(whole.pop("query_history"), sep=_SEP)
    records.columns = [column_for(tuple(c.split(_SEP)), level="record") for c in records.columns]
    # energy.total_kwh and energy_kwh are one column (equal values): keep one.
    records = _jsonable_lists(records.loc[:, ~records.columns.duplicated()])
    columns = record_columns(run)
    texts, estimated, _ = _label_table(columns.label_sets)
    derived: dict[str, Any] = {
        "run_id": run.run_id, "host": str(run.machine.get("hostname") or "unknown"), "source_file": source,
        "source_format": run.source_format,
        "energy_method": [texts[c] for c in columns.label_codes],
        "estimated": [estimated[c] for c in columns.label_codes],
        "model": run.alias, "alias_in_file": alias_in_file, "query_id": columns.query_id,
        **_derived_columns(columns),
    }
    # model and run_id are already there (model: the alias after equal ones were told apart).
    model_fields = {column: v for p, v in json_leaves(whole)
                    if (column := column_for(p, level="model")) not in derived and column not in records.columns}
    frame = pd.concat([pd.DataFrame(derived, index=records.index), records.drop(
        columns=[c for c in records.columns if c in derived]),
        pd.DataFrame(model_fields, index=records.index)], axis=1)
    # One row per round: a record of N rounds repeats N times, each with its round number and time.
    rounds = [max(1, r.rounds) for r in run.records]
    frame = frame.loc[frame.index.repeat(rounds)].reset_index(drop=True)
    frame.insert(list(frame.columns).index("query_id") + 1, "round", [i + 1 for n in rounds for i in range(n)])
    frame["round_duration_s"] = [
        float(seconds[i]) if isinstance(seconds, list) and len(seconds) == n else r.duration_s
        for r, n in zip(run.records, rounds) for seconds in [r.extra.get("round_seconds")] for i in range(n)]
    return frame


@dataclass(frozen=True)
class _Coded:
    """A column of text as the distinct values and each record's index into them."""
    labels: list[str]
    codes: np.ndarray


def _lean_columns(run: ModelRun, columns: RecordColumns, source: str, alias_in_file: str) -> dict[str, Any]:
    """One model's lean columns, read straight from the records (no flattening): a list or array
    of a value per record, or one value for all of them."""
    texts, estimated, provenances = _label_table(columns.label_sets)
    return {
        "run_id": run.run_id, "host": str(run.machine.get("hostname") or "unknown"), "source_file": source,
        "source_format": run.source_format, "energy_method": _Coded(texts, columns.label_codes),
        "estimated": np.array(estimated, dtype=bool)[columns.label_codes],
        "model": run.alias, "alias_in_file": alias_in_file, "query_id": columns.query_id,
        **_derived_columns(columns),
        "outcome": columns.outcome, "task": columns.task, "tokens_input": columns.tokens_input,
        "tokens_output": columns.tokens_output, "duration_s": columns.duration_s, "ttft_s": columns.ttft_s,
        "decode_s": columns.decode_s, "energy_kwh": columns.energy_kwh, "emissions_kg": columns.emissions_kg,
        "sequence": columns.sequence,
        # run.energy_provenance, from the provenances found above (it depends on which occur only).
        "model_id": run.info.model_id, "model_energy_provenance": combine_provenance(provenances),
        **{f"extra.{name}": values for name, values in columns.extra.items()},
    }


def _lean_frame(runs: Sequence[ModelRun], columns: Sequence[RecordColumns], sources: Sequence[str],
                aliases: Sequence[str]) -> pd.DataFrame | None:
    """The lean table of every run with records (None: no records), built column by column over
    all runs at once (a table per run and a concat of them cost five times more), with the types
    that table per run and concat would give (see :func:`_stacked`)."""
    kept = [(run, cols, source, alias) for run, cols, source, alias in zip(runs, columns, sources, aliases)
            if run.records]
    if not kept:
        return None
    parts = [_lean_columns(run, cols, source, alias) for run, cols, source, alias in kept]
    lengths = [len(cols) for _, cols, _, _ in kept]
    names = dict.fromkeys(name for part in parts for name in part)    # every run's columns, first seen first
    frame = pd.DataFrame({name: _stacked(name, [part.get(name, _ABSENT) for part in parts], lengths)
                          for name in names})
    rounds = np.maximum(np.array([n for _, cols, _, _ in kept for n in cols.rounds], dtype=np.int64), 1)
    if rounds.max() == 1:
        frame["round"] = np.ones(len(frame), dtype=np.int64)
        return frame
    # One row per round: a record of N rounds repeats N times, each with its round number.
    frame = frame.take(np.repeat(np.arange(len(frame)), rounds)).reset_index(drop=True)
    firsts = np.repeat(np.cumsum(rounds) - rounds, rounds)
    frame["round"] = np.arange(len(frame), dtype=np.int64) - firsts + 1
    return frame


_ABSENT = object()      # a column a run does not have (an extra.* field none of its records carries)
# The dtype pandas gives a column of text: 'str' (pyarrow-backed) in pandas 3, object before.
_TEXT = pd.Series(["text"]).dtype


def _stacked(name: str, parts: Sequence[Any], lengths: Sequence[int]) -> Any:
    """One column from each run's part (a list or array per record, one value for every record, or
    _ABSENT), with the type and values a table per run and their concat give it: where every part's
    values are of one kind (text, whole numbers, numbers, flags), the column is built at once; else
    as that concat (a column of mixed or missing values: rare, and each rule of it kept)."""
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts)
    if all(isinstance(part, _Coded) for part in parts):
        labels = list(dict.fromkeys(label for part in parts for label in part.labels))
        where = {label: i for i, label in enumerate(labels)}
        codes = np.concatenate([np.array([where[label] for label in part.labels], dtype=np.intp)[part.codes]
                                for part in parts])
        return pd.array(labels, dtype=_TEXT).take(codes)
    if all(isinstance(part, list) for part in parts):
        built = _one_kind(parts)
        if built is not None:
            return built
    elif all(isinstance(part, str) for part in parts):
        labels = list(dict.fromkeys(parts))
        codes = np.repeat(np.array([labels.index(p) for p in parts], dtype=np.intp), lengths)
        return pd.array(labels, dtype=_TEXT).take(codes)
    pieces = [pd.DataFrame(index=pd.RangeIndex(n)) if part is _ABSENT else pd.DataFrame({name: part}, index=pd.RangeIndex(n))
              for part, n in zip(parts, lengths)]
    return pd.concat(pieces, ignore_index=True, sort=False)[name]


_NONE = type(None)


def _kind(values: list[Any]) -> str | None:
    """What pandas makes of a list: 'text', 'int', 'float', 'bool', or None for anything else."""
    types = set(map(type, values))
    if types == {bool}:
        return "bool"
    if types == {int}:
        return "int"
    if str in types and types <= {str, _NONE}:
        return "text"
    if types & {int, float} and types <= {int, float, _NONE}:
        return "float"      # None among numbers is NaN
    return None


def _text_array(values: list[str | None]) -> Any:
    """Text (None: missing) as pandas' text column: through Arrow at once where pandas keeps text
    in Arrow (half the time of pandas checking each value)."""
    if getattr(_TEXT, "storage", None) == "pyarrow":
        return pd.array(pa.array(values, type=pa.large_string()), dtype=_TEXT)
    return pd.array(values, dtype=_TEXT)


def _one_kind(parts: Sequence[list[Any]]) -> Any:
    """The parts as one column when each is of a kind whose concat is that kind again (ints and
    floats: floats); None otherwise."""
    kinds = {_kind(part) for part in parts}
    values = list(chain.from_iterable(parts))
    try:
        if kinds == {"text"}:
            return _text_array(values)
        if kinds == {"bool"}:
            return np.array(values, dtype=bool)
        if kinds == {"int"}:
            return np.array(values, dtype=np.int64)
        if kinds <= {"int", "float"}:
            return np.array(values, dtype=float)
    except OverflowError:       # beyond int64 / float64: pandas' own rules (uint64, object)
        return None
    return None


def frame_from_runs(runs: Iterable[ModelRun], sources: Sequence[str] | None = None,
                    aliases_in_files: Sequence[str] | None = None, *, lean: bool = False,
                    columns: Sequence[RecordColumns] | None = None) -> pd.DataFrame:
    """The tidy table of already loaded runs (``sources``: the file each came from;
    ``aliases_in_files``: each run's alias before equal ones were told apart). ``lean``: only
    the columns figures and reports use (identity, provenance, derived metrics, the main
    record fields), without flattening every field; ``columns``: each run's
    :func:`.record_columns.record_columns` when the caller has them already (lean only)."""
    runs = list(runs)
    names = list(sources) if sources is not None else [""] * len(runs)
    aliases = list(aliases_in_files) if aliases_in_files is not None else [run.alias for run in runs]
    if lean:
        built = _lean_frame(runs, columns if columns is not None else [record_columns(run) for run in runs],
                            names, aliases)
    else:
        parts = [_run_frame(run, source, alias) for run, source, alias in zip(runs, names, aliases) if run.records]
        built = pd.concat(parts, ignore_index=True, sort=False) if parts else None
    if built is None:
        return pd.DataFrame(columns=list(COLUMN_NAMES))
    first = [c for c in COLUMN_NAMES if c in built.columns]
    rest = sorted(c for c in built.columns if c not in set(first))
    frame = built[first + rest]
    for name in frame.columns[frame.dtypes == object]:
        frame[name] = _one_type(frame[name])
    return frame


def _one_type(column: pd.Series) -> pd.Series:
    """Text when the non-null values mix types (ints and floats count as numbers)."""
    present = column[column.notna()]
    kinds = {"number" if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v).__name__
             for v in present}
    if len(kinds) <= 1:
        return column
    return column.map(lambda v: v if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))


def runs_and_sources(paths: Sequence[Path], skipped: list[str] | None = None) -> tuple[list[ModelRun], list[str]]:
    """Model runs from folders and files (the one loader), and the file each came from; with
    ``skipped``, a bad file is left out and named there (see :func:`.storage.load_sources`)."""
    return load_sources(paths, skipped)


def load_results(*paths: str | Path, skipped: list[str] | None = None) -> pd.DataFrame:
    """Run folders and/or model JSON files as one DataFrame: one row per record and round.

    Columns: see :data:`COLUMNS` and the module's naming rules. Raises
    :class:`~slm_energy_plugin.errors.SlmEnergyError` with one line for a bad file; with
    ``skipped`` (a list), a bad file is left out and its line added there instead, and only a
    set of paths with no readable file is refused.
    """
    if not paths:
        raise TypeError("load_results() needs at least one run folder or model file")
    runs, sources = runs_and_sources([Path(p) for p in paths], skipped)
    return frame_from_runs(runs, sources)


# metric name (metrics.METRICS) -> the frame's column holding it (values_from_frame)
METRIC_COLUMNS = {
    "energy": "energy_j", "energy_per_token": "energy_per_token_j", "latency": "latency_s",
    "ttft": "ttft_s", "tokens": "tokens_output", "emissions": "emissions_g", "correct": "correct",
    "score": "score",
}


def values_from_frame(frame: pd.DataFrame, metric: str) -> dict[str, dict[str, float]]:
    """``{model: {query id: value}}`` from the table, by the rules of metrics.record_values."""
    get_metric(metric)   # unknown names fail with the metrics module's message
    column = METRIC_COLUMNS[metric]
    if column not in frame.columns:
        return {str(m): {} for m in frame["model"].unique()} if "model" in frame.columns else {}
    # One value per record: rows of one record's rounds carry the same per-round value.
    values = pd.to_numeric(frame[column], errors="coerce")
    kept = np.flatnonzero((frame["round"] == 1).to_numpy() & frame["outcome"].isin(COUNTED_OUTCOMES).to_numpy()
                          & values.notna().to_numpy())
    by_model = _values_by_model(frame, values, kept)
    return by_model if by_model is not None else _mean_values(frame, values, kept)


def _values_by_model(frame: pd.DataFrame, values: pd.Series, kept: np.ndarray) -> dict[str, dict[str, float]] | None:
    """values_from_frame where every model asks each query once (nearly always): each value is its
    query's mean, and the rows are taken by index, not by a mask over every column of the table.
    None where a model asks a query twice, or a model or query id is missing or not text."""
    model, query_id = frame["model"], frame["query_id"]
    if model.dtype != _TEXT or query_id.dtype != _TEXT or model.isna().any() or query_id.iloc[kept].isna().any():
        return None
    codes, models = pd.factorize(model)
    out: dict[str, dict[str, float]] = {str(m): {} for m in models}
    kept_codes = codes[kept]
    order = kept[np.argsort(kept_codes, kind="stable")]
    ends = np.cumsum(np.bincount(kept_codes, minlength=len(models))).tolist()
    # Python objects once (a take from the Arrow text per model cost ten times more).
    ids, numbers = query_id.to_numpy(dtype=object), values.to_numpy(dtype=float)
    for name, start, end in zip(models, [0, *ends], ends):
        rows = order[start:end]
        found = dict(zip(ids[rows].tolist(), numbers[rows].tolist()))
        if len(found) < len(rows):
            return None
        out[str(name)] = found
    return out


def _mean_values(frame: pd.DataFrame, values: pd.Series, kept: np.ndarray) -> dict[str, dict[str, float]]:
    """values_from_frame by grouping: repeated (model, query id) rows are averaged."""
    rows = frame.iloc[kept]
    table = pd.DataFrame({"model": rows["model"], "query_id": rows["query_id"], "value": values.iloc[kept]})
    means = table.groupby(["model", "query_id"], sort=False)["value"].mean().reset_index()
    out: dict[str, dict[str, float]] = {str(m): {} for m in frame["model"].unique()}
    for model, part in means.groupby("model", sort=False):
        out[str(model)] = dict(zip(part["query_id"].astype(str).tolist(), part["value"].astype(float).tolist()))
    return out
