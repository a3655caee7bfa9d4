"""What each figure shows, computed before anything is drawn (pure: pandas/numpy, no matplotlib).

Every figure of :mod:`.plots` is one function here returning a frozen dataclass: the
values, medians, intervals and Pareto points that will be drawn, the axis labels (energy
axes say "estimated" when any figure on them is), and the title. Tests check these, not
pixels. Statistics come from the project's modules: Hodges-Lehmann ratios from
:func:`slm_energy_plugin.stats.core.shift`, accuracy, Wilson intervals and the Pareto flags
from :func:`slm_energy_plugin.quality.efficiency.efficiency_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import weakref

import numpy as np
import pandas as pd

from ..quality.efficiency import EfficiencyRow
from ..results.frame import METRIC_COLUMNS
from ..results.metrics import get_metric
from ..results.records import COUNTED_OUTCOMES
from .style import PALETTE
from ..number_format import plural

# Figures draw at most this many points per model (a seeded sample, said in the caption):
# 10,000 points per model hide each other and make SVG files of many MB.
MAX_POINTS = 1500
SAMPLE_SEED = 20240531
# metric -> (axis label, unit, log scale)
PLOT_METRICS: dict[str, tuple[str, str, bool]] = {
    "energy": ("energy per query", "J", True),
    "energy_per_token": ("energy per output token", "J/token", True),
    "latency": ("latency per query", "s", True),
    "ttft": ("time to first token", "s", True),
    "tokens": ("output tokens per query", "tokens", False),
    # The math benchmark's emissions distribution: energy x PUE x the grid's intensity, per query.
    "emissions": ("emissions per query", "g CO2eq", True),
}
# Figures made from energy: estimated whenever the energy is (emissions are energy x intensity).
ENERGY_METRICS = frozenset({"energy", "energy_per_token", "emissions"})
GROUP_COLUMNS = ("task", "extra.concurrency", "extra.load")   # "per task type / load", when present


@dataclass(frozen=True)
class Series:
    """One model's values on a figure (all of them; ``shown`` is the drawn sample)."""

    model: str
    color: str
    values: np.ndarray
    shown: np.ndarray
    median: float | None
    q1: float | None
    q3: float | None

    @property
    def n(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class DistributionFigure:
    metric: str
    title: str
    ylabel: str
    log: bool
    series: tuple[Series, ...]
    caption: str


@dataclass(frozen=True)
class RatioSeries:
    model: str
    color: str
    log10_ratios: np.ndarray        # per shared query: log10(model / baseline)
    shown: np.ndarray
    median_ratio: float | None      # median of the per-query ratios
    hl_ratio: float | None          # Hodges-Lehmann ratio (paired) and its CI
    hl_low: float | None
    hl_high: float | None
    n_shared: int
    reason: str | None = None


@dataclass(frozen=True)
class RatioFigure:
    metric: str
    baseline: str
    title: str
    ylabel: str
    series: tuple[RatioSeries, ...]
    caption: str


@dataclass(frozen=True)
class ScatterSeries:
    model: str
    color: str
    x: np.ndarray
    y: np.ndarray
    n: int


@dataclass(frozen=True)
class ScatterFigure:
    name: str
    title: str
    xlabel: str
    ylabel: str
    xlog: bool
    ylog: bool
    series: tuple[ScatterSeries, ...]
    caption: str


@dataclass(frozen=True)
class AccuracyPoint:
    model: str
    color: str
    energy_j: float
    accuracy: float
    low: float
    high: float
    pareto: bool
    correct: int
    scored: int


@dataclass(frozen=True)
class AccuracyPanel:
    task: str
    points: tuple[AccuracyPoint, ...]
    front: tuple[tuple[float, float], ...]    # (energy J, accuracy) of the Pareto points, cheapest first


@dataclass(frozen=True)
class AccuracyFigure:
    title: str
    xlabel: str
    panels: tuple[AccuracyPanel, ...]
    caption: str


@dataclass(frozen=True)
class GroupedFigure:
    """Medians (and quartiles) of a metric per group (task type, load) and model."""

    column: str
    title: str
    ylabel: str
    log: bool
    groups: tuple[str, ...]
    series: tuple[Series, ...]              # one per (group, model): model = "group / model"
    caption: str


@dataclass(frozen=True)
class MachinePanel:
    host: str
    series: tuple[Series, ...]


@dataclass(frozen=True)
class MachinesFigure:
    title: str
    ylabel: str
    log: bool
    panels: tuple[MachinePanel, ...]
    caption: str


@dataclass(frozen=True)
class TimelineFigure:
    title: str
    xlabel: str
    time: np.ndarray
    lines: tuple[tuple[str, np.ndarray], ...]    # (column, values)
    caption: str


def model_colors(models: Sequence[str]) -> dict[str, str]:
    """A fixed colour per model, in the order the models first appear."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(dict.fromkeys(models))}


def models_of(frame: pd.DataFrame) -> list[str]:
    return [str(m) for m in frame["model"].unique()]     # in order of first appearance


@dataclass(frozen=True)
class ModelValues:
    """One model's values of a metric: what values_from_frame gives as ``{query id: value}``,
    as arrays in the same order (a query's first appearance; a repeated query's values averaged)."""

    queries: np.ndarray     # each query id's code: equal codes, equal ids (across models of one table)
    values: np.ndarray      # float


class _Table:
    """The arrays every figure of one table reads, taken from the table once.

    The rows are those values_from_frame counts (round 1, a counted outcome, a numeric value),
    selected as positions in a few columns: selecting rows of the whole table (``frame[mask]``)
    copies every text column, for each metric and group again. Query ids and models become
    integer codes, so groups and shared queries are numpy operations, not dictionaries of
    100,000 entries.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = weakref.ref(frame)    # not kept alive by the cache of tables
        self._values: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        self._codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._keys: dict[tuple[str, str], _Keyed | None] = {}
        self._pairs: dict[str, tuple[np.ndarray, int, bool]] = {}

    @property
    def frame(self) -> pd.DataFrame:
        frame = self._frame()
        assert frame is not None, "a table's arrays are read while the table is in use"
        return frame

    @cached_property
    def counted_rows(self) -> np.ndarray:
        frame = self.frame
        counted = (frame["round"] == 1) & frame["outcome"].isin(COUNTED_OUTCOMES)
        return np.flatnonzero(counted.to_numpy(dtype=bool, na_value=False))

    @cached_property
    def _queries(self) -> tuple[np.ndarray, int]:
        codes, uniques = pd.factorize(self.frame["query_id"])     # -1: no id
        return codes, max(1, len(uniques))

    def codes(self, column: str) -> tuple[np.ndarray, list[str]]:
        """Each row's code in ``column`` (-1: missing) and the values as text, in order of first appearance."""
        if column not in self._codes:
            codes, uniques = pd.factorize(self.frame[column])
            self._codes[column] = codes, [str(u) for u in uniques]
        return self._codes[column]

    def counted(self, metric: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows (positions) with a value of ``metric`` and those values; None without its column."""
        if metric not in self._values:
            get_metric(metric)   # unknown names fail with the metrics module's message
            column = METRIC_COLUMNS[metric]
            if column not in self.frame.columns:
                self._values[metric] = None
            else:
                rows = self.counted_rows
                numbers = pd.to_numeric(self.frame[column].iloc[rows], errors="coerce")
                kept = numbers.notna().to_numpy(dtype=bool)
                self._values[metric] = rows[kept], numbers.to_numpy(dtype=float, na_value=np.nan)[kept]
        return self._values[metric]

    def _row_keys(self, model_column: str) -> tuple[np.ndarray, int, bool]:
        """One number per row for its (model, query) pair, -1 without either (pandas' groupby
        leaves such rows out there); the pairs' count; whether a pair has two counted rows."""
        if model_column not in self._pairs:
            models = self.codes(model_column)[0]
            queries, width = self._queries
            keys = np.where((models >= 0) & (queries >= 0), models.astype(np.int64) * width + queries, -1)
            counted = np.sort(keys[self.counted_rows])
            counted = counted[counted >= 0]
            self._pairs[model_column] = keys, width, bool((counted[1:] == counted[:-1]).any())
        return self._pairs[model_column]

    def _keyed(self, metric: str, model_column: str) -> _Keyed | None:
        if (metric, model_column) not in self._keys:
            counted = self.counted(metric)
            if counted is None:
                self._keys[metric, model_column] = None
            else:
                rows, values = counted
                keys, width, repeated = self._row_keys(model_column)
                known = keys[rows] >= 0
                # A metric's rows are some of the counted rows: no pair repeats where none does there.
                self._keys[metric, model_column] = _Keyed(rows[known], values[known], keys[rows][known], width,
                                                          repeated)
        return self._keys[metric, model_column]

    def by_model(self, metric: str, model_column: str = "model",
                 within: np.ndarray | None = None) -> dict[str, ModelValues]:
        """values_from_frame(frame, metric) of the models with a value, optionally of the rows
        where ``within`` (a flag per row) holds, with ``model_column`` as the model."""
        keyed = self._keyed(metric, model_column)
        if keyed is None:
            return {}
        keys, values = keyed.keys, keyed.values
        if within is not None:
            part = within[keyed.rows]
            keys, values = keys[part], values[part]
        names = self.codes(model_column)[1]
        return {names[code]: series for code, series in _per_model(keys, values, keyed.width, keyed.repeated)}


@dataclass(frozen=True)
class _Keyed:
    """A metric's counted rows with a model and a query id: one number per (model, query)."""

    rows: np.ndarray
    values: np.ndarray
    keys: np.ndarray        # model code x width + query code
    width: int
    repeated: bool          # whether a (model, query) may have more than one row


def _per_model(keys: np.ndarray, values: np.ndarray, width: int, repeated: bool) -> list[tuple[int, ModelValues]]:
    """Per model code (order of first appearance), its queries and values (order of first
    appearance), grouped as values_from_frame groups them: a query's repeated values averaged
    (pandas' mean, as there)."""
    if not len(keys):
        return []
    if repeated:    # their mean, at the first one's place
        codes, uniques = pd.factorize(keys)
        values = pd.Series(values).groupby(codes, sort=False).mean().to_numpy(dtype=float)
        keys = uniques
    models, queries = np.divmod(keys, width)
    order = np.argsort(models, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(models[order])) + 1)
    groups.sort(key=lambda rows: int(rows[0]))     # models in order of first appearance
    return [(int(models[rows[0]]), ModelValues(queries[rows], values[rows])) for rows in groups]


def _paired(values: ModelValues, other: ModelValues) -> tuple[np.ndarray, np.ndarray]:
    """``values`` and ``other``'s on the queries both have, in ``values``' order (as
    ``[q for q in values if q in other]``)."""
    where = np.full(int(max(values.queries.max(initial=-1), other.queries.max(initial=-1))) + 1, -1)
    where[other.queries] = np.arange(len(other.queries))
    at = where[values.queries]
    shared = at >= 0
    return values.values[shared], other.values[at[shared]]


_TABLES: dict[int, tuple["weakref.ref[pd.DataFrame]", _Table]] = {}


def _table(frame: pd.DataFrame) -> _Table:
    """The table's arrays, taken once per table (every figure of a run reads the same table)."""
    hit = _TABLES.get(id(frame))
    if hit is not None and hit[0]() is frame:
        return hit[1]
    key = id(frame)
    table = _Table(frame)
    # Dropped with its table: arrays of a table no longer in use are not kept.
    _TABLES[key] = (weakref.ref(frame, lambda _: _TABLES.pop(key, None)), table)
    return table


def is_estimated(frame: pd.DataFrame) -> bool:
    return bool("estimated" in frame.columns and frame["estimated"].astype(bool).any())


def axis_label(metric: str, frame: pd.DataFrame) -> str:
    """'energy per query (J, estimated)': energy axes say when their figures are estimates."""
    label, unit, _ = PLOT_METRICS[metric]
    note = ", estimated" if metric in ENERGY_METRICS and is_estimated(frame) else ""
    return f"{label} ({unit}{note})"


def sample(values: np.ndarray, limit: int = MAX_POINTS, seed: int = SAMPLE_SEED) -> np.ndarray:
    """At most ``limit`` of ``values``, a seeded sample (the same every time)."""
    if len(values) <= limit:
        return values
    picked = np.random.default_rng(seed).choice(len(values), size=limit, replace=False)
    return values[np.sort(picked)]


def _series(model: str, color: str, values: np.ndarray) -> Series:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return Series(model, color, finite, finite, None, None, None)
    q1, med, q3 = np.quantile(finite, [0.25, 0.5, 0.75])
    return Series(model, color, finite, sample(finite), float(med), float(q1), float(q3))


def _sample_note(series: Sequence[Series]) -> str:
    big = [s for s in series if len(s.shown) < s.n]
    return f" Points: a seeded sample of {MAX_POINTS} per model where there are more." if big else ""


def distribution(frame: pd.DataFrame, metric: str) -> DistributionFigure | None:
    """Box (median, quartiles) and points per model; None when no model has a value."""
    values = _table(frame).by_model(metric)
    if not values:
        return None
    models = models_of(frame)
    colors = model_colors(models)
    series = tuple(_series(m, colors[m], values[m].values) for m in models if m in values)
    label, unit, log = PLOT_METRICS[metric]
    estimated = " (estimated)" if metric in ENERGY_METRICS and is_estimated(frame) else ""
    return DistributionFigure(
        metric, f"{label[0].upper()}{label[1:]} by model{estimated}", axis_label(metric, frame), log, series,
        "Box: median and quartiles of each model's values, one per query; whiskers 1.5 IQR." + _sample_note(series))


def paired_ratios(frame: pd.DataFrame, metric: str, baseline: str | None = None, *,
                  alpha: float = 0.05) -> RatioFigure | None:
    """Per shared query, log10(model / baseline), with the Hodges-Lehmann ratio and its CI."""
    from ..stats.core import shift

    values = _table(frame).by_model(metric)
    every = models_of(frame)
    models = [m for m in every if m in values]
    if len(models) < 2:
        return None
    base = baseline if baseline is not None else models[0]
    if base not in every:
        from ..errors import SlmEnergyError

        raise SlmEnergyError(f"baseline model {base!r} is not in the run; models: {', '.join(models)}")
    colors = model_colors(every)
    nothing = ModelValues(np.empty(0, dtype=np.intp), np.empty(0))    # a baseline without values shares none
    out = []
    for m in models:
        if m == base:
            continue
        a, b = _paired(values[m], values.get(base, nothing))
        positive = (a > 0) & (b > 0)
        logs = np.log10(a[positive] / b[positive])
        reason = None if len(logs) == len(a) else f"{plural(len(a) - len(logs), 'non-positive value')} left out"
        sh = shift(a[positive], b[positive], paired=True, alpha=alpha) if len(logs) else None
        out.append(RatioSeries(
            m, colors[m], logs, sample(logs), float(10 ** np.median(logs)) if len(logs) else None,
            sh.estimate if sh else None, sh.low if sh else None, sh.high if sh else None, len(logs),
            reason or (sh.reason if sh else "no shared queries")))
    label, unit, _ = PLOT_METRICS[metric]
    estimated = ", estimated" if metric in ENERGY_METRICS and is_estimated(frame) else ""
    return RatioFigure(
        metric, base, f"{label[0].upper()}{label[1:]} relative to {base}, per shared query",
        f"{label}: model / {base} (log scale{estimated})", tuple(out),
        f"Each point is one query both models answered: the model's {label} divided by {base}'s. "
        f"Bar: Hodges-Lehmann ratio (paired, {1 - alpha:.0%} CI), the ratio the statistics report. "
        "1 = the same; above 1 = more than the baseline.")


def _scatter(frame: pd.DataFrame, name: str, x_metric: str, y_metric: str, title: str) -> ScatterFigure | None:
    table = _table(frame)
    xs, ys = table.by_model(x_metric), table.by_model(y_metric)
    models = models_of(frame)
    colors = model_colors(models)
    series = []
    for m in models:
        if m not in xs or m not in ys:
            continue
        y, x = _paired(ys[m], xs[m])
        if not len(y):
            continue
        series.append(ScatterSeries(m, colors[m], sample(x), sample(y), len(y)))
    if not series:
        return None
    return ScatterFigure(name, title, axis_label(x_metric, frame), axis_label(y_metric, frame),
                         PLOT_METRICS[x_metric][2], PLOT_METRICS[y_metric][2], tuple(series),
                         "One point per query." + (f" A seeded sample of {MAX_POINTS} points per model where there "
                                                   "are more." if any(s.n > len(s.x) for s in series) else ""))


def energy_vs_latency(frame: pd.DataFrame) -> ScatterFigure | None:
    estimated = " (estimated energy follows time by construction)" if is_estimated(frame) else ""
    return _scatter(frame, "energy_vs_latency", "latency", "energy", "Energy against latency per query" + estimated)


def tokens_vs_energy(frame: pd.DataFrame) -> ScatterFigure | None:
    return _scatter(frame, "tokens_vs_energy", "tokens", "energy", "Energy against output tokens per query")


def accuracy_vs_energy(rows: Sequence[EfficiencyRow], frame: pd.DataFrame) -> AccuracyFigure | None:
    """Per task: accuracy (95% Wilson interval) against mean energy per query, and the Pareto front."""
    colors = model_colors(models_of(frame))
    by_task: dict[str, list[AccuracyPoint]] = {}
    for r in rows:
        if r.accuracy is None or r.energy_per_query_j is None or r.ci_low is None or r.ci_high is None:
            continue
        by_task.setdefault(r.task, []).append(AccuracyPoint(
            r.model, colors.get(r.model, "#000000"), r.energy_per_query_j, r.accuracy, r.ci_low, r.ci_high,
            bool(r.pareto), r.correct, r.scored))
    if not by_task:
        return None
    panels = tuple(AccuracyPanel(task, tuple(points), tuple(sorted(
        (p.energy_j, p.accuracy) for p in points if p.pareto))) for task, points in by_task.items())
    estimated = ", estimated" if is_estimated(frame) else ""
    rule = ("no other model is both cheaper and more accurate; a model with no correct answer, or at chance, "
            "is never on it")
    front = (f"Ringed points and the dashed line: the Pareto front ({rule})." if any(p.front for p in panels)
             else f"No model is on a Pareto front here ({rule}), so none is drawn.")
    return AccuracyFigure(
        "Accuracy against energy per query, per task", f"mean energy per query (J{estimated})", panels,
        f"Bars: 95% Wilson score interval of accuracy. {front} Energy axis shared by every panel.")


def grouped(frame: pd.DataFrame, metric: str = "energy") -> GroupedFigure | None:
    """The metric per task type (or load) and model, when the run has more than one group."""
    column = next((c for c in GROUP_COLUMNS if c in frame.columns and frame[c].nunique(dropna=True) > 1), None)
    if column is None:
        return None
    models = models_of(frame)
    colors = model_colors(models)
    # The distinct values first, then dict.fromkeys: on the whole column it is ten times slower.
    groups = tuple(str(g) for g in dict.fromkeys(frame[column].dropna().unique()))
    table = _table(frame)
    labels, names = pd.factorize(frame[column].astype(str))     # the rows of a group: ``astype(str) == g``
    places = {str(name): code for code, name in enumerate(names)}
    series = []
    for g in groups:
        values = table.by_model(metric, within=labels == places.get(g, -2))
        series += [_series(f"{g} / {m}", colors[m], values[m].values) for m in models if m in values]
    if not series:   # no model has a value (a run without an energy meter): no figure, as distribution()
        return None
    label, _, log = PLOT_METRICS[metric]
    what = "task type" if column == "task" else "load"
    return GroupedFigure(column, f"{label[0].upper()}{label[1:]} by {what} and model", axis_label(metric, frame),
                         log, groups, tuple(series), "Box: median and quartiles per group and model." +
                         _sample_note(series))


def machines(frame: pd.DataFrame, metric: str = "energy") -> MachinesFigure | None:
    """One panel per machine (or run) when the runs come from more than one."""
    key = "host" if frame["host"].nunique() > 1 else "run_id"
    if frame[key].nunique() < 2:
        return None
    # Equal aliases from different runs were told apart (gpt2@1, gpt2@2); side by side they are one model again.
    table = _table(frame)
    aliases, names = table.codes("alias_in_file")
    colors = model_colors([str(m) for m in frame["alias_in_file"].unique()])
    hosts, host_names = table.codes(key)
    places = {name: code for code, name in enumerate(host_names)}
    panels = []
    for host in frame[key].unique():
        # A missing host or run id (NaN) is in no row's ``frame[key] == host``.
        within = hosts == (-2 if pd.isna(host) else places[str(host)])
        values = table.by_model(metric, "alias_in_file", within)
        in_part = [names[code] for code in pd.unique(aliases[within]) if code >= 0]
        panels.append(MachinePanel(str(host), tuple(
            _series(m, colors[m], values[m].values) for m in in_part if m in values)))
    panels = [panel for panel in panels if panel.series]   # a machine without a value (no meter): no panel
    if not panels:
        return None
    label, _, log = PLOT_METRICS[metric]
    what = "machine" if key == "host" else "run"
    return MachinesFigure(f"{label[0].upper()}{label[1:]} per model, one panel per {what}",
                          axis_label(metric, frame), log, tuple(panels),
                          f"Runs from different {what}s side by side, on one scale: differences mix model and "
                          f"{what}.")


TIME_COLUMNS = ("elapsed_s", "t_s", "time_s", "timestamp")


def timeline(table: pd.DataFrame) -> TimelineFigure | None:
    """Utilisation over the run from a ``timeline.csv``: every numeric column against time."""
    time_col = next((c for c in TIME_COLUMNS if c in table.columns), None)
    if time_col is None or table.empty:
        return None
    t = pd.to_numeric(table[time_col], errors="coerce")
    if t.isna().all():
        t = (pd.to_datetime(table[time_col], errors="coerce", utc=True) - pd.to_datetime(
            table[time_col], errors="coerce", utc=True).min()).dt.total_seconds()
    t = t - t.min()
    lines = tuple((str(c), pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=float))
                  for c in table.columns if c != time_col and pd.api.types.is_numeric_dtype(table[c]))
    if not lines:
        return None
    return TimelineFigure("Utilisation during the run", "time since the first sample (s)",
                          t.to_numpy(dtype=float), lines, "From timeline.csv in the run folder.")

