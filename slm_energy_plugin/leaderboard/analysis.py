"""From leaderboard tables to one point per model per hardware, and a power-law fit per panel.

Method (the default; :class:`Method` records every choice so the output can state it):
- energy per million tokens = 1e6 / (tokens per kWh), in kWh (LLM-Perf's energy is decode-only);
- one point per model per hardware = the median over that model's rows (its experiments);
- rows can be filtered by precision, quantisation and backend first;
- a missing or zero parameter count leaves the model out of the fit, counted with its reason,
  unless the project knows the model's architecture: then the count is computed from it and
  the model carries a note saying so;
- across hardware: per model the mean of its per-hardware points (as the original analysis did),
  over the hardware that measured it.
Pure apart from :func:`known_parameter_count`'s read of a shipped config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .architecture import known_parameter_count
from .fit import LOG_LOG, FitError, LogLogFit, fit_size
from .readers import LLM_PERF, OPEN_LLM, PRICE, LeaderboardTable
from ..number_format import plural

ACROSS = "across hardware (mean per model)"
METRICS: dict[str, tuple[str, str]] = {
    # metric -> (table kind, unit shown beside it)
    "energy_kwh_per_mtok": (LLM_PERF, "kWh per 1M decode tokens"),
    "co2_kg": (OPEN_LLM, "kg CO2 per evaluation"),
    "usd_per_1k_input": (PRICE, "$ per 1K input tokens"),
    "usd_per_1k_output": (PRICE, "$ per 1K output tokens"),
    "usd_per_1k": (PRICE, "$ per 1K tokens"),
}
SOURCE_COLUMN = {"energy_kwh_per_mtok": "energy_tokens_per_kwh", "co2_kg": "co2_kg",
                 "usd_per_1k_input": "usd_per_1k_input", "usd_per_1k_output": "usd_per_1k_output",
                 "usd_per_1k": "usd_per_1k"}

ParamLookup = Callable[[str], "tuple[int, str] | None"]


@dataclass(frozen=True)
class Filters:
    precision: str | None = None
    quantization: str | None = None
    backend: str | None = None
    chat_only: bool = True          # Open LLM Leaderboard: CO2 of chat models, as the analysis

    def as_dict(self) -> dict[str, object]:
        return {"precision": self.precision, "quantization": self.quantization, "backend": self.backend,
                "chat_only": self.chat_only}


@dataclass(frozen=True)
class Point:
    hardware: str
    metric: str
    model: str
    params_b: float
    value: float
    rows: int
    params_note: str | None = None   # set when the size was not the file's own


@dataclass(frozen=True)
class Exclusion:
    model: str
    reason: str


@dataclass(frozen=True)
class PanelFit:
    """One hardware (or the across-hardware mean) for one metric."""

    hardware: str
    metric: str
    points: tuple[Point, ...]
    excluded: tuple[Exclusion, ...]
    fit: LogLogFit | None
    reason: str | None = None        # why there is no fit

    @property
    def unit(self) -> str:
        return METRICS[self.metric][1]


@dataclass(frozen=True)
class Analysis:
    panels: tuple[PanelFit, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    filters: Filters = field(default_factory=Filters)
    method: tuple[str, ...] = field(default_factory=tuple)
    fit_kind: str = LOG_LOG

    def panel(self, hardware: str, metric: str) -> PanelFit | None:
        for panel in self.panels:
            if panel.hardware == hardware and panel.metric == metric:
                return panel
        return None


def method_lines(filters: Filters, fill_params: bool, fit_kind: str = LOG_LOG) -> tuple[str, ...]:
    fit = ("fit: OLS of log10(metric) on log10(parameters in B); slope = elasticity "
           "(10x the parameters -> 10^slope x the metric); 95% CI of the slope = slope +- t(0.975, n-2) x SE"
           if fit_kind == LOG_LOG else
           "fit (--fit linear): OLS of the metric on parameters in B; slope = metric units per billion parameters; "
           "95% CI of the slope = slope +- t(0.975, n-2) x SE")
    lines = [
        "energy per million tokens = 1e6 / Energy (tokens/kWh), in kWh (LLM-Perf: decode energy only)",
        "one point per model per hardware = median over the model's rows (experiments)",
        fit,
        f"across hardware: per model the mean of its per-hardware points ({ACROSS!r})",
        "missing or zero parameter counts: " + (
            "filled from a known architecture (data/shapes) where one exists, noted per model; else excluded and counted"
            if fill_params else "excluded and counted"),
    ]
    active = {k: v for k, v in filters.as_dict().items() if k != "chat_only" and v is not None}
    lines.append("filters: " + (", ".join(f"{k}={v}" for k, v in active.items()) if active else "none"))
    lines.append("Open LLM Leaderboard: " + ("chat models only" if filters.chat_only else "all models"))
    return tuple(lines)


def _matches(series: pd.Series, wanted: str) -> pd.Series:
    values = series.astype(str).str.strip().str.lower()
    wanted = wanted.strip().lower()
    if wanted in ("none", "unquantized", "no"):
        return values.isin(("", "none", "unquantized", "no", "nan"))
    return values == wanted


def _filter_rows(table: LeaderboardTable, filters: Filters, notes: list[str]) -> pd.DataFrame:
    frame = table.frame
    if table.kind == LLM_PERF:
        for column, wanted in (("precision", filters.precision), ("quantization", filters.quantization),
                               ("backend", filters.backend)):
            if wanted is None:
                continue
            if column not in frame:
                notes.append(f"{table.source}: no {column} column, --{column} not applied")
                continue
            frame = frame[_matches(frame[column], wanted)]
    if table.kind == OPEN_LLM and filters.chat_only:
        if "chat_template" in frame:
            chat = frame["chat_template"].str.lower().isin(("true", "1", "yes", "1.0"))
        elif "type" in frame:
            chat = frame["type"].str.lower().str.contains("chat")
        else:
            notes.append(f"{table.source}: no chat flag (Chat Template or Type column): all models kept")
            return frame
        frame = frame[chat]
    return frame


def _metric_values(metric: str, frame: pd.DataFrame) -> pd.Series:
    raw = frame[SOURCE_COLUMN[metric]]
    if metric == "energy_kwh_per_mtok":
        return 1e6 / raw.where(raw > 0)
    return raw


def panel_points(frame: pd.DataFrame, hardware: str, metric: str, lookup: ParamLookup | None,
                 ) -> tuple[list[Point], list[Exclusion], int]:
    """Median per model; (points, excluded models, rows dropped for a missing value).

    Grouped aggregations, not a loop over models: 10,000 rows must take well under a second.
    """
    values = _metric_values(metric, frame)
    usable = values.notna() & (values > 0)
    work = pd.DataFrame({"model": frame["model"].astype(str), "params_b": frame["params_b"], "value": values})
    good = work[usable]
    by_model = good.groupby("model", sort=True)
    medians = by_model["value"].median()
    counts = by_model["value"].size()
    sizes = good[good["params_b"] > 0].groupby("model")["params_b"].median()
    excluded = [Exclusion(str(model), f"no positive numeric {metric} value")
                for model in sorted(set(work["model"]) - set(medians.index))]
    points: list[Point] = []
    for model, value in medians.items():
        name = str(model)
        note = None
        if name in sizes.index:
            params = float(sizes[name])
        else:
            known = lookup(name) if lookup is not None else None
            if known is None:
                excluded.append(Exclusion(name, "parameter count missing or zero"))
                continue
            count, where = known
            params = count / 1e9
            note = f"{name}: size {params:.3g} B from its {where} (the file has none or 0)"
        points.append(Point(hardware=hardware, metric=metric, model=name, params_b=params, value=float(value),
                            rows=int(counts[name]), params_note=note))
    excluded.sort(key=lambda e: e.model)
    return points, excluded, int((~usable).sum())


def _fit_panel(hardware: str, metric: str, points: Sequence[Point], excluded: Sequence[Exclusion],
               fit_kind: str = LOG_LOG) -> PanelFit:
    try:
        fit: LogLogFit | None = fit_size([p.params_b for p in points], [p.value for p in points], fit_kind)
        reason = None
    except FitError as exc:
        fit, reason = None, str(exc)
    return PanelFit(hardware=hardware, metric=metric, points=tuple(points), excluded=tuple(excluded),
                    fit=fit, reason=reason)


def across_hardware(panels: Iterable[PanelFit], metric: str, fit_kind: str = LOG_LOG) -> PanelFit:
    """Mean per model of its per-hardware points; a model excluded everywhere stays excluded."""
    by_model: dict[str, list[Point]] = {}
    excluded: dict[str, Exclusion] = {}
    for panel in panels:
        for point in panel.points:
            by_model.setdefault(point.model, []).append(point)
        for gone in panel.excluded:
            excluded.setdefault(gone.model, gone)
    points = [
        Point(hardware=ACROSS, metric=metric, model=model, params_b=float(np.median([p.params_b for p in pts])),
              value=float(np.mean([p.value for p in pts])), rows=sum(p.rows for p in pts),
              params_note=next((p.params_note for p in pts if p.params_note), None))
        for model, pts in sorted(by_model.items())
    ]
    still_out = [e for model, e in sorted(excluded.items()) if model not in by_model]
    return _fit_panel(ACROSS, metric, points, still_out, fit_kind)


def analyse(tables: Sequence[LeaderboardTable], filters: Filters = Filters(), fill_params: bool = True,
            lookup: ParamLookup | None = None, fit_kind: str = LOG_LOG) -> Analysis:
    """Every panel the tables allow: per hardware per metric, plus across hardware for energy."""
    if fill_params and lookup is None:
        lookup = known_parameter_count
    notes: list[str] = []
    frames: dict[tuple[str, str], list[pd.DataFrame]] = {}
    for table in tables:
        frame = _filter_rows(table, filters, notes)
        for metric, (kind, _unit) in METRICS.items():
            if kind != table.kind or SOURCE_COLUMN[metric] not in frame:
                continue
            for hardware, part in frame.groupby("hardware", sort=True):
                frames.setdefault((str(hardware), metric), []).append(part)
    panels: list[PanelFit] = []
    for (hardware, metric), parts in sorted(frames.items(), key=lambda kv: (list(METRICS).index(kv[0][1]), kv[0][0])):
        points, excluded, dropped = panel_points(pd.concat(parts, ignore_index=True), hardware, metric,
                                                 lookup if fill_params else None)
        if dropped:
            notes.append(f"{hardware} {metric}: {plural(dropped, 'row')} without a positive numeric value left out")
        notes.extend(p.params_note for p in points if p.params_note)
        panels.append(_fit_panel(hardware, metric, points, excluded, fit_kind))
    energy = [p for p in panels if p.metric == "energy_kwh_per_mtok"]
    if len(energy) >= 2:
        panels.insert(len(energy), across_hardware(energy, "energy_kwh_per_mtok", fit_kind))
    return Analysis(panels=tuple(panels), notes=tuple(dict.fromkeys(notes)), filters=filters,
                    method=method_lines(filters, fill_params, fit_kind), fit_kind=fit_kind)
