"""Draw a run's figures with matplotlib (Agg backend, forced: no screen is ever needed).

Each ``draw_*`` takes one figure's data from :mod:`.figure_data` and returns a matplotlib
Figure; :func:`build_figures` computes every figure a run supports, :func:`save_figures`
writes each as PNG and SVG. What is drawn is decided in figure_data, so tests check that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib

matplotlib.use("Agg", force=True)   # before pyplot: a headless backend whatever the environment says

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..bulk import collector_paused  # noqa: E402
from ..quality.efficiency import EfficiencyRow  # noqa: E402
from . import figure_data as fd  # noqa: E402
from .style import apply_style, log_axis  # noqa: E402

FORMATS = ("png", "svg")
DISTRIBUTION_METRICS = ("energy", "latency", "energy_per_token", "tokens", "ttft", "emissions")
RATIO_METRICS = ("energy", "latency")
CAPTION_GID = "caption"   # the caption drawn under a figure; the HTML report writes it as text instead


@dataclass(frozen=True)
class PlotSpec:
    """One figure to draw: its file stem, its data, and a line saying what it shows."""

    name: str
    data: Any
    title: str


def _jitter(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.18, 0.18, n)


def _boxes(ax: Any, series: Sequence[fd.Series], log: bool) -> None:
    positions = np.arange(1, len(series) + 1)
    ax.boxplot([s.values for s in series], positions=positions, widths=0.55, showfliers=False,
               medianprops={"color": "black", "linewidth": 1.5}, patch_artist=True,
               boxprops={"facecolor": "none"})
    for pos, s in zip(positions, series):
        ax.scatter(pos + _jitter(len(s.shown), int(pos)), s.shown, s=6, alpha=0.45, color=s.color,
                   linewidths=0, rasterized=len(s.shown) > 500, zorder=3)
    ax.set_xticks(positions, [s.model for s in series], rotation=20 if len(series) > 4 else 0, ha="right"
                  if len(series) > 4 else "center")
    if log:
        log_axis(ax, "y")


def _figure(width: float = 7.0, height: float = 4.2, ncols: int = 1) -> tuple[Figure, Any]:
    apply_style()
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False, sharey=ncols > 1)
    return fig, axes[0]


def _caption(fig: Figure, text: str, y: float = -0.02) -> None:
    # Wrapped here, by characters: matplotlib's wrap=True measures the text again at every draw.
    import textwrap

    width = max(60, int(fig.get_figwidth() * 16))
    fig.text(0.01, y, "\n".join(textwrap.wrap(text, width)), ha="left", va="top", fontsize=7.5, color="#333333",
             gid=CAPTION_GID)


def draw_distribution(data: fd.DistributionFigure) -> Figure:
    fig, (ax,) = _figure(max(5.0, 1.3 * len(data.series) + 2.5))
    _boxes(ax, data.series, data.log)
    ax.set_title(data.title)
    ax.set_ylabel(data.ylabel)
    _caption(fig, data.caption, -0.02 if len(data.series) <= 4 else -0.12)   # below slanted model names
    return fig


def draw_ratios(data: fd.RatioFigure) -> Figure:
    fig, (ax,) = _figure(max(5.0, 1.4 * len(data.series) + 2.5))
    ax.axhline(1.0, color="black", linewidth=0.8)
    for i, s in enumerate(data.series, start=1):
        ax.scatter(i + _jitter(len(s.shown), i), 10 ** s.shown, s=6, alpha=0.45, color=s.color, linewidths=0,
                   rasterized=len(s.shown) > 500, zorder=3)
        if s.hl_ratio is not None and s.hl_low is not None and s.hl_high is not None:
            ax.errorbar([i + 0.3], [s.hl_ratio], yerr=[[s.hl_ratio - s.hl_low], [s.hl_high - s.hl_ratio]],
                        fmt="D", color="black", capsize=4, markersize=5, zorder=4)
            ax.annotate(f"{s.hl_ratio:.3g}x", (i + 0.36, s.hl_ratio), fontsize=8, va="center")
    log_axis(ax, "y")
    ax.set_xticks(range(1, len(data.series) + 1), [f"{s.model}\n(n={s.n_shared})" for s in data.series])
    ax.set_xlim(0.4, len(data.series) + 0.9)
    ax.set_title(data.title)
    ax.set_ylabel(data.ylabel)
    _caption(fig, data.caption)
    return fig


def draw_scatter(data: fd.ScatterFigure) -> Figure:
    fig, (ax,) = _figure(6.5, 4.5)
    for s in data.series:
        ax.scatter(s.x, s.y, s=8, alpha=0.5, color=s.color, label=f"{s.model} (n={s.n})", linewidths=0,
                   rasterized=len(s.x) > 500)
    if data.xlog:
        log_axis(ax, "x")
    if data.ylog:
        log_axis(ax, "y")
    ax.set_title(data.title)
    ax.set_xlabel(data.xlabel)
    ax.set_ylabel(data.ylabel)
    ax.legend(markerscale=2)
    _caption(fig, data.caption)
    return fig


def draw_accuracy(data: fd.AccuracyFigure) -> Figure:
    n = len(data.panels)
    apply_style()
    # One energy axis for every panel (they show the same metric); the constrained layout keeps
    # titles, tick labels and the legend (outside, right) from overlapping.
    fig, grid = plt.subplots(1, n, figsize=(min(4.0 * n + 2.0, 18.0), 4.2), squeeze=False, sharex=True,
                             sharey=True, layout="constrained")
    axes = grid[0]
    for ax, panel in zip(axes, data.panels):
        for p in panel.points:
            ax.errorbar([p.energy_j], [p.accuracy], yerr=[[p.accuracy - p.low], [p.high - p.accuracy]],
                        fmt="o", color=p.color, capsize=3, markersize=7 if p.pareto else 5,
                        markeredgecolor="black" if p.pareto else p.color, markeredgewidth=1.4 if p.pareto else 1,
                        label=p.model)
        if panel.front:
            xs, ys = zip(*panel.front)
            # A front of one model is that model alone: a step line needs two points to show.
            ax.plot(xs, ys, color="black", linewidth=1, linestyle="--", marker="o", markersize=9,
                    markerfacecolor="none", label="Pareto front", zorder=1, drawstyle="steps-post")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"task: {panel.task}")
        ax.set_xlabel(data.xlabel)
    log_axis(axes[0], "x")   # shared: one call sets every panel
    axes[0].set_ylabel("accuracy (95% Wilson interval)")
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="outside right upper")
    fig.suptitle(data.title)
    _caption(fig, data.caption)
    return fig


def draw_grouped(data: fd.GroupedFigure) -> Figure:
    fig, (ax,) = _figure(max(6.0, 0.55 * len(data.series) + 2.0), 4.5)
    _boxes(ax, data.series, data.log)
    ax.set_xticks(ax.get_xticks(), [s.model for s in data.series], rotation=35, ha="right", fontsize=8)
    ax.set_title(data.title)
    ax.set_ylabel(data.ylabel)
    longest = max((len(s.model) for s in data.series), default=10)
    _caption(fig, data.caption, -0.04 - 0.007 * longest)   # below the slanted "group / model" names
    return fig


def draw_machines(data: fd.MachinesFigure) -> Figure:
    n = len(data.panels)
    fig, axes = _figure(min(3.8 * n + 1.0, 16.0), 4.2, ncols=n)
    for ax, panel in zip(axes, data.panels):
        _boxes(ax, panel.series, data.log)
        ax.set_title(panel.host)
    axes[0].set_ylabel(data.ylabel)
    fig.suptitle(data.title, y=1.02)
    _caption(fig, data.caption)
    return fig


def draw_timeline(data: fd.TimelineFigure) -> Figure:
    fig, (ax,) = _figure(7.5, 3.8)
    for name, values in data.lines:
        ax.plot(data.time, values, label=name, linewidth=1.2)
    ax.set_title(data.title)
    ax.set_xlabel(data.xlabel)
    ax.legend()
    _caption(fig, data.caption)
    return fig


DRAWERS: dict[type, Callable[[Any], Figure]] = {
    fd.DistributionFigure: draw_distribution, fd.RatioFigure: draw_ratios, fd.ScatterFigure: draw_scatter,
    fd.AccuracyFigure: draw_accuracy, fd.GroupedFigure: draw_grouped, fd.MachinesFigure: draw_machines,
    fd.TimelineFigure: draw_timeline,
}


def draw(spec: PlotSpec) -> Figure:
    return DRAWERS[type(spec.data)](spec.data)


def build_figures(frame: pd.DataFrame, rows: Sequence[EfficiencyRow], *, baseline: str | None = None,
                  timeline: pd.DataFrame | None = None, alpha: float = 0.05) -> list[PlotSpec]:
    """Every figure the data supports, in reading order (figures without data are left out)."""
    specs: list[PlotSpec] = []

    def add(name: str, data: Any) -> None:
        if data is not None:
            specs.append(PlotSpec(name, data, data.title))

    for metric in DISTRIBUTION_METRICS:
        add(f"distribution_{metric}", fd.distribution(frame, metric))
    for metric in RATIO_METRICS:
        add(f"paired_ratio_{metric}", fd.paired_ratios(frame, metric, baseline, alpha=alpha))
    add("energy_vs_latency", fd.energy_vs_latency(frame))
    add("accuracy_vs_energy", fd.accuracy_vs_energy(rows, frame))
    add("tokens_vs_energy", fd.tokens_vs_energy(frame))
    add("by_group_energy", fd.grouped(frame, "energy"))
    add("machines_energy", fd.machines(frame, "energy"))
    if timeline is not None:
        add("timeline", fd.timeline(timeline))
    return specs


@dataclass(frozen=True)
class Drawn:
    """The files of one figure, and its PNG without the caption (the HTML report says that as text)."""

    spec: PlotSpec
    files: tuple[Path, ...]
    embedded_png: bytes | None


def save_figures(specs: Sequence[PlotSpec], out_dir: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Draw each figure once and save it in every format; returns the files written."""
    return [path for drawn in render_figures(specs, out_dir, formats, embed=False) for path in drawn.files]


