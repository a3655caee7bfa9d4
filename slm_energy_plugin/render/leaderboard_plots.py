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

from . import style
from ..leaderboard.analysis import METRICS, Analysis, PanelFit
from ..leaderboard.fit import LINEAR
from ..leaderboard.own_runs import OwnPoint
from ..leaderboard.readers import LLM_PERF, OPEN_LLM, PRICE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LINE_POINTS = 50
LABEL_EXTREMES = 1     # smallest and largest model per panel
LABEL_OUTLIERS = 2     # furthest from the trend
EXTENSION = 2.0        # the fit may reach this factor beyond the data's x range (dashed), no further


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
    line_x: tuple[float, ...] = ()            # the fit over the data's x range (never beyond: no extrapolation)
    line_y: tuple[float, ...] = ()
    extension: tuple[tuple[tuple[float, float], ...], ...] = ()   # short dashed reaches toward own runs
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
    # The fit is drawn over the data it was fitted on; a run of ours outside that range gets a
    # short dashed reach toward it (at most EXTENSION times the range's end), not a trend three
    # decades long that the data never saw.
    lo, hi = fit.x_range
    if fit.kind == LINEAR:
        base = replace(base, scale="linear")
        line_x = [lo + (hi - lo) * i / (LINE_POINTS - 1) for i in range(LINE_POINTS)]
    else:
        low, high = math.log10(lo), math.log10(hi)
        line_x = [10 ** (low + (high - low) * i / (LINE_POINTS - 1)) for i in range(LINE_POINTS)]
    line_x[0], line_x[-1] = lo, hi   # exact ends: no rounding leaves a point off the line
    trend, lower, upper = fit.band(line_x)
    reaches = []
    if any(m.x < lo for m in own):
        reaches.append((max(min(m.x for m in own), lo / EXTENSION), lo))
    if any(m.x > hi for m in own):
        reaches.append((hi, min(max(m.x for m in own), hi * EXTENSION)))
    extension = tuple(tuple(zip(ends, fit.band(list(ends))[0])) for ends in reaches)
    return replace(base, line_x=tuple(line_x), line_y=tuple(trend), band_low=tuple(lower), band_high=tuple(upper),
                   extension=extension, fit_label=_fit_label(fit.slope, fit.slope_ci95, fit.r2, fit.n, fit.kind))


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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(cast(Any, style.RC_PARAMS)):  # rcParams' keys are typed as literals
        columns = min(len(panels), 3)
        rows = math.ceil(len(panels) / columns)
        figure = Figure(figsize=(4.6 * columns, 4.4 * rows), layout="constrained")
        FigureCanvasAgg(figure)   # a renderer to measure the names with (place_labels)
        axes = figure.subplots(rows, columns, squeeze=False)
        names: dict[Any, list[tuple[str, float, float]]] = {}
        for index, (ax, data) in enumerate(zip(axes.flat, panels)):
            for axis in "xy":
                if data.scale == "log":   # plain labels: text.parse_math is off, 10^n would print as written
                    style.log_axis(ax, axis)
            ax.scatter(data.x, data.y, s=style.POINT_SIZE, color=style.colour(index), marker=style.marker(index),
                       edgecolor=style.BLACK, linewidth=0.4, label="leaderboard models", zorder=3)
            if data.line_x:
                ax.fill_between(data.line_x, data.band_low, data.band_high, color=style.GREY,
                                alpha=style.BAND_ALPHA, linewidth=0, label="95% band of the fit")
                ax.plot(data.line_x, data.line_y, color=style.FIT_COLOUR, linewidth=1.2, label=data.fit_label)
                for reach in data.extension:
                    xs, ys = zip(*reach)
                    ax.plot(xs, ys, color=style.FIT_COLOUR, linewidth=1.0, linestyle="--", gid="fit-extension")
            labels = [(model.rsplit("/", 1)[-1], x, y) for model, x, y in zip(data.models, data.x, data.y)
                      if model in data.labelled]
            if data.own:
                ax.scatter([m.x for m in data.own], [m.y for m in data.own], s=style.OWN_RUN_SIZE,
                           color=style.OWN_RUN_COLOUR, marker=style.OWN_RUN_MARKER, edgecolor=style.BLACK,
                           linewidth=0.6, label="this project's runs", zorder=4)
            ax.set_title(data.title)
            ax.set_xlabel("parameters (B)")
            ax.set_ylabel(data.unit)
            # Below the panel, not over the points and their names.
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=7, frameon=False)
            ax.margins(x=0.08, y=0.12)   # room for the names at the ends
            names[ax] = labels + [(m.label, m.x, m.y) for m in data.own]
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        if footer:
            # Where the points came from travels with the picture (e.g. "...-sample.csv"), wrapped to
            # the figure's width. supxlabel, not text: the constrained layout makes room for it.
            import textwrap

            figure.supxlabel("\n".join(textwrap.wrap(footer, int(figure.get_figwidth() * 15))), fontsize=7,
                             color=style.GREY)
        figure.draw_without_rendering()   # the layout first: labels are placed where the axes ended up
        for (ax, chosen), data in zip(names.items(), panels):
            place_labels(ax, chosen, avoid=list(zip(data.x, data.y)) + [(m.x, m.y) for m in data.own])
    return figure


