"""Log axes (style.log_axis) make ticks only inside the limits, and draw what matplotlib's own log
locators draw there: the same tick marks and labels."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.ticker import LogLocator

from slm_energy_plugin.render.style import apply_style, log_axis


def _axis(low: float, high: float) -> Any:
    apply_style()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter([1, 2], [low, high])
    log_axis(ax, "y")
    fig.canvas.draw()
    return fig, ax


def _drawn(axis: Any, minor: bool) -> list[tuple[float, str]]:
    low, high = sorted(axis.get_view_interval())
    ticks = axis.get_minor_ticks() if minor else axis.get_major_ticks()
    return sorted((round(float(t.get_loc()), 12), t.label1.get_text()) for t in ticks
                  if low * (1 - 1e-9) <= t.get_loc() <= high * (1 + 1e-9) and t.get_visible())


@pytest.mark.parametrize("limits", [(0.7, 43.0), (0.003, 8.0), (12.0, 19.0), (1e-4, 1e4)])
def test_only_ticks_inside_the_limits_and_the_same_as_matplotlibs(limits: tuple[float, float]) -> None:
    fig, ax = _axis(*limits)
    try:
        low, high = ax.get_ylim()
        for locator in (ax.yaxis.get_major_locator(), ax.yaxis.get_minor_locator()):
            locations = np.asarray(locator())
            assert ((locations >= low * (1 - 1e-6)) & (locations <= high * (1 + 1e-6))).all(), locations
        ours = (_drawn(ax.yaxis, False), _drawn(ax.yaxis, True))
        # The same axis with matplotlib's stock locators (out-of-limit locations and all).
        stock_major = LogLocator(base=10, subs=(1.0, 2.0, 5.0) if np.log10(high / low) <= 2 else (1.0,))
        ax.yaxis.set_major_locator(stock_major)
        ax.yaxis.set_minor_locator(LogLocator(base=10, subs=None))
        fig.canvas.draw()
        assert ours == (_drawn(ax.yaxis, False), _drawn(ax.yaxis, True))
    finally:
        plt.close(fig)