def render_figures(specs: Sequence[PlotSpec], out_dir: Path | None, formats: Sequence[str] = FORMATS, *,
                   embed: bool = True) -> list[Drawn]:
    """Draw each figure once: its files in ``out_dir`` (none when None) and, with ``embed``, the
    caption-free PNG the HTML report embeds, so `plot` and `report` made together draw nothing twice.

    Every output is byte-identical to a figure drawn and saved on its own (``savefig.bbox =
    "tight"``): the PNG's tight box and the caption-free one come from one layout pass of the
    PNG renderer instead of a pass per saved image.
    """
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    done = []
    for spec in specs:
        with collector_paused():
            fig = draw(spec)
            try:
                done.append(_render(spec, fig, out_dir, formats if out_dir is not None else (), embed))
            finally:
                plt.close(fig)
    return done


def _render(spec: PlotSpec, fig: Figure, out_dir: Path | None, formats: Sequence[str], embed: bool) -> Drawn:
    import io

    boxes = _png_boxes(fig, captionless=embed) if embed or "png" in formats else None
    written = []
    for fmt in formats:
        assert out_dir is not None
        path = out_dir / f"{spec.name}.{fmt}"
        bbox: Any = boxes[0] if boxes is not None and fmt == "png" else None
        fig.savefig(path, format=fmt, metadata=_metadata(fmt), bbox_inches=bbox)
        written.append(path)
    embedded = None
    if embed:
        for text in _captions(fig):
            text.remove()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata=_metadata("png"), bbox_inches=None if boxes is None else boxes[1])
        embedded = buffer.getvalue()
    return Drawn(spec, tuple(written), embedded)


