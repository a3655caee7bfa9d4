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
from typing import Sequence

import weakref

import numpy as np
import pandas as pd

from ..quality.efficiency import EfficiencyRow
from ..results.frame import values_from_frame
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


_VALUES: dict[tuple[int, str], tuple["weakref.ref[pd.DataFrame]", dict[str, dict[str, float]]]] = {}


def metric_values(frame: pd.DataFrame, metric: str) -> dict[str, dict[str, float]]:
    """values_from_frame, computed once per table and metric (every figure of a run asks again)."""
    key = (id(frame), metric)
    hit = _VALUES.get(key)
    if hit is not None and hit[0]() is frame:
        return hit[1]
    values = values_from_frame(frame, metric)
    if len(_VALUES) > 64:
        _VALUES.clear()
    _VALUES[key] = (weakref.ref(frame), values)
    return values


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
    values = metric_values(frame, metric)
    if not any(values.values()):
        return None
    colors = model_colors(models_of(frame))
    series = tuple(_series(m, colors[m], np.array(list(values[m].values()), dtype=float))
                   for m in models_of(frame) if values.get(m))
    label, unit, log = PLOT_METRICS[metric]
    estimated = " (estimated)" if metric in ENERGY_METRICS and is_estimated(frame) else ""
    return DistributionFigure(
        metric, f"{label[0].upper()}{label[1:]} by model{estimated}", axis_label(metric, frame), log, series,
        "Box: median and quartiles of each model's values, one per query; whiskers 1.5 IQR." + _sample_note(series))


def paired_ratios(frame: pd.DataFrame, metric: str, baseline: str | None = None, *,
                  alpha: float = 0.05) -> RatioFigure | None:
    """Per shared query, log10(model / baseline), with the Hodges-Lehmann ratio and its CI."""
    from ..stats.core import shift

    values = metric_values(frame, metric)
    models = [m for m in models_of(frame) if values.get(m)]
    if len(models) < 2:
        return None
    base = baseline if baseline is not None else models[0]
    if base not in values:
        from ..errors import SlmEnergyError

        raise SlmEnergyError(f"baseline model {base!r} is not in the run; models: {', '.join(models)}")
    colors = model_colors(models_of(frame))
    out = []
    for m in models:
        if m == base:
            continue
        shared = [q for q in values[m] if q in values[base]]
        a = np.array([values[m][q] for q in shared], dtype=float)
        b = np.array([values[base][q] for q in shared], dtype=float)
        positive = (a > 0) & (b > 0)
        logs = np.log10(a[positive] / b[positive])
        reason = None if len(logs) == len(shared) else f"{plural(len(shared) - len(logs), 'non-positive value')} left out"
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
    xs, ys = metric_values(frame, x_metric), metric_values(frame, y_metric)
    colors = model_colors(models_of(frame))
    series = []
    for m in models_of(frame):
        shared = [q for q in ys.get(m, {}) if q in xs.get(m, {})]
        if not shared:
            continue
        x = np.array([xs[m][q] for q in shared], dtype=float)
        y = np.array([ys[m][q] for q in shared], dtype=float)
        series.append(ScatterSeries(m, colors[m], sample(x), sample(y), len(shared)))
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
    colors = model_colors(models_of(frame))
    groups = tuple(str(g) for g in dict.fromkeys(frame[column].dropna()))
    series = []
    for g in groups:
        part = frame[frame[column].astype(str) == g]
        values = values_from_frame(part, metric)
        for m in models_of(frame):
            if values.get(m):
                series.append(_series(f"{g} / {m}", colors[m], np.array(list(values[m].values()), dtype=float)))
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
    frame = frame.assign(model=frame["alias_in_file"])
    colors = model_colors(models_of(frame))
    panels = []
    for host in dict.fromkeys(frame[key]):
        part = frame[frame[key] == host]
        values = values_from_frame(part, metric)
        panels.append(MachinePanel(str(host), tuple(
            _series(m, colors[m], np.array(list(values[m].values()), dtype=float))
            for m in models_of(part) if values.get(m))))
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

