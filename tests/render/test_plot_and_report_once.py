"""`plot` and `report` made together draw each figure once (issue 24), and nothing they write changes:
a figure gives the same bytes drawn alone, after others, or in a fresh interpreter."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from PIL import Image

from slm_energy_plugin.render import plots
from slm_energy_plugin.render.html_report import build_html
from slm_energy_plugin.render.run_input import load_input


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _clip_ids_named(svg: bytes) -> bytes:
    # A clip path's id hashes its rectangle to 1e-16: the same box reached by other float steps moves it there.
    return re.sub(rb"p[0-9a-f]{10}\b", b"p-clip", svg)


def test_figures_drawn_once_are_the_files_and_report_figures_drawn_alone(
        real_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "fixed")   # else SVG ids are random
    data = load_input([real_run])
    specs = plots.build_figures(data.frame, data.efficiency)
    drawn = plots.render_figures(specs, tmp_path)
    assert [d.spec.name for d in drawn] == [s.name for s in specs]
    for figure in drawn:
        name = figure.spec.name
        files = {path.suffix: path.read_bytes() for path in figure.files}
        # Drawn alone (the report's own path, and figures in another order) gives the same bytes.
        assert files[".png"] == plots.figure_bytes(figure.spec, "png"), name
        assert _clip_ids_named(files[".svg"]) == _clip_ids_named(plots.figure_bytes(figure.spec, "svg")), name
        assert figure.embedded_png == plots.figure_bytes(figure.spec, "png", caption=False), name
        # The report's picture is the file's picture without the caption rows: the same pixels above them.
        assert figure.embedded_png is not None
        report, full = _pixels(figure.embedded_png), _pixels(files[".png"])
        assert report.shape[1] == full.shape[1] and report.shape[0] < full.shape[0], name
        assert np.array_equal(report, full[:report.shape[0]]), name
        # Below those rows: white, then the caption (ink), then white again.
        ink_rows = np.flatnonzero((full[report.shape[0]:] != 255).any(axis=(1, 2)))
        assert len(ink_rows) and ink_rows[0] > 0 and ink_rows[-1] < full.shape[0] - report.shape[0] - 1, name

    draws: list[Any] = []
    real_draw = plots.draw
    monkeypatch.setattr(plots, "draw", lambda spec: draws.append(spec) or real_draw(spec))
    together = build_html(data, drawn=drawn)
    assert draws == []                                  # the report drew nothing again
    assert together == build_html(data)                 # and is the report drawn from scratch
    assert len(draws) == len(specs)


FRESH = """
import sys
from pathlib import Path
from slm_energy_plugin.render import plots
from slm_energy_plugin.render.run_input import load_input
data = load_input([Path(sys.argv[1])])
spec = next(s for s in plots.build_figures(data.frame, data.efficiency) if s.name == sys.argv[2])
Path(sys.argv[3]).write_bytes(plots.figure_bytes(spec, "png"))
"""


def test_a_figure_drawn_first_in_a_fresh_interpreter_is_the_one_drawn_after_others(
        real_run: Path, tmp_path: Path) -> None:
    # accuracy_vs_energy (constrained layout, legend outside): once drawn differently alone than in sequence.
    data = load_input([real_run])
    specs = plots.build_figures(data.frame, data.efficiency)
    drawn = plots.render_figures(specs, tmp_path, ("png",), embed=False)
    alone = tmp_path / "alone.png"
    subprocess.run([sys.executable, "-c", FRESH, str(real_run), "accuracy_vs_energy", str(alone)], check=True,
                   cwd=Path(__file__).resolve().parents[2])
    in_sequence = next(d for d in drawn if d.spec.name == "accuracy_vs_energy").files[0]
    assert alone.read_bytes() == in_sequence.read_bytes()


def test_save_figures_writes_what_it_did(real_run: Path, tmp_path: Path) -> None:
    data = load_input([real_run])
    specs = plots.build_figures(data.frame, data.efficiency)
    written = plots.save_figures(specs, tmp_path, ("png",))
    assert written == [tmp_path / f"{s.name}.png" for s in specs]
    assert all(path.read_bytes() == plots.figure_bytes(spec, "png") for path, spec in zip(written, specs))
