"""The statistics on a DataFrame from :func:`~slm_energy_plugin.results.frame.load_results`.

An adapter, not a second copy: it turns the table back into the input the statistics
take (``{model: {query id: value}}``, as :func:`slm_energy_plugin.results.metrics.values_by_model`
makes from records, with the same rules: errored tests left out, repeated query ids
averaged) and calls :func:`slm_energy_plugin.stats.core.compare_models`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence, Union

import pandas as pd

from .metrics import get_metric, values_by_model
from .records import COUNTED_OUTCOMES
from .records import ModelRun
from .frame import load_results

if TYPE_CHECKING:
    from ..stats.core import Comparison

# metric name (metrics.METRICS) -> the frame's column holding it
METRIC_COLUMNS = {
    "energy": "energy_j", "energy_per_token": "energy_per_token_j", "latency": "latency_s",
    "ttft": "ttft_s", "tokens": "tokens_output", "emissions": "emissions_g", "correct": "correct",
    "score": "score",
}
Results = Union[pd.DataFrame, Sequence[ModelRun], str, Path]


def values_from_frame(frame: pd.DataFrame, metric: str) -> dict[str, dict[str, float]]:
    """``{model: {query id: value}}`` from the table, by the rules of metrics.record_values."""
    get_metric(metric)   # unknown names fail with the metrics module's message
    column = METRIC_COLUMNS[metric]
    if column not in frame.columns:
        return {str(m): {} for m in frame["model"].unique()} if "model" in frame.columns else {}
    # One value per record: rows of one record's rounds carry the same per-round value.
    rows = frame[(frame["round"] == 1) & frame["outcome"].isin(COUNTED_OUTCOMES)]
    values = pd.to_numeric(rows[column], errors="coerce")
    kept = pd.DataFrame({"model": rows["model"], "query_id": rows["query_id"], "value": values})[values.notna()]
    means = kept.groupby(["model", "query_id"], sort=False)["value"].mean().reset_index()
    out: dict[str, dict[str, float]] = {str(m): {} for m in frame["model"].unique()}
    for model, part in means.groupby("model", sort=False):
        out[str(model)] = dict(zip(part["query_id"].astype(str).tolist(), part["value"].astype(float).tolist()))
    return out


def compare_models(results: Results, metric: str = "energy", *, alpha: float = 0.05) -> "Comparison":
    """Every statistic of :func:`slm_energy_plugin.stats.core.compare_models` for one metric.

    ``results``: a DataFrame from ``load_results``, model runs, or a run folder / model file.
    """
    from ..stats.core import compare_models as compare
    from ..stats.build import BINARY_METRICS

    if isinstance(results, (str, Path)):
        results = load_results(results)
    if isinstance(results, pd.DataFrame):
        values = values_from_frame(results, metric)
    else:
        values = values_by_model(results, metric)
    return compare(values, binary=metric in BINARY_METRICS, alpha=alpha)
