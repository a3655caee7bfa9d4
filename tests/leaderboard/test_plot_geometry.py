"""The leaderboard PNGs at their rendered size (issue 24): the footer inside the picture, names
that do not overprint, legends off the points, and no fit drawn decades beyond its data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slm_energy_plugin.leaderboard.analysis import analyse
from slm_energy_plugin.leaderboard.own_runs import OwnPoint
from slm_energy_plugin.render.leaderboard_plots import EXTENSION, build_figure, figures_data
from slm_energy_plugin.leaderboard.readers import read_frame, to_table

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "leaderboard"
FOOTER = ("INVENTED SAMPLE DATA, not the real leaderboards - data: " +
          ", ".join(p.name for p in sorted(SAMPLES.iterdir()) if p.suffix in (".csv", ".parquet")))


def _own(hardware: str) -> tuple[OwnPoint, ...]:
    # Tiny models: 0.2-0.3 M parameters, three decades below the smallest leaderboard model.
    return tuple(OwnPoint(alias=alias, model_id=alias, device="cpu", params_b=size, value=0.8, basis="decode",
                          provenance="estimated", hardware_class=hardware, class_reason="cpu")
                 for alias, size in (("tiny-gpt2", 0.000297), ("tiny-phi", 0.000232)))


@pytest.fixture(scope="module")
def energy_figure() -> Any:
    tables = [to_table(read_frame(p), p.name) for p in sorted(SAMPLES.iterdir()) if p.suffix in (".csv", ".parquet")]
    panels = figures_data(analyse(tables), _own("32vCPU"))["energy"]
    figure = build_figure(panels, FOOTER)
    figure.draw_without_rendering()
    return figure, panels


def test_the_footer_is_inside_the_picture(energy_figure: Any) -> None:
    figure, _ = energy_figure
    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    footer = figure._supxlabel.get_window_extent(renderer)
    assert page.x0 <= footer.x0 and footer.x1 <= page.x1 and page.y0 <= footer.y0, (footer, page)


def test_names_do_not_overprint_and_legends_stay_off_the_panels(energy_figure: Any) -> None:
    figure, _ = energy_figure
    renderer = figure.canvas.get_renderer()
    for ax in [a for a in figure.axes if a.get_visible()]:
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
        for i, box in enumerate(boxes):
            assert not any(box.overlaps(other) for other in boxes[i + 1:]), [t.get_text() for t in ax.texts]
        legend = ax.get_legend().get_window_extent(renderer)
        assert not legend.overlaps(ax.get_window_extent(renderer))
        assert legend.y0 >= figure.bbox.y0 - 1


def test_the_fit_is_drawn_over_its_data_only(energy_figure: Any) -> None:
    figure, panels = energy_figure
    cpu = figure.axes[0]
    data = panels[0]
    assert data.own, "the tiny runs belong on the CPU panel"
    drawn = [x for line in cpu.lines for x in line.get_xdata()]
    assert min(drawn) >= min(data.x) / EXTENSION and max(drawn) <= max(data.x) * EXTENSION


def test_log_tick_labels_are_plain_numbers(energy_figure: Any) -> None:
    # text.parse_math is off (aliases are drawn as written), so matplotlib's 10^n labels printed
    # "$\mathdefault{10^{0}}$" on every leaderboard axis.
    figure, _ = energy_figure
    for ax in [a for a in figure.axes if a.get_visible()]:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
            assert labels and all(float(label) > 0 for label in labels), labels


def test_names_keep_clear_of_the_markers(energy_figure: Any) -> None:
    figure, panels = energy_figure
    renderer = figure.canvas.get_renderer()
    for ax, data in zip(figure.axes, panels):
        points = ax.transData.transform(list(zip(data.x, data.y)) + [(m.x, m.y) for m in data.own])
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            assert not any(box.contains(px, py) for px, py in points), (data.title, text.get_text())
