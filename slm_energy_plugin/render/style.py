"""One look for every figure: the Okabe-Ito colour-blind-safe palette and matplotlib settings.

Okabe & Ito (2008), "Color Universal Design": eight colours told apart under the common
colour-vision deficiencies. Black is kept for text and reference lines, never a model.
"""

from __future__ import annotations

from typing import Any

PALETTE: tuple[str, ...] = (    # Okabe-Ito in their published order, minus black (the leaderboard's order too)
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
)


def apply_style(rc: Any | None = None) -> None:
    """Set matplotlib's rcParams (or the mapping ``rc``) to the project's style."""
    import matplotlib
    from cycler import cycler

    params = matplotlib.rcParams if rc is None else rc
    params.update({
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 9,
        "legend.frameon": False,
        "figure.dpi": 100,
        "savefig.dpi": 110,
        "savefig.bbox": "tight",
        "svg.fonttype": "none",      # text stays text in SVG: searchable, small
        "font.size": 10,
    })
