"""The plot's data: what each panel shows, and that exactly this reaches matplotlib (not pixels)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from slm_energy_plugin.leaderboard.analysis import ACROSS, analyse
from slm_energy_plugin.leaderboard.own_runs import place_runs
from slm_energy_plugin.render.leaderboard_plots import build_figure, draw, figures_data, panel_data
from slm_energy_plugin.leaderboard.readers import to_table
from slm_energy_plugin.render import style

from ..run_factory import make_run
from . import samples

ENERGY = "energy_kwh_per_mtok"


@pytest.fixture(scope="module")
def analysis_and_runs():  # type: ignore[no-untyped-def]
    tables = [to_table(samples.llm_perf_frame(h), f"llm-perf-{h}.csv") for h in samples.HARDWARE]
    tables.append(to_table(samples.price_frame(), "prices.csv"))
    analysis = analyse(tables)
    run = make_run("gpt2", [1.0] * 8)
    run = replace(run, info=replace(run.info, parameters=50_000_000))   # below the smallest leaderboard model
    return analysis, place_runs([run], analysis)


def test_panel_data_carries_the_points_the_fit_and_the_band(analysis_and_runs) -> None:  # type: ignore[no-untyped-def]
    analysis, runs = analysis_and_runs
    panel = analysis.panel("A100", ENERGY)
    data = panel_data(panel, runs)
    assert data.x == tuple(p.params_b for p in panel.points) and data.y == tuple(p.value for p in panel.points)
    assert data.line_x[0] == pytest.approx(panel.fit.x_range[0]) and data.line_x[-1] == pytest.approx(panel.fit.x_range[1])
    expected = [10 ** panel.fit.predict_log10(x) for x in data.line_x]
    assert data.line_y == pytest.approx(expected)
    assert all(lo < y < hi for lo, y, hi in zip(data.band_low, data.line_y, data.band_high))
    assert data.own == ()     # the CPU run belongs on the CPU panel only
    assert data.fit_label.startswith(f"slope {panel.fit.slope:.2f} [")


def test_labels_are_selective_extremes_and_outliers(analysis_and_runs) -> None:  # type: ignore[no-untyped-def]
    analysis, _ = analysis_and_runs
    panel = analysis.panel("T4", ENERGY)
    data = panel_data(panel)
    by_size = sorted(panel.points, key=lambda p: p.params_b)
    worst = max(panel.points, key=lambda p: abs(panel.fit.residual_log10(p.params_b, p.value)))
    assert by_size[0].model in data.labelled and by_size[-1].model in data.labelled
    assert worst.model in data.labelled
    assert 2 <= len(data.labelled) <= 4 < len(data.models)


def test_own_run_is_on_its_class_panel_and_the_line_stays_near_the_data(analysis_and_runs) -> None:  # type: ignore[no-untyped-def]
    analysis, runs = analysis_and_runs
    (run,) = runs
    data = panel_data(analysis.panel("32vCPU", ENERGY), runs)
    assert [(m.label, m.x, m.y) for m in data.own] == [("gpt2 (estimated)", run.params_b, run.value)]
    # The fit covers the data; toward the run below it only a short dashed reach (issue 24).
    assert data.line_x[0] == min(data.x) and data.line_x[-1] == max(data.x)
    [reach] = data.extension
    assert reach[-1][0] == min(data.x) and run.params_b <= reach[0][0] >= min(data.x) / 2


def test_the_figure_receives_exactly_the_panel_data(analysis_and_runs) -> None:  # type: ignore[no-untyped-def]
    analysis, runs = analysis_and_runs
    panels = figures_data(analysis, runs)
    assert list(panels) == ["energy", "price"]
    energy = panels["energy"]
    assert [p.title for p in energy] == ["32vCPU", "A10", "A100", "T4", ACROSS]
    figure = build_figure(energy, footer="data: llm-perf-A10-sample.csv")
    assert [t.get_text() for t in figure.texts] == ["data: llm-perf-A10-sample.csv"]
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert len(axes) == 5
    for index, (ax, data) in enumerate(zip(axes, energy)):
        assert ax.get_xscale() == ax.get_yscale() == "log" and ax.get_title() == data.title
        scatter = ax.collections[0]
        np.testing.assert_allclose(scatter.get_offsets(), np.column_stack([data.x, data.y]))
        assert tuple(scatter.get_facecolor()[0][:3]) == pytest.approx(
            tuple(int(style.colour(index)[i:i + 2], 16) / 255 for i in (1, 3, 5)))
        line = ax.lines[0]
        np.testing.assert_allclose(line.get_xdata(), data.line_x)
        np.testing.assert_allclose(line.get_ydata(), data.line_y)
        texts = {t.get_text() for t in ax.texts}
        assert texts == {m.rsplit("/", 1)[-1] for m in data.labelled} | {m.label for m in data.own}
    cpu = axes[0]
    stars = cpu.collections[-1]
    np.testing.assert_allclose(stars.get_offsets(), [[m.x, m.y] for m in energy[0].own])
    assert "this project's runs" in [t.get_text() for t in cpu.get_legend().get_texts()]


def test_draw_writes_one_png_per_figure(analysis_and_runs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    analysis, runs = analysis_and_runs
    written = draw(analysis, runs, tmp_path / "plots")
    assert [p.name for p in written] == ["leaderboard-energy.png", "leaderboard-price.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in written)


def test_the_palette_is_okabe_ito() -> None:
    assert style.OKABE_ITO[:3] == ("#E69F00", "#56B4E9", "#009E73")
    assert style.colour(7) == style.colour(0) and len(set(style.OKABE_ITO)) == 7
