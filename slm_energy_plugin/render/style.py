"""One plot style for every chart the project draws (leaderboard, run plots, HTML report).

The palette is Okabe & Ito's (2008) "Color Universal Design" colours, told apart under the
common colour-vision deficiencies; markers vary too, so groups never rely on colour alone.
Black is kept for text, fit and reference lines, never a model. Matplotlib is imported only
by :func:`apply_style` and :func:`log_axis`, so the numbers can be shared without a plotting backend.
"""

from __future__ import annotations

from typing import Any

# Okabe-Ito, in their published order minus black.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
)
PALETTE = OKABE_ITO
BLACK = "#000000"
GREY = "#999999"
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X")

# What a point is: leaderboard rows are filled circles, this project's own runs stand out.
FIT_COLOUR = BLACK
BAND_ALPHA = 0.18
OWN_RUN_COLOUR = "#D55E00"
OWN_RUN_MARKER = "*"
OWN_RUN_SIZE = 160.0
POINT_SIZE = 28.0

RC_PARAMS: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    # White, opaque: the run figures are cropped to what differs from the background (plots._raster).
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "svg.fonttype": "none",      # text stays text in SVG: searchable, small
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    # Every text is drawn as written: a model alias or leaderboard name such as "m$\\frac{1$" would
    # otherwise be parsed as mathtext and fail the whole figure (one setting covers every label,
    # tick, legend and note of the run plots, the report's figures and the leaderboard plot).
    "text.parse_math": False,
}


def colour(index: int) -> str:
    """The ``index``-th palette colour, cycling."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def marker(index: int) -> str:
    return MARKERS[index % len(MARKERS)]


def apply_style(rc: Any | None = None) -> None:
    """Set matplotlib's rcParams (or the mapping ``rc``) to the project's style."""
    import matplotlib
    from cycler import cycler

    params: Any = matplotlib.rcParams if rc is None else rc
    params.update(RC_PARAMS)
    params["axes.prop_cycle"] = cycler(color=list(PALETTE))


def log_axis(ax: Any, axis: str) -> None:
    """Log scale on ``axis`` ("x" or "y") with plain tick labels at 1-2-5 steps (no overlapping minor
    labels like 6x10^0); over more than two decades one label per decade, else "1002005001000" runs
    together. Plain, not matplotlib's 10^n: ``text.parse_math`` is off, so that would print as
    written ("$\\mathdefault{10^{0}}$")."""
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    class InView(LogLocator):
        # Only the locations inside the limits: matplotlib makes a tick (two marks, a grid line,
        # two labels) for every location a locator gives, drawn or not, and a log locator gives
        # whole decades beyond the limits: over half of a log axis's ticks, and of its layout time.
        def tick_values(self, vmin: float, vmax: float) -> Any:
            ticks = np.asarray(super().tick_values(vmin, vmax))
            low, high = sorted((vmin, vmax))
            if not (low > 0 and len(ticks)):
                return ticks
            # matplotlib draws a tick within 1e-10 of the (log) span of the limits: keep a margin beyond that
            span = np.log10(high) - np.log10(low)
            logs = np.log10(np.where(ticks > 0, ticks, np.nan))
            keep = (logs >= np.log10(low) - 1e-6 * span) & (logs <= np.log10(high) + 1e-6 * span)
            return ticks[keep]

    class OneTwoFive(InView):
        def tick_values(self, vmin: float, vmax: float) -> Any:
            span = abs(np.log10(vmax / vmin)) if vmin > 0 and vmax > 0 else 0.0
            self.set_params(subs=(1.0, 2.0, 5.0) if span <= 2.0 else (1.0,))
            return super().tick_values(vmin, vmax)

    which = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    which.set_major_locator(OneTwoFive(base=10, subs=(1.0, 2.0, 5.0)))
    which.set_minor_locator(InView(base=10, subs=None))   # as matplotlib's log scale: subs "auto"
    which.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    which.set_minor_formatter(NullFormatter())
