"""Draw a run's figures with matplotlib (Agg backend, forced: no screen is ever needed).

Each ``draw_*`` takes one figure's data from :mod:`.figure_data` and returns a matplotlib
Figure; :func:`build_figures` computes every figure a run supports, :func:`save_figures`
writes each as PNG and SVG. What is drawn is decided in figure_data, so tests check that.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import matplotlib

matplotlib.use("Agg", force=True)   # before pyplot: a headless backend whatever the environment says

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ..bulk import collector_paused  # noqa: E402
from ..errors import ConfigError  # noqa: E402
from ..quality.efficiency import EfficiencyRow  # noqa: E402
from . import figure_data as fd  # noqa: E402
from .png_file import png_image, png_pair  # noqa: E402
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


def _whiskers(s: fd.Series, whis: float = 1.5) -> tuple[float, float]:
    """The whiskers' ends as ``matplotlib.cbook.boxplot_stats`` puts them (the furthest values
    within ``whis`` IQR of the box, never inside the box), from the quartiles the figure data
    holds: boxplot_stats works out the mean, notches and fliers too, which are not drawn."""
    assert s.q1 is not None and s.q3 is not None
    iqr = s.q3 - s.q1
    high = s.values[s.values <= s.q3 + whis * iqr]
    low = s.values[s.values >= s.q1 - whis * iqr]
    return (s.q1 if len(low) == 0 or np.min(low) > s.q1 else float(np.min(low)),
            s.q3 if len(high) == 0 or np.max(high) < s.q3 else float(np.max(high)))


def _boxes(ax: Any, series: Sequence[fd.Series], log: bool, labels: dict[str, Any] | None = None) -> None:
    """Box plots as ``ax.boxplot`` draws them (box: quartiles, whiskers at 1.5 IQR with caps,
    median line; no fliers: every point is drawn), but as three line collections, not six lines
    per box: forty boxes are 240 artists to make, lay out and draw otherwise. ``labels``: the
    model names' text properties (default: slanted when there are more than four)."""
    from matplotlib.collections import LineCollection

    positions = np.arange(1, len(series) + 1)
    half, cap = 0.55 / 2, 0.55 / 4
    outlines: list[Any] = []
    whiskers: list[Any] = []
    medians: list[Any] = []
    for pos, s in zip(positions, series):
        if not len(s.values):
            continue
        q1, q3, med = s.q1, s.q3, s.median
        low, high = _whiskers(s)
        outlines.append([(pos - half, q1), (pos + half, q1), (pos + half, q3), (pos - half, q3), (pos - half, q1)])
        whiskers += [[(pos, q1), (pos, low)], [(pos, q3), (pos, high)],
                     [(pos - cap, low), (pos + cap, low)], [(pos - cap, high), (pos + cap, high)]]
        medians.append([(pos - half, med), (pos + half, med)])
    ax.add_collection(LineCollection(outlines + whiskers, colors="black", linewidths=1.0, zorder=2))
    ax.add_collection(LineCollection(medians, colors="black", linewidths=1.5, zorder=2.1))
    for pos, s in zip(positions, series):
        ax.scatter(pos + _jitter(len(s.shown), int(pos)), s.shown, s=6, alpha=0.45, color=s.color,
                   linewidths=0, rasterized=len(s.shown) > 500, zorder=3)
    ax.set_xlim(0.5, len(series) + 0.5)
    if labels is None:
        labels = {"rotation": 20 if len(series) > 4 else 0, "ha": "right" if len(series) > 4 else "center"}
    ax.set_xticks(positions, [s.model for s in series], **labels)
    if log:
        log_axis(ax, "y")


def _figure(width: float = 7.0, height: float = 4.2, ncols: int = 1) -> tuple[Figure, Any]:
    apply_style()
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False, sharey=ncols > 1)
    return fig, axes[0]


