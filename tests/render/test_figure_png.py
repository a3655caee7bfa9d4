"""The figures' PNG writer (render/png_file.py): real PNGs any reader decodes to the same pixels,
and the report's caption-free image is exactly the file image's first rows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from slm_energy_plugin.render.png_file import png_image, png_pair


def _decoded(png: bytes, mode: str = "RGB") -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    image.load()   # decodes every row: a truncated or corrupt stream fails here
    assert image.mode == mode
    return np.asarray(image)


def test_both_images_decode_to_the_pixels_given() -> None:
    rng = np.random.default_rng(3)
    rgb = np.full((301, 257, 3), 255, dtype=np.uint8)
    rgb[40:200, 30:220] = rng.integers(0, 256, (160, 190, 3), dtype=np.uint8)   # noise: no flat runs
    full, top = png_pair(rgb, 120)
    assert np.array_equal(_decoded(full), rgb)
    assert np.array_equal(_decoded(top), rgb[:120])


@pytest.mark.parametrize("rows", [1, 301])
def test_the_first_rows_may_be_one_row_or_all(rows: int) -> None:
    rgb = np.zeros((301, 5, 3), dtype=np.uint8)
    rgb[::2] = 200
    full, top = png_pair(rgb, rows)
    assert np.array_equal(_decoded(top), rgb[:rows]) and np.array_equal(_decoded(full), rgb)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float64)])
def test_anything_but_8_bit_rgb_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        png_pair(bad, 2)


@pytest.mark.parametrize("channels, mode", [(3, "RGB"), (4, "RGBA")])
def test_one_image_of_rgb_or_rgba_decodes_to_the_pixels_given(channels: int, mode: str) -> None:
    # RGBA: the layers of rasterized points matplotlib puts in an SVG (transparent around the points).
    rng = np.random.default_rng(5)
    pixels = np.zeros((97, 131, channels), dtype=np.uint8)
    pixels[10:60, 20:90] = rng.integers(0, 256, (50, 70, channels), dtype=np.uint8)
    assert np.array_equal(_decoded(png_image(pixels), mode), pixels)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 4), np.uint16),
                                 np.zeros((4, 4), np.uint8)])
def test_one_image_of_anything_but_8_bit_rgb_or_rgba_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 RGB or RGBA"):
        png_image(bad)


def test_both_images_say_their_resolution_as_matplotlib_s_pngs_did() -> None:
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    full, top = png_pair(np.zeros((10, 10, 3), np.uint8), 5, dpi=120)
    for png in (full, top):   # whole pixels per metre: 4724, read back as 119.99 dpi
        assert Image.open(io.BytesIO(png)).info["dpi"] == Image.open(buffer).info["dpi"]
    assert "dpi" not in Image.open(io.BytesIO(png_pair(np.zeros((2, 2, 3), np.uint8), 1)[0])).info


def test_a_figure_whose_background_is_not_white_is_drawn_a_bounded_number_of_times() -> None:
    import matplotlib.pyplot as plt

    from slm_energy_plugin.render import plots

    fig = plt.figure(figsize=(2, 1), facecolor="black")   # ink everywhere: always at the canvas edge
    try:
        raster = plots._raster(fig)
    finally:
        plt.close(fig)
    widest = (2 + 2 * plots.MARGINS[0] * 2 ** plots.MAX_REDRAWS) * raster.dpi
    assert raster.pixels.shape[1] <= widest + 1
    assert Image.open(io.BytesIO(raster.pngs()[0])).info["dpi"] == pytest.approx((raster.dpi,) * 2, abs=0.05)


def test_the_project_style_keeps_figures_white_whatever_the_user_s_matplotlibrc_says() -> None:
    import matplotlib

    from slm_energy_plugin.render.style import apply_style

    with matplotlib.rc_context({"figure.facecolor": "black", "savefig.transparent": True}):
        apply_style()
        assert matplotlib.colors.to_hex(matplotlib.rcParams["figure.facecolor"]) == "#ffffff"
        assert not matplotlib.rcParams["savefig.transparent"]
