"""Figures' boxes (plots._boxes, drawn as line collections) show what matplotlib's boxplot shows:
quartiles, median, whiskers at 1.5 IQR with caps; and every figure's PNG holds all it draws, however
far its labels and caption reach beyond the figure."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from slm_energy_plugin.render import figure_data as fd
from slm_energy_plugin.render import plots


def _series(n: int, names: list[str]) -> tuple[fd.Series, ...]:
    rng = np.random.default_rng(5)
    out = []
    for i, name in enumerate(names):
        values = rng.lognormal(i * 0.2, 0.7, n)
        q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        out.append(fd.Series(name, "#E69F00", values, fd.sample(values), float(med), float(q1), float(q3)))
    return tuple(out)


def _segments(ax: object) -> set[tuple[float, ...]]:
    found = set()
    for collection in ax.collections:   # type: ignore[attr-defined]
        for path in collection.get_paths():
            vertices = path.vertices
            for a, b in zip(vertices[:-1], vertices[1:]):
                found.add(tuple(np.round([*sorted([tuple(a), tuple(b)])[0], *sorted([tuple(a), tuple(b)])[1]], 9)))
    return found


def test_boxes_have_matplotlibs_quartiles_median_whiskers_and_caps() -> None:
    series = _series(2000, ["a", "b", "c"])
    fig, (ax,) = plots._figure()
    reference, (ref_ax,) = plots._figure()
    try:
        plots._boxes(ax, series, log=True)
        drawn = ref_ax.boxplot([s.values for s in series], positions=[1, 2, 3], widths=0.55, showfliers=False)
        expected = set()
        for key in ("whiskers", "caps", "medians", "boxes"):
            for line in drawn[key]:
                xy = np.column_stack(line.get_data())
                for a, b in zip(xy[:-1], xy[1:]):
                    expected.add(tuple(np.round([*sorted([tuple(a), tuple(b)])[0], *sorted([tuple(a), tuple(b)])[1]], 9)))
        assert expected <= _segments(ax)
        assert ax.get_xlim() == ref_ax.get_xlim() == (0.5, 3.5)
    finally:
        plt.close(fig)
        plt.close(reference)


def _white_border(png: bytes, pad: int) -> bool:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    ink = (pixels != 255).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return bool(rows[0] == pad and cols[0] == pad and rows[-1] == len(ink) - 1 - pad
                and cols[-1] == ink.shape[1] - 1 - pad)


def test_labels_and_a_caption_reaching_far_beyond_the_figure_are_all_in_the_png() -> None:
    # Slanted names of 90 characters run inches left of and below the figure, past the canvas margins.
    names = [f"group {i} / " + "a-very-long-model-name-" * 3 + str(i) for i in range(6)]
    data = fd.DistributionFigure("energy", "Energy", "energy (J)", True, _series(50, names),
                                 "A caption long enough to wrap onto several lines. " * 12)
    drawn = plots.render_figures([plots.PlotSpec("long", data, "Energy")], None)[0]
    full = plots.figure_bytes(drawn.spec)
    assert drawn.embedded_png is not None
    pad = 12   # savefig.pad_inches 0.1 at 120 dpi: white all round, nothing cut at an edge
    assert _white_border(full, pad) and _white_border(drawn.embedded_png, pad)
    assert Image.open(io.BytesIO(full)).height > Image.open(io.BytesIO(drawn.embedded_png)).height + 40
