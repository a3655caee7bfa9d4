"""The HTML report: written by --energy-html, self-contained, escaped, and opened in real Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.render.html_report import build_html, write_report
from slm_energy_plugin.render.run_input import load_input

from ..browser import headless_chromium



def test_energy_html_wrote_the_report_into_the_run_folder(real_run: Path) -> None:
    text = (real_run / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # The provenance banner says in words that energy was estimated, and which methods.
    banner = re.search(r'<div class="banner (\w+)" id="provenance">(.*?)</div>', text, re.S)
    assert banner is not None and banner.group(1) == "estimated"
    assert "ESTIMATED, not measured" in banner.group(2) and "cpu-load-estimate" in banner.group(2)
    # Statistics in words, from the project's statistics: ratio with CI, the test and its p-value.
    assert re.search(r"tiny-\w+ uses [0-9.]+x \[[0-9.]+, [0-9.]+\] the energy of tiny-\w+; "
                     r"Wilcoxon signed-rank p = [0-9.]+", text)
    assert "Efficiency per quality" in text and "95% Wilson" in text
    assert text.count('<img alt="') == 12 == text.count('src="data:image/png;base64,')


def test_the_report_is_self_contained(real_run: Path) -> None:
    text = (real_run / "report.html").read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    assert not re.search(r'(src|href)="(?!data:)', text)          # every resource is inline
    assert "http://" not in text and "https://" not in text
    assert "default-src 'none'" in text                           # the CSP forbids any fetch or script


def test_text_from_result_files_is_escaped(real_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "evil"
    shutil.copytree(real_run, run)
    path = run / "environmental_data_tiny-gpt2.json"
    data = json.loads(path.read_text())
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    data["model_info"]["alias"] = "gpt2" + evil
    data["machine"]["hostname"] = evil
    data["query_history"][0]["energy"]["warnings"] = [evil]
    path.write_text(json.dumps(data))
    text = build_html(load_input([run]), figures=False)
    assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_report_command(real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(real_run), "-o", str(out), "--metrics", "latency"]) == 0
    assert "wrote" in capsys.readouterr().out
    text = out.read_text()
    assert "tiny-gpt2 takes" in text or "tiny-phi takes" in text
    assert "energy per query (J)</h3>" not in text                # only the metric asked for
    assert main(["report", str(real_run), "-o", str(out), "--metrics", "nonsense"]) == 2


def _browser() -> Any:
    return headless_chromium()


IMAGES = "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"


def test_the_report_opens_in_headless_chromium(real_run: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    write_report([real_run], report)
    driver = _browser()
    try:
        driver.get(report.as_uri())
        images = driver.execute_script(IMAGES)
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        shot = tmp_path / "report.png"
        assert driver.save_screenshot(str(shot))
        title = driver.title
        banner = driver.find_element("id", "provenance").text
    finally:
        driver.quit()
    assert errors == []
    assert len(images) == 12 and all(done and width > 0 for done, width, _ in images), images
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert title == "slm-energy report: tiny-gpt2, tiny-phi" and "ESTIMATED" in banner


def test_the_browser_check_does_catch_a_broken_page(tmp_path: Path) -> None:
    """Control: the same checks fail on a page whose image cannot load (the CSP blocks it)."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" "
                    "content=\"default-src 'none'\"></head><body><img alt=x src=\"missing.png\"></body></html>")
    driver = _browser()
    try:
        driver.get(page.as_uri())
        images = driver.execute_script(IMAGES)
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    finally:
        driver.quit()
    assert images[0][1] == 0
    assert errors, "a blocked image must show as a console error"
