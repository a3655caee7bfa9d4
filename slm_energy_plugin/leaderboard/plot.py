"""Log-log scatter per hardware with the fit, its 95% band, and this project's runs.

:func:`panel_data` is pure: it decides what each panel shows (points, fit line, band, which
models get a label). :func:`draw` hands exactly that to matplotlib (Agg, no display), one
figure per metric, one panel per hardware; tests read the data back from the figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, cast

from ..render import style
from .analysis import METRICS, Analysis, PanelFit
from .fit import LINEAR
from .own_runs import OwnPoint
from .readers import LLM_PERF, OPEN_LLM, PRICE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LINE_POINTS = 50
LABEL_EXTREMES = 1     # smallest and largest model per panel
LABEL_OUTLIERS = 2     # furthest from the trend


@dataclass(frozen=True)
class OwnMarker:
    label: str
    x: float
    y: float
    estimated: bool


@dataclass(frozen=True)
class PanelData:
    title: str
    metric: str
    unit: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    models: tuple[str, ...]
    labelled: tuple[str, ...]                 # models named on the chart
    line_x: tuple[float, ...] = ()
    line_y: tuple[float, ...] = ()
    band_low: tuple[float, ...] = ()
    band_high: tuple[float, ...] = ()
    fit_label: str = ""
    own: tuple[OwnMarker, ...] = ()
    scale: str = "log"                        # axes: log for log-log fits, linear for --fit linear


def _choose_labels(panel: PanelFit) -> tuple[str, ...]:
    """A few names, not all: the extremes of size and the largest departures from the trend."""
    points = sorted(panel.points, key=lambda p: p.params_b)
    chosen = [p.model for p in points[:LABEL_EXTREMES] + points[-LABEL_EXTREMES:]]
    if panel.fit is not None:
        fit = panel.fit
        far = sorted(points, key=lambda p: -abs(fit.residual_log10(p.params_b, p.value)))
        chosen += [p.model for p in far[:LABEL_OUTLIERS]]
    return tuple(dict.fromkeys(chosen))


def panel_data(panel: PanelFit, runs: Sequence[OwnPoint] = ()) -> PanelData:
    own = tuple(
        OwnMarker(label=r.alias + (" (estimated)" if r.estimated else ""), x=r.params_b, y=r.value,
                  estimated=r.estimated)
        for r in runs
        if r.hardware_class == panel.hardware and r.params_b is not None and r.value is not None
    )
    # Energy panels differ by hardware; the CO2 and price panels by what they measure.
    title = panel.hardware if METRICS[panel.metric][0] == LLM_PERF else f"{panel.hardware}: {panel.unit}"
    base = PanelData(title=title, metric=panel.metric, unit=panel.unit,
                     x=tuple(p.params_b for p in panel.points), y=tuple(p.value for p in panel.points),
                     models=tuple(p.model for p in panel.points), labelled=_choose_labels(panel), own=own)
    fit = panel.fit
    if fit is None:
        return base
    xs = [m.x for m in own] + list(fit.x_range)
    if fit.kind == LINEAR:
        base = replace(base, scale="linear")
        lo, hi = min(xs), max(xs)
        line_x = [lo + (hi - lo) * i / (LINE_POINTS - 1) for i in range(LINE_POINTS)]
    else:
        low, high = math.log10(min(xs)), math.log10(max(xs))
        line_x = [10 ** (low + (high - low) * i / (LINE_POINTS - 1)) for i in range(LINE_POINTS)]
    line_x[0], line_x[-1] = min(xs), max(xs)   # exact ends: no rounding leaves a point off the line
    trend, lower, upper = fit.band(line_x)
    return replace(base, line_x=tuple(line_x), line_y=tuple(trend), band_low=tuple(lower), band_high=tuple(upper),
                     fit_label=_fit_label(fit.slope, fit.slope_ci95, fit.r2, fit.n, fit.kind))


def _fit_label(slope: float, ci: tuple[float, float], r2: float, n: int, kind: str) -> str:
    # A linear slope is in metric units per billion parameters and may be tiny ($ per 1K tokens).
    digits = ".2f" if kind != LINEAR else ".3g"
    return f"slope {slope:{digits}} [{ci[0]:{digits}}, {ci[1]:{digits}}], R2 {r2:.2f}, n {n}"


FIGURE_NAMES = {LLM_PERF: "energy", OPEN_LLM: "co2", PRICE: "price"}


def figures_data(analysis: Analysis, runs: Sequence[OwnPoint] = ()) -> dict[str, list[PanelData]]:
    """figure name (energy, co2, price) -> its panels, in the analysis' order."""
    grouped: dict[str, list[PanelData]] = {}
    for panel in analysis.panels:
        grouped.setdefault(FIGURE_NAMES[METRICS[panel.metric][0]], []).append(panel_data(panel, runs))
    return grouped


def build_figure(panels: Sequence[PanelData], footer: str = "") -> "Figure":
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    with matplotlib.rc_context(cast(Any, style.RC_PARAMS)):  # rcParams' keys are typed as literals
        columns = min(len(panels), 3)
        rows = math.ceil(len(panels) / columns)
        figure = Figure(figsize=(4.2 * columns, 3.6 * rows), layout="constrained")
        axes = figure.subplots(rows, columns, squeeze=False)
        for index, (ax, data) in enumerate(zip(axes.flat, panels)):
            ax.set_xscale(data.scale)
            ax.set_yscale(data.scale)
            ax.scatter(data.x, data.y, s=style.POINT_SIZE, color=style.colour(index), marker=style.marker(index),
                       edgecolor=style.BLACK, linewidth=0.4, label="leaderboard models", zorder=3)
            if data.line_x:
                ax.fill_between(data.line_x, data.band_low, data.band_high, color=style.GREY,
                                alpha=style.BAND_ALPHA, linewidth=0, label="95% band of the fit")
                ax.plot(data.line_x, data.line_y, color=style.FIT_COLOUR, linewidth=1.2, label=data.fit_label)
            for model, x, y in zip(data.models, data.x, data.y):
                if model in data.labelled:
                    ax.annotate(model.rsplit("/", 1)[-1], (x, y), xytext=(3, 3), textcoords="offset points",
                                fontsize=7)
            if data.own:
                ax.scatter([m.x for m in data.own], [m.y for m in data.own], s=style.OWN_RUN_SIZE,
                           color=style.OWN_RUN_COLOUR, marker=style.OWN_RUN_MARKER, edgecolor=style.BLACK,
                           linewidth=0.6, label="this project's runs", zorder=4)
                for m in data.own:
                    ax.annotate(m.label, (m.x, m.y), xytext=(4, -10), textcoords="offset points", fontsize=7,
                                color=style.BLACK)
            ax.set_title(data.title)
            ax.set_xlabel("parameters (B)")
            ax.set_ylabel(data.unit)
            ax.legend(loc="upper left", fontsize=7)
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        if footer:
            # Where the points came from travels with the picture (e.g. "...-sample.csv").
            # supxlabel, not text: the constrained layout makes room for it under the panels.
            figure.supxlabel(footer, fontsize=7, color=style.GREY)
    return figure


def draw(analysis: Analysis, runs: Sequence[OwnPoint], directory: Path, footer: str = "") -> list[Path]:
    """One PNG per figure (energy, co2, price) in ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, panels in figures_data(analysis, runs).items():
        figure = build_figure(panels, footer)
        path = directory / f"leaderboard-{name}.png"
        figure.savefig(path)
        written.append(path)
    return written
