"""accuracy_vs_energy at its rendered size (issue 24): no tick label runs into another or into a
title, the panels share one energy axis, and the Pareto front the caption names is drawn."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pytest

from slm_energy_plugin.render import figure_data as fd
from slm_energy_plugin.render.plots import draw_accuracy

MODELS = ("deepseek-r1-1.5b", "qwen2.5-0.5b-instruct", "phi-3-mini", "llama3.2-1b", "gemma2-2b")
COLORS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2")


def _figure(tasks: int, front: bool) -> fd.AccuracyFigure:
    panels = []
    for t in range(tasks):
        points = []
        for i, model in enumerate(MODELS):   # four decades of energy across the tasks, as in real runs
            accuracy = min(0.95, 0.1 + 0.17 * i)
            points.append(fd.AccuracyPoint(model, COLORS[i], 10 ** (0.3 * i + t), accuracy, accuracy - 0.1,
                                           min(1.0, accuracy + 0.1), front and i in (0, 2, 4), 5, 10))
        panels.append(fd.AccuracyPanel(f"task {t}", tuple(points),
                                       tuple(sorted((p.energy_j, p.accuracy) for p in points if p.pareto))))
    return fd.AccuracyFigure("Accuracy against energy per query, per task", "mean energy per query (J)",
                             tuple(panels), "caption")


@pytest.fixture
def drawn() -> Any:
    fig = draw_accuracy(_figure(4, front=True))
    fig.canvas.draw()
    yield fig
    plt.close(fig)


def _boxes(texts: Any, renderer: Any) -> list[Any]:
    return [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]


def test_tick_labels_overlap_neither_each_other_nor_titles(drawn: Any) -> None:
    renderer = drawn.canvas.get_renderer()
    titles = _boxes([ax.title for ax in drawn.axes] + [drawn._suptitle], renderer)
    legend = drawn.legends[0].get_window_extent(renderer)
    for ax in drawn.axes:
        ticks = _boxes(ax.get_xticklabels() + ax.get_yticklabels(), renderer)
        x_ticks = _boxes(ax.get_xticklabels(), renderer)
        for i, box in enumerate(x_ticks):
            assert not any(box.overlaps(other) for other in x_ticks[i + 1:]), [t.get_text() for t in ax.get_xticklabels()]
        assert not any(tick.overlaps(title) for tick in ticks for title in titles)
        assert not legend.overlaps(ax.get_window_extent(renderer))


def test_panels_share_the_energy_axis(drawn: Any) -> None:
    limits = {ax.get_xlim() for ax in drawn.axes}
    assert len(limits) == 1


def test_a_front_is_drawn_in_every_panel_that_has_one() -> None:
    fig = draw_accuracy(_figure(2, front=True))
    try:
        fronts = [line for ax in fig.axes for line in ax.lines if line.get_label() == "Pareto front"]
    finally:
        plt.close(fig)
    assert len(fronts) == 2 and all(len(line.get_xdata()) == 3 for line in fronts)