# Where a name may go around its point, in points: right-above first, then the other corners.
OFFSETS = ((4, 3, "left", "bottom"), (4, -3, "left", "top"), (-4, 3, "right", "bottom"), (-4, -3, "right", "top"),
           (4, 12, "left", "bottom"), (4, -12, "left", "top"), (-4, 12, "right", "bottom"),
           (-4, -12, "right", "top"), (4, 22, "left", "bottom"), (4, -22, "left", "top"), (-4, 22, "right", "bottom"),
           (-4, -22, "right", "top"))
MARKER_CLEARANCE = 3.0   # points around a marker's centre that a name keeps clear of (markers are ~5 points wide)


def place_labels(ax: Any, names: Sequence[tuple[str, float, float]],
                 avoid: Sequence[tuple[float, float]] = ()) -> None:
    """Name points without overprinting: each name takes the first spot around its point that
    stays inside the panel and overlaps no name already placed and no point of ``avoid`` (data
    coordinates, a marker's radius around each); else the first spot that only keeps clear of names,
    else the first spot."""
    renderer = ax.figure.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    radius = MARKER_CLEARANCE * ax.figure.dpi / 72
    points = ax.transData.transform(list(avoid)) if avoid else []

    def on_a_point(box: Any) -> bool:
        return any(box.x0 - radius <= px <= box.x1 + radius and box.y0 - radius <= py <= box.y1 + radius
                   for px, py in points)

    taken: list[Any] = []
    for text, x, y in names:
        chosen = None
        second: tuple[int, int, str, str] | None = None   # clear of names, not of points
        for dx, dy, ha, va in OFFSETS:
            note = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7,
                               ha=ha, va=va, color=style.BLACK)
            note.set_in_layout(False)   # the layout is done; names move, panels do not
            box = note.get_window_extent(renderer)
            fits = (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1)
            if fits and not any(box.overlaps(other) for other in taken):
                if not on_a_point(box):
                    chosen = note
                    break
                second = second or (dx, dy, ha, va)
            note.remove()
        if chosen is None and second is not None:
            dx, dy, ha, va = second
            chosen = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7, ha=ha,
                                 va=va, color=style.BLACK)
            chosen.set_in_layout(False)
        if chosen is None:
            dx, dy, ha, va = OFFSETS[0]
            chosen = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7, ha=ha,
                                 va=va, color=style.BLACK)
            chosen.set_in_layout(False)
        taken.append(chosen.get_window_extent(renderer))


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
