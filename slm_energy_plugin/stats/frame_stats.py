"""The statistics on a DataFrame from :func:`~slm_energy_plugin.results.frame.load_results`.

An adapter, not a second copy: the table gives back the input the statistics take
(``{model: {query id: value}}``, by :func:`slm_energy_plugin.results.frame.values_from_frame`,
the rules of :func:`slm_energy_plugin.results.metrics.values_by_model`) and
:func:`slm_energy_plugin.stats.core.compare_models` compares it. Given a run folder or model
file, it asks the data layer to load it (``load_results``): statistics read no file themselves.

:func:`value_table` goes one step further for the HTML report (10 models x 10,000 queries): the
table's column straight into the query x model table the comparison works on, vectorised.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, Union

import numpy as np
import pandas as pd

from ..results.frame import METRIC_COLUMNS, load_results, values_from_frame
from ..results.metrics import get_metric, values_by_model
from ..results.records import COUNTED_OUTCOMES, ModelRun

if TYPE_CHECKING:
    from .core import Comparison, ValueTable

Results = Union[pd.DataFrame, Sequence[ModelRun], str, Path]


def compare_models(results: Results, metric: str = "energy", *, alpha: float = 0.05) -> "Comparison":
    """Every statistic of :func:`slm_energy_plugin.stats.core.compare_models` for one metric.

    ``results``: a DataFrame from ``load_results``, model runs, or a run folder / model file.
    """
    from .core import compare_models as compare
    from .build import BINARY_METRICS

    if isinstance(results, (str, Path)):
        results = load_results(results)
    if isinstance(results, pd.DataFrame):
        values = values_from_frame(results, metric)
    else:
        values = values_by_model(results, metric)
    return compare(values, binary=metric in BINARY_METRICS, alpha=alpha)


def value_table(frame: pd.DataFrame, metric: str, models: Sequence[str], *, binary: bool = False) -> "ValueTable | None":
    """What :func:`~slm_energy_plugin.stats.core.compare_models` makes of ``values_from_frame``,
    built from the table's column at once (no dict per model): the same rows, columns, values and
    counts, for ``models`` in that order. None where only the dicts give the same answer: a model
    with two values for one query id (record_values averages them in record order), query ids
    that are not text, a model not among ``models``, a binary value neither 0 nor 1 (its note
    names the first one in record order)."""
    return value_tables(frame, models)(metric, binary)


def value_tables(frame: pd.DataFrame, models: Sequence[str]) -> Callable[[str, bool], "ValueTable | None"]:
    """:func:`value_table` of each metric asked, for one frame: the rows counted and their models'
    and query ids' codes are worked out once for every metric (the report asks for three)."""
    return _FrameTables(frame, tuple(models))


class _FrameTables:
    def __init__(self, frame: pd.DataFrame, models: tuple[str, ...]) -> None:
        self.frame, self.models = frame, models

    @cached_property
    def rows(self) -> pd.DataFrame:
        frame = self.frame
        return frame[(frame["round"] == 1) & frame["outcome"].isin(COUNTED_OUTCOMES)]

    @cached_property
    def codes(self) -> tuple[np.ndarray, pd.Index, np.ndarray, pd.Index] | None:
        """(model codes, model names, query id codes, query ids) of every row counted; None where
        a model or a query id is missing or an id is not text (each metric's own rows decide then)."""
        model_codes, model_names = pd.factorize(self.rows["model"])
        ids = self.rows["query_id"]
        if not _all_text(ids) or np.any(model_codes < 0):
            return None
        id_codes, id_names = pd.factorize(ids)
        return model_codes, model_names, id_codes, id_names

    def __call__(self, metric: str, binary: bool = False) -> "ValueTable | None":
        from .core import ValueTable

        get_metric(metric)   # unknown names fail with the metrics module's message
        column = METRIC_COLUMNS[metric]
        frame, models = self.frame, self.models
        if column not in frame.columns or "model" not in frame.columns:
            return None
        rows = self.rows
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float)
        kept = ~np.isnan(values)
        values = values[kept]
        shared = self.codes
        if shared is not None:   # this metric's rows among all counted: their codes, the names of all
            model_codes, all_models, id_codes, id_names = (shared[0][kept], shared[1], shared[2][kept], shared[3])
            model_names = all_models[np.unique(model_codes)]
        else:
            ids = rows["query_id"][kept]
            if not _all_text(ids):
                return None
            model_codes, model_names = pd.factorize(rows["model"][kept])
            all_models = model_names
            id_codes, id_names = pd.factorize(ids)
        column_of = {m: j for j, m in enumerate(models)}
        if any(not isinstance(m, str) or m not in column_of for m in model_names):
            return None
        pairs = np.sort(model_codes.astype(np.int64) * max(len(id_names), 1) + id_codes)
        if np.any(pairs[1:] == pairs[:-1]):
            return None
        finite = np.isfinite(values)
        if binary and not np.all(np.isin(values[finite], (0.0, 1.0))):
            return None
        columns = np.array([column_of.get(m, -1) for m in all_models], dtype=np.intp)[model_codes]
        left_out = np.bincount(columns[~finite], minlength=len(models))
        # Rows: the query ids with a finite value, sorted as text (as compare_models sorts them).
        used = np.flatnonzero(np.bincount(id_codes[finite], minlength=len(id_names)))
        names = id_names[used].tolist()
        order = np.array(sorted(range(len(names)), key=names.__getitem__), dtype=np.intp)
        row_of = np.full(len(id_names), -1, dtype=np.intp)
        row_of[used[order]] = np.arange(len(order))
        table = np.full((len(names), len(models)), np.nan)
        table[row_of[id_codes[finite]], columns[finite]] = values[finite]
        return ValueTable(tuple(models), table, {m: int(left_out[j]) for j, m in enumerate(models)})


def _all_text(column: pd.Series) -> bool:
    """Every value a str (as the dicts' keys are): a string column without gaps, or objects checked."""
    if column.dtype == object:
        return all(type(q) is str for q in column.tolist())
    return pd.api.types.is_string_dtype(column.dtype) and not bool(column.isna().any())
