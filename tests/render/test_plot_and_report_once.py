"""`plot` and `report` made together draw each figure once (issue 24), and nothing they write changes."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import pytest

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
        assert files[".png"] == _alone(figure.spec, "png"), figure.spec.name
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
    assert all(path.read_bytes() == _alone(spec, "png") for path, spec in zip(written, specs))
