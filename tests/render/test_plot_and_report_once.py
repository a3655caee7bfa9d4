"""`plot` and `report` made together draw each figure once (issue 24), and nothing they write changes."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.legend import Legend
from PIL import Image

from slm_energy_plugin.render import plots
from slm_energy_plugin.render.html_report import build_html
from slm_energy_plugin.render.run_input import load_input


def _alone(spec: plots.PlotSpec, fmt: str) -> bytes:
    """The figure drawn and saved on its own, as matplotlib's savefig(bbox_inches="tight") does it."""
    fig = plots.draw(spec)
    try:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else {})
        return buffer.getvalue()
    finally:
        plt.close(fig)


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def _same_picture(png: bytes, other: bytes) -> bool:
    # The PNGs are compressed less than matplotlib's default (faster): the bytes differ, the pixels may not.
    mine, theirs = _pixels(png), _pixels(other)
    return mine.shape == theirs.shape and bool((mine == theirs).all())


def _clip_ids_named(svg: bytes) -> bytes:
    # A clip path's id hashes its rectangle to 1e-16: a constrained layout run once more moves it there.
    return re.sub(rb"p[0-9a-f]{10}\b", b"p-clip", svg)


def test_figures_drawn_once_are_the_files_and_report_figures_drawn_alone(
        real_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "fixed")   # else SVG ids are random
    data = load_input([real_run])
    specs = plots.build_figures(data.frame, data.efficiency)
    drawn = plots.render_figures(specs, tmp_path)
    assert [d.spec.name for d in drawn] == [s.name for s in specs]
    for figure in drawn:
        files = {path.suffix: path.read_bytes() for path in figure.files}
        assert _same_picture(files[".png"], _alone(figure.spec, "png")), figure.spec.name
        assert _clip_ids_named(files[".svg"]) == _clip_ids_named(_alone(figure.spec, "svg")), figure.spec.name
        # The report's picture: the figure without its caption, as figure_bytes draws it by itself.
        assert figure.embedded_png == plots.figure_bytes(figure.spec, "png", caption=False), figure.spec.name

    draws: list[Any] = []
    real_draw = plots.draw
    monkeypatch.setattr(plots, "draw", lambda spec: draws.append(spec) or real_draw(spec))
    together = build_html(data, drawn=drawn)
    assert draws == []                                  # the report drew nothing again
    assert together == build_html(data)                 # and is the report drawn from scratch
    assert len(draws) == len(specs)


def test_save_figures_writes_what_it_did(real_run: Path, tmp_path: Path) -> None:
    data = load_input([real_run])
    specs = plots.build_figures(data.frame, data.efficiency)
    written = plots.save_figures(specs, tmp_path, ("png",))
    assert written == [tmp_path / f"{s.name}.png" for s in specs]
    assert all(_same_picture(path.read_bytes(), _alone(spec, "png")) for path, spec in zip(written, specs))


def test_a_best_placed_legend_is_searched_once_per_figure_not_at_every_draw(
        real_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "best" counts every drawn point under each candidate corner; it ran at every draw and tight-box
    # measure of every image (9 or more times for a PNG file + report image), now in the first layout
    # pass only (the SVG searches again: it measures text at another dpi).
    data = load_input([real_run])
    specs = [s for s in plots.build_figures(data.frame, data.efficiency) if s.name == "energy_vs_latency"]
    searches: list[Legend] = []
    real_search = Legend._find_best_position
    monkeypatch.setattr(Legend, "_find_best_position",
                        lambda self, *args: searches.append(self) or real_search(self, *args))
    (drawn,) = plots.render_figures(specs, tmp_path, ("png",))
    assert len(drawn.files) == 1 and drawn.embedded_png is not None
    assert 1 <= len(searches) <= 4
