"""The statistics on a DataFrame from :func:`~slm_energy_plugin.results.frame.load_results`.

An adapter, not a second copy: the table gives back the input the statistics take
(``{model: {query id: value}}``, by :func:`slm_energy_plugin.results.frame.values_from_frame`,
the rules of :func:`slm_energy_plugin.results.metrics.values_by_model`) and
:func:`slm_energy_plugin.stats.core.compare_models` compares it. Given a run folder or model
file, it asks the data layer to load it (``load_results``): statistics read no file themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence, Union

import pandas as pd

from ..results.frame import load_results, values_from_frame
from ..results.metrics import values_by_model
from ..results.records import ModelRun

if TYPE_CHECKING:
    from .core import Comparison

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
