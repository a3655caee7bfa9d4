"""The HTML report reads like the terminal (issue 24): the background-load warning, accuracy written
one way, a start time for people, each caption once, files shared like other results, and model
names on one line at 1280 px in real Chromium."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from slm_energy_plugin.render.html_report import build_html, write_report
from slm_energy_plugin.render.plots import build_figures, figure_bytes
from slm_energy_plugin.render.run_input import load_input

from .test_html_report import _browser

ACCURACY = re.compile(r"\d+/\d+ \(\d+%(?: \[\d+%, \d+%\])?\)")


def _with_background_load(real_run: Path, tmp_path: Path) -> Path:
    run = tmp_path / "busy"
    shutil.copytree(real_run, run)
    path = run / "environmental_data_tiny-gpt2.json"
    data = json.loads(path.read_text())
    for query in data["query_history"]:
        query.setdefault("extra", {})["background_load"] = 0.9
    path.write_text(json.dumps(data))
    return run


def test_the_background_load_warning_is_in_the_report(real_run: Path, tmp_path: Path) -> None:
    text = build_html(load_input([_with_background_load(real_run, tmp_path)]), figures=False)
    warnings = re.findall(r'<div class="warn">(.*?)</div>', text, re.S)
    assert any(w.startswith("Warning: background load - other processes used more than") for w in warnings)


def test_accuracy_is_written_one_way(real_run: Path) -> None:
    text = build_html(load_input([real_run]), figures=False)
    cells = re.findall(r"<td>([^<]*%[^<]*)</td>", text)
    assert cells and all(ACCURACY.fullmatch(cell) for cell in cells), cells


def test_the_start_time_reads_for_people_and_keeps_the_iso(real_run: Path) -> None:
    text = build_html(load_input([real_run]), figures=False)
    found = re.search(r'started\s+<time datetime="([^"]+)" title="\1">(\d{1,2} \w{3} \d{4}, [\d:]{8} UTC)</time>',
                      text)
    assert found, re.search(r"started.{0,120}", text, re.S)
    assert found.group(1)[:4] == found.group(2).split(", ")[0][-4:]


def _png_height(data: bytes) -> int:
    return int(struct.unpack(">I", data[20:24])[0])


def test_each_caption_is_said_once(real_run: Path) -> None:
    data = load_input([real_run])
    text = build_html(data)
    specs = build_figures(data.frame, data.efficiency, timeline=data.timeline)
    figures = re.findall(r'src="data:image/png;base64,([^"]+)"><figcaption>(.*?)</figcaption>', text, re.S)
    assert len(figures) == len(specs)
    for spec, (encoded, caption) in zip(specs, figures):
        # The page says the caption as text; the image is the figure without it, so shorter.
        assert html.escape(spec.data.caption) in caption
        assert _png_height(base64.b64decode(encoded)) < _png_height(figure_bytes(spec, "png")), spec.name


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_the_report_honours_the_umask(real_run: Path, tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        report = write_report([real_run], tmp_path / "report.html", figures=False)
    finally:
        os.umask(old)
    assert report.stat().st_mode & 0o777 == 0o666 & ~mask


NAME_CELLS = """
return Array.from(document.querySelectorAll('tbody td:first-child')).map(td => {
  const r = document.createRange(); r.selectNodeContents(td);
  return [td.textContent, r.getClientRects().length];
}).concat([['page overflow', document.documentElement.scrollWidth - window.innerWidth]]);
"""


def test_model_names_stay_on_one_line_at_1280_px(real_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "long"
    shutil.copytree(real_run, run)
    path = run / "environmental_data_tiny-gpt2.json"
    data = json.loads(path.read_text())
    data["model_info"]["alias"] = "deepseek-r1-distill-qwen-1.5b-instruct-q4"   # a real-world long alias
    path.write_text(json.dumps(data))
    report = write_report([run], tmp_path / "report.html")
    driver = _browser()
    try:
        driver.set_window_size(1280, 1000)
        driver.get(report.as_uri())
        *cells, (_, overflow) = driver.execute_script(NAME_CELLS)
        assert driver.save_screenshot(str(tmp_path / "report-1280.png"))
    finally:
        driver.quit()
    assert overflow <= 0, "the page scrolls sideways: wide tables must scroll in their own box"
    assert cells and all(lines == 1 for _, lines in cells), cells


def test_the_accuracy_caption_names_only_what_is_drawn(real_run: Path) -> None:
    from slm_energy_plugin.render.plots import draw

    data = load_input([real_run])
    [spec] = [s for s in build_figures(data.frame, data.efficiency) if s.name == "accuracy_vs_energy"]
    fig = draw(spec)
    drawn = any(line.get_label() == "Pareto front" for ax in fig.axes for line in ax.lines)
    has_front = any(panel.front for panel in spec.data.panels)
    assert drawn == has_front
    assert ("dashed line: the Pareto front" in spec.data.caption) == drawn
    assert ("No model is on a Pareto front here" in spec.data.caption) == (not drawn)
