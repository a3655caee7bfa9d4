"""The per-query metrics that statistics, summaries and gates compare.

Pure: turns query records into numbers, one value per (model, query id). A record that
cannot give a metric (an error, no energy meter, no tokens) gives None and is left
out, so a statistic never silently counts a missing value as zero.

It lives with the records (not in ``stats/``) because it says what a record's figures are:
the results table (``frame.py``), the statistics, the summary and the gate all read them here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .records import COUNTED_OUTCOMES, ModelRun, QueryRecord
from ..energy.units import J_PER_KWH


# One default for the pytest summary and the CLI.
DEFAULT_METRICS = ("energy", "latency")


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    extract: Callable[[QueryRecord], float | None]
    lower_is_better: bool = True
    # Read from an energy meter (energy, or emissions made from it): --energy-meter null gives it no value.
    needs_meter: bool = False


def _energy_j(record: QueryRecord) -> float | None:
    kwh = record.energy_kwh
    return None if kwh is None else kwh * J_PER_KWH


def _energy_per_token_j(record: QueryRecord) -> float | None:
    joules = _energy_j(record)
    if joules is None or record.tokens_output <= 0:
        return None
    return joules / record.tokens_output


def _emissions_g(record: QueryRecord) -> float | None:
    return None if record.emissions_kg is None else record.emissions_kg * 1000.0


def _correct(record: QueryRecord) -> float | None:
    correct = record.scores.get("correct") if record.scores else None
    return None if correct is None else float(bool(correct))


def _score(record: QueryRecord) -> float | None:
    score = record.scores.get("score") if record.scores else None
    return None if score is None else float(score)


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("energy", "energy per query", "J", _energy_j, needs_meter=True),
        Metric("energy_per_token", "energy per output token", "J/token", _energy_per_token_j, needs_meter=True),
        Metric("latency", "latency", "s", lambda r: r.duration_s),
        Metric("ttft", "time to first token", "s", lambda r: r.ttft_s),
        Metric("tokens", "output tokens", "tokens", lambda r: float(r.tokens_output)),
        Metric("emissions", "emissions per query", "g CO2eq", _emissions_g, needs_meter=True),
        Metric("correct", "correct answers", "share", _correct, lower_is_better=False),
        Metric("score", "answer score", "0-1", _score, lower_is_better=False),
    )
}



def get_metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}") from None


def _floats(values: Sequence[Any]) -> np.ndarray:
    """float64, None as NaN (what ``float()`` makes of each value)."""
    return np.array(values, dtype=float)


def metric_arrays(energy_kwh: Sequence[float | None], tokens_output: Sequence[int],
                  duration_s: Sequence[float], emissions_kg: Sequence[float | None],
                  correct: Sequence[Any], score: Sequence[Any]) -> dict[str, np.ndarray]:
    """The metrics the results table derives (all but ttft and tokens, which are fields of their
    own) for many records at once, from their fields (one list per field, record by record;
    ``correct`` and ``score``: ``scores.get(...)``): float64 arrays, NaN where the metric's
    ``extract`` gives None, else ``float(extract(record))``. One ``extract`` call per record and
    metric was a third of building the table."""
    joules = _floats(energy_kwh) * J_PER_KWH
    tokens = _floats(tokens_output)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_token = np.where(tokens > 0, joules / tokens, math.nan)
    return {
        "energy": joules,
        "energy_per_token": per_token,
        "latency": _floats(duration_s),
        "emissions": _floats(emissions_kg) * 1000.0,
        "correct": np.array([math.nan if c is None else float(bool(c)) for c in correct], dtype=float),
        "score": np.array([math.nan if v is None else float(v) for v in score], dtype=float),
    }


def record_values(records: Iterable[QueryRecord], metric: Metric) -> dict[str, float]:
    """query id -> value; repeated ids (several tests on one query) are averaged."""
    sums: dict[str, list[float]] = {}
    for record in records:
        if record.outcome not in COUNTED_OUTCOMES:
            continue
        value = metric.extract(record)
        if value is None or value != value:  # None or NaN
            continue
        sums.setdefault(record.query_id, []).append(float(value))
    return {qid: sum(vs) / len(vs) for qid, vs in sums.items()}


def values_by_model(runs: Iterable[ModelRun], metric: Metric | str) -> dict[str, dict[str, float]]:
    """alias -> query id -> value, the input shape of :mod:`slm_energy_plugin.stats.core`."""
    chosen = get_metric(metric) if isinstance(metric, str) else metric
    return {run.alias: record_values(run.records, chosen) for run in runs}


def has_values(runs: Iterable[ModelRun], name: str) -> bool:
    """Whether at least one model has at least one value of the metric."""
    metric = get_metric(name)
    # Stops at the first value (record_values would average every query of every model first).
    return any(record.outcome in COUNTED_OUTCOMES and (value := metric.extract(record)) is not None
               and value == value for run in runs for record in run.records)