def _captions(fig: Figure) -> list[Any]:
    return [t for t in fig.texts if t.get_gid() == CAPTION_GID]


def _png_boxes(fig: Figure, *, captionless: bool) -> tuple[Any, Any] | None:
    """The tight boxes (inches, padded) of the figure's PNG with and (``captionless``) without its
    caption, measured as ``savefig(bbox_inches="tight")`` measures them: one layout pass by the PNG
    renderer at the saving dpi. None when the style saves whole figures (no tight box to share)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if matplotlib.rcParams["savefig.bbox"] != "tight" or not isinstance(fig.canvas, FigureCanvasAgg):
        return None
    pad = matplotlib.rcParams["savefig.pad_inches"]
    saved_dpi = fig.dpi
    dpi = saved_dpi if matplotlib.rcParams["savefig.dpi"] == "figure" else matplotlib.rcParams["savefig.dpi"]
    fig.dpi = dpi
    try:
        renderer = fig.canvas.get_renderer()  # type: ignore[no-untyped-call]
        with renderer._draw_disabled():   # layout only, as savefig's own tight pass
            fig.draw(renderer)
        full = fig.get_tightbbox(renderer).padded(pad)
        if not captionless:
            return full, None
        captions = _captions(fig)
        for text in captions:
            text.set_visible(False)
        try:
            bare = fig.get_tightbbox(renderer).padded(pad)
        finally:
            for text in captions:
                text.set_visible(True)
    finally:
        fig.dpi = saved_dpi
    return full, bare


def _metadata(fmt: str) -> dict[str, Any]:
    # No creation date: the same run gives byte-identical SVG files.
    return {"Date": None} if fmt == "svg" else {}


def figure_bytes(spec: PlotSpec, fmt: str = "png", *, caption: bool = True) -> bytes:
    """One figure rendered in memory (for the HTML report: ``caption=False`` where a page says it)."""
    import io

    with collector_paused():
        fig = draw(spec)
        try:
            if not caption:
                for text in _captions(fig):
                    text.remove()
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, metadata=_metadata(fmt))
            return buffer.getvalue()
        finally:
            plt.close(fig)
