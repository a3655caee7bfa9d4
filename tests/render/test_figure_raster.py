"""The run figures' one Agg drawing (plots._raster) and the SVG saved from it: titles where matplotlib
places them, and the SVG's rasterized point clouds written by png_file with the pixels matplotlib drew."""

from __future__ import annotations

import base64
import io
import re
import zlib
from typing import Any, Iterator

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from slm_energy_plugin.render import plots
from slm_energy_plugin.render.style import apply_style

LONG_TITLE = "a title long enough to reach over the y axis' offset text at the top left corner of the axes"


@pytest.fixture()
def figure() -> Iterator[Any]:
    apply_style()
    fig, ax = plt.subplots(figsize=(5, 3))
    yield fig, ax
    plt.close(fig)


def _titled(case: str) -> Any:
    apply_style()
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1, 2], [1e6, 1e6 + 3, 1e6 + 1] if case == "offset text" else [1, 3, 2])
    ax.set_title(LONG_TITLE, pad=-20 if case == "negative pad" else None)
    if case == "ticks on top":
        ax.xaxis.tick_top()
    return fig


def _pixels(case: str) -> np.ndarray:
    fig = _titled(case)
    try:
        return plots._raster(fig).pixels
    finally:
        plt.close(fig)


@pytest.mark.parametrize("case", ["plain", "offset text", "negative pad", "ticks on top"])
def test_titles_are_where_matplotlib_places_them(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _pixels(case)
    monkeypatch.setattr(plots, "_titles_fixed", lambda fig: [])   # matplotlib's own placement, every time
    theirs = _pixels(case)
    assert ours.shape == theirs.shape and np.array_equal(ours, theirs)


@pytest.mark.parametrize("case", ["offset text", "negative pad", "ticks on top"])
def test_these_are_titles_matplotlib_moves(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # So the cases above check the drawing again: kept at their default place, the titles would differ.
    moved = _pixels(case)
    monkeypatch.setattr(plots, "_titles_would_move", lambda fig, axes, renderer: False)
    kept = _pixels(case)
    assert kept.shape != moved.shape or not np.array_equal(kept, moved)


IMAGE = re.compile(rb'data:image/png;base64,\n([A-Za-z0-9+/=\n]+)"')


def _layers(svg: bytes) -> list[bytes]:
    return [base64.b64decode(data) for data in IMAGE.findall(svg)]


def test_rasterized_points_in_the_svg_are_the_pixels_matplotlib_drew(figure: Any) -> None:
    fig, ax = figure
    rng = np.random.default_rng(1)
    ax.scatter(rng.normal(size=2000), rng.normal(size=2000), s=6, alpha=0.45, rasterized=True)
    raster = plots._raster(fig)
    ours = io.BytesIO()
    plots._save_vector(fig, ours, "svg", raster)
    pillow = io.BytesIO()   # matplotlib's own SVG: the layer encoded by Pillow
    fig.savefig(pillow, format="svg", metadata={"Date": None}, bbox_inches=raster.box_inches)
    (layer,), (reference,) = _layers(ours.getvalue()), _layers(pillow.getvalue())
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(layer))), np.asarray(Image.open(io.BytesIO(reference))))
    assert Image.open(io.BytesIO(layer)).mode == "RGBA"
    # Written by png_file: every row unfiltered (Pillow filters rows adaptively).
    width, height = Image.open(io.BytesIO(layer)).size
    idat = layer[layer.index(b"IDAT") + 4:layer.index(b"IEND") - 8]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + 4 * width)
    assert not rows[:, 0].any()
    from matplotlib.backends import backend_svg
    assert getattr(backend_svg, "Image") is Image   # Pillow again once the SVG is written


def test_svg_layers_beside_the_file_are_written_too(figure: Any, tmp_path: Any) -> None:
    fig, ax = figure
    ax.scatter(np.arange(600.0), np.arange(600.0), rasterized=True)
    with matplotlib.rc_context({"svg.image_inline": False}):
        plots._save_vector(fig, tmp_path / "f.svg", "svg", None)
    (layer,) = tmp_path.glob("f.svg.image*.png")
    assert Image.open(layer).mode == "RGBA" and b"f.svg.image0.png" in (tmp_path / "f.svg").read_bytes()


def _clip_ids_named(svg: bytes) -> bytes:
    return re.sub(rb"p[0-9a-f]{10}\b", b"p-clip", svg)


def _points_and_legend(corner: str) -> Any:
    apply_style()
    fig, ax = plt.subplots(figsize=(5, 3))
    rng = np.random.default_rng(2)
    # Points everywhere but in one corner: the "best" place for the legend is there.
    x, y = rng.uniform(0, 1, 400), rng.uniform(0, 1, 400)
    keep = ~((x > 0.6) & (y < 0.4)) if corner == "lower right" else ~((x < 0.4) & (y > 0.6))
    ax.scatter(x[keep], y[keep], s=6, label="points")
    ax.plot([0, 1], [0.5, 0.5], label="line")
    ax.set_title("a title")
    ax.legend()
    return fig


@pytest.mark.parametrize("corner", ["lower right", "upper left"])
def test_a_legend_at_the_best_place_is_there_in_the_png_and_the_svg(corner: str) -> None:
    ours, theirs = _points_and_legend(corner), _points_and_legend(corner)
    try:
        raster = plots._raster(ours)
        legend = ours.axes[0].get_legend()
        assert legend._loc == legend.codes[corner]   # the place this drawing chose, kept for the SVG
        svg, own = io.BytesIO(), io.BytesIO()
        with matplotlib.rc_context({"svg.hashsalt": "fixed"}):   # else SVG ids are random
            plots._save_vector(ours, svg, "svg", raster)
            # matplotlib's own SVG, searching the best place again
            theirs.savefig(own, format="svg", metadata={"Date": None}, bbox_inches=raster.box_inches)
    finally:
        plt.close(ours)
        plt.close(theirs)
    assert _clip_ids_named(svg.getvalue()) == _clip_ids_named(own.getvalue())