def _caption(fig: Figure, text: str, y: float = -0.02) -> None:
    # Wrapped here, by characters: matplotlib's wrap=True measures the text again at every draw.
    # ``y`` serves a figure saved directly; render_figures moves the caption just below the lowest ink.
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
    bars = []   # (x, ratio, low, high)
    for i, s in enumerate(data.series, start=1):
        ax.scatter(i + _jitter(len(s.shown), i), 10 ** s.shown, s=6, alpha=0.45, color=s.color, linewidths=0,
                   rasterized=len(s.shown) > 500, zorder=3)
        if s.hl_ratio is not None and s.hl_low is not None and s.hl_high is not None:
            bars.append((i + 0.3, s.hl_ratio, s.hl_low, s.hl_high))
            ax.annotate(f"{s.hl_ratio:.3g}x", (i + 0.36, s.hl_ratio), fontsize=8, va="center")
    if bars:
        # One errorbar for every model: all black, apart and drawn above the points (zorder 4), so
        # the same pixels as one per model, from 4 artists instead of 4 per model.
        x, ratio, low, high = (np.array(column) for column in zip(*bars))
        ax.errorbar(x, ratio, yerr=[ratio - low, high - ratio], fmt="D", color="black", capsize=4, markersize=5,
                    zorder=4)
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
    _boxes(ax, data.series, data.log, {"rotation": 35, "ha": "right", "fontsize": 8})
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

    One Agg drawing per figure gives both PNGs (:func:`_raster`); the SVG is saved with that
    drawing's box, so it needs no layout pass of its own. A figure gives the same bytes drawn
    alone or after others: every step depends on the figure only.
    """
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ConfigError(f"{out_dir}: not a folder; give a folder for the figures") from None
        except OSError as exc:
            raise ConfigError(f"{out_dir}: cannot make the figures' folder ({exc.strerror or exc})") from None
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
    raster = _raster(fig) if embed or "png" in formats else None
    pngs = raster.pngs() if raster is not None else None
    written = []
    for fmt in formats:
        assert out_dir is not None
        path = out_dir / f"{spec.name}.{fmt}"
        if fmt == "png":
            assert pngs is not None
            path.write_bytes(pngs[0])
        else:
            _save_vector(fig, path, fmt, raster)
        written.append(path)
    return Drawn(spec, tuple(written), pngs[1] if embed and pngs is not None else None)


# Room drawn around the figure (inches: left, bottom, right, top): what the tight box would take
# beyond the figure's edges (slanted names, a suptitle above, the caption below) must be on the canvas.
MARGINS = (1.0, 1.5, 1.0, 0.75)
# Drawings again with doubled margins before the canvas is taken as it is (ink at its edge for good:
# a background that is not white everywhere).
MAX_REDRAWS = 3


@dataclass(frozen=True)
class _Raster:
    """One Agg drawing of a figure: the pixels kept (the file PNG's, caption drawn), how many of
    their first rows the caption-free PNG is, and their box in the figure's inches (for vector files)."""

    pixels: np.ndarray          # rows x columns x RGB: the drawn pixels plus the pad, caption included
    bare_rows: int              # the caption-free PNG: the first rows of ``pixels``
    box_inches: Any             # matplotlib Bbox of ``pixels`` in the figure's inches
    dpi: float                  # pixels per inch of the drawing

    def pngs(self) -> tuple[bytes, bytes]:
        """The file PNG (with the caption) and the report's PNG (without: the same first rows)."""
        return png_pair(self.pixels, self.bare_rows, dpi=self.dpi)


def _ink(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of an RGBA buffer holding anything but the opaque white background
    (one 32-bit comparison per pixel)."""
    drawn = np.ascontiguousarray(rgba).view(np.uint32)[..., 0] != np.uint32(0xFFFFFFFF)
    return np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))


def _ink_below(rgba: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ink of ``rgba`` given ``rows`` and ``cols``, its ink before something was drawn below its
    last inked row (the caption): only the rows below are scanned again."""
    first = int(rows[-1]) + 1 if len(rows) else 0
    new_rows, new_cols = _ink(rgba[first:])
    return np.concatenate([rows, first + new_rows]), np.union1d(cols, new_cols)


def _draw_setup(fig: Figure) -> None:
    """The layout done once, before the Agg drawing: a layout engine runs here and is then removed
    (the drawings below keep the axes where it put them), and figure legends are anchored to the
    figure, not to the larger canvas drawn on."""
    from matplotlib.transforms import Bbox

    engine = fig.get_layout_engine()
    if engine is not None and not isinstance(engine, matplotlib.layout_engine.PlaceHolderLayoutEngine):
        engine.execute(fig)
        # No engine at all ("none" leaves a placeholder, for which savefig lays out the SVG again).
        with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)
    for legend in fig.legends:
        legend.set_bbox_to_anchor(Bbox.unit(), transform=fig.transFigure)


def _titles_fixed(fig: Figure) -> list[Any]:
    """The axes whose titles matplotlib places itself, switched to their default place (1 above
    the axes, plus ``axes.titlepad``). Its placement measures every y tick label of the axes before
    the drawing; it moves a title only off something reaching above the axes, which
    :func:`_titles_would_move` tells after the drawing."""
    auto = [ax for ax in fig.axes if getattr(ax, "_autotitlepos", False)]
    for ax in auto:
        ax._autotitlepos = False  # type: ignore[attr-defined]   # what set_title(y=...) sets
    return auto


def _titles_would_move(fig: Figure, axes: Sequence[Any], renderer: Any) -> bool:
    """Whether matplotlib's own placement could have moved a title of ``axes`` off its default place:
    only when something reaches above an axes' top (x ticks or label on top, of it or of a twin; the
    y axis' offset text, "1e6"; a title below the axes' top: a negative ``axes.titlepad``), or for
    what is not checked here (side titles, inset axes): drawn again then, as matplotlib places them."""
    titled = [ax for ax in axes if ax.get_title()]
    if not titled:
        return False
    for ax in fig.axes:
        offset = ax.yaxis.offsetText
        if (ax.xaxis.get_ticks_position() in ("top", "unknown") or ax.xaxis.get_label_position() == "top"
                or (offset.get_visible() and offset.get_text()) or ax.child_axes
                or ax.get_title("left") or ax.get_title("right")):
            return True
    return any(ax.title.get_window_extent(renderer).y0 < ax.bbox.y1 for ax in titled)


def _keep_legend_places(fig: Figure, renderer: Any) -> None:
    """Each axes legend placed at the "best" place keeps the place this drawing chose (a corner or
    side, by its code): matplotlib's search counts every plotted point under each candidate place
    (100,000 for a scatter of 10 models), twice a drawing; the vector file need not search again."""
    from matplotlib.transforms import Bbox

    legends: list[Any] = [ax.get_legend() for ax in fig.axes]
    for legend in legends:
        if legend is None or not legend.get_visible() or legend._loc != 0:   # 0: "best"
            continue
        drawn = legend.legendPatch.get_bbox()   # display units: where this drawing put the legend
        size, parent = Bbox.from_bounds(0, 0, drawn.width, drawn.height), legend.get_bbox_to_anchor()

        def distance(code: int) -> float:
            x, y = legend._get_anchored_bbox(code, size, parent, renderer)
            return float(abs(x - drawn.x0) + abs(y - drawn.y0))

        legend.set_loc(min(range(1, len(legend.codes)), key=distance))


def _raster(fig: Figure, margins: tuple[float, float, float, float] = MARGINS) -> _Raster:
    """Draw ``fig`` once with Agg at the saving dpi on a canvas ``margins`` larger than the figure,
    the caption last, placed just below everything else: so it never overlaps what it describes and
    the caption-free PNG is the file PNG's top rows. The crop is the drawn pixels plus
    ``savefig.pad_inches``, as a tight box; only those pixels are copied out of the canvas. Anything
    reaching the canvas edge: drawn again with twice the margins."""
    from matplotlib import _tight_bbox
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    dpi = fig.dpi if matplotlib.rcParams["savefig.dpi"] == "figure" else float(matplotlib.rcParams["savefig.dpi"])
    fig.set_dpi(dpi)
    captions = _captions(fig)
    for text in captions:
        text.set_visible(False)
    _draw_setup(fig)
    left, bottom, right, top = margins
    width, height = fig.get_size_inches()
    agg = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    restore = _tight_bbox.adjust_bbox(  # type: ignore[no-untyped-call]
        fig, Bbox.from_extents(-left, -bottom, width + right, height + top), None)
    try:
        renderer = agg.get_renderer()  # type: ignore[no-untyped-call]
        auto_titles = _titles_fixed(fig)
        renderer.clear()
        fig.draw(renderer)
        if _titles_would_move(fig, auto_titles, renderer):   # rare: drawn again, titles placed by matplotlib
            for ax in auto_titles:
                ax._autotitlepos = True
            renderer.clear()
            fig.draw(renderer)
        _keep_legend_places(fig, renderer)
        canvas = np.asarray(renderer.buffer_rgba())   # the renderer's own buffer: nothing copied
        rows, cols = _ink(canvas)
        pad = int(round(matplotlib.rcParams["savefig.pad_inches"] * dpi))
        bare_bottom = int(rows[-1]) + 1 + pad if len(rows) else pad
        for text in captions:   # its top a pad and two pixels below the lowest ink
            x, _ = text.get_position()
            y_display = canvas.shape[0] - bare_bottom - 2
            text.set_position((x, fig.transFigure.inverted().transform((0, y_display))[1]))
            text.set_visible(True)
            text.draw(renderer)
        if captions:
            rows, cols = _ink_below(canvas, rows, cols)
        at_edge = len(rows) and (rows[0] == 0 or cols[0] == 0 or rows[-1] == canvas.shape[0] - 1
                                 or cols[-1] == canvas.shape[1] - 1)
        redraw = bool(at_edge) and margins[0] < MARGINS[0] * 2 ** MAX_REDRAWS
        if not len(rows):
            rows, cols = np.array([0]), np.array([0])
        box = (max(0, int(rows[0]) - pad), min(canvas.shape[0], int(rows[-1]) + 1 + pad),
               max(0, int(cols[0]) - pad), min(canvas.shape[1], int(cols[-1]) + 1 + pad))
        pixels = None if redraw else canvas[box[0]:box[1], box[2]:box[3], :3].copy()
        canvas_rows = canvas.shape[0]
    finally:
        restore()
    if pixels is None:
        return _raster(fig, tuple(2 * m for m in margins))  # type: ignore[arg-type]
    inches = Bbox.from_extents(box[2] / dpi - left, (canvas_rows - box[1]) / dpi - bottom,
                               box[3] / dpi - left, (canvas_rows - box[0]) / dpi - bottom)
    return _Raster(pixels, min(bare_bottom, box[1]) - box[0], inches, dpi)


class _SvgImage:
    """Stands in for PIL's ``Image`` module in matplotlib's SVG backend while :func:`_save_vector`
    runs; its one use there is ``Image.fromarray(rgba).save(file, format="png")``, for each run of
    rasterized artists (a cloud of points: 10 models x 10,000 queries). Encoded by :mod:`.png_file`
    (rows unfiltered, zlib level 3): the same pixels, a few percent more bytes, a third of Pillow's CPU."""

    def __init__(self, rgba: np.ndarray) -> None:
        self._rgba = rgba

    @classmethod
    def fromarray(cls, rgba: np.ndarray) -> _SvgImage:
        return cls(np.asarray(rgba))

    def save(self, file: Any, format: str = "png") -> None:
        data = png_image(self._rgba)
        if isinstance(file, (str, Path)):   # rcParams["svg.image_inline"] off: a file beside the SVG
            Path(file).write_bytes(data)
        else:
            file.write(data)


@contextmanager
def _svg_images_by_png_file() -> Iterator[None]:
    from matplotlib.backends import backend_svg

    pillow = getattr(backend_svg, "Image")   # imported there, not exported: no attribute to type-check
    setattr(backend_svg, "Image", _SvgImage)
    try:
        yield
    finally:
        setattr(backend_svg, "Image", pillow)


def _keep_placement(fig: Figure) -> None:
    """What the Agg drawing placed stays put for the vector file: each axes' titles (matplotlib
    moves them above anything at the axes' top, measuring every y tick label again otherwise)."""
    for ax in fig.axes:
        ax._autotitlepos = False  # type: ignore[attr-defined]   # what set_title(y=...) sets


def _save_vector(fig: Figure, file: Any, fmt: str, raster: _Raster | None) -> None:
    """An SVG (or PDF) in one pass: the box and placement the Agg drawing measured (made here when
    ``raster`` is None)."""
    if raster is None:
        raster = _raster(fig)
    _keep_placement(fig)
    with _svg_images_by_png_file():
        fig.savefig(file, format=fmt, metadata=_metadata(fmt), bbox_inches=raster.box_inches)


def _captions(fig: Figure) -> list[Any]:
    return [t for t in fig.texts if t.get_gid() == CAPTION_GID]


def _metadata(fmt: str) -> dict[str, Any]:
    # No creation date: the same run gives byte-identical SVG files.
    return {"Date": None} if fmt == "svg" else {}


def figure_bytes(spec: PlotSpec, fmt: str = "png", *, caption: bool = True) -> bytes:
    """One figure rendered in memory, as :func:`render_figures` draws it (for the HTML report:
    ``caption=False`` where a page says it)."""
    import io

    with collector_paused():
        fig = draw(spec)
        try:
            raster = _raster(fig)
            if fmt == "png":
                return raster.pngs()[0 if caption else 1]
            if not caption:
                for text in _captions(fig):
                    text.remove()
            buffer = io.BytesIO()
            _save_vector(fig, buffer, fmt, raster)
            return buffer.getvalue()
        finally:
            plt.close(fig)
