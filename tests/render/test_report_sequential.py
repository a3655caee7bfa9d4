"""The HTML report of a real sequential run (issue 23): the verdicts with their always-valid intervals, the
queries and energy each cost, the deselected tests; no fixed-n tests in words; escaped; read in Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.number_format import num
from slm_energy_plugin.render.html_report import build_html
from slm_energy_plugin.render.run_input import load_input

from ..browser import headless_chromium
from ..commands.test_compare_sequential import block_of, make_sequential_run


@pytest.fixture
def sequential_run(bench_project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sequential_run(bench_project, tmp_path_factory.mktemp("sequential-run", numbered=True))


def _section(text: str) -> str:
    found = re.search(r'<h2 id="sequential">Sequential verdicts</h2>(.*?)<h2>', text, re.S)
    assert found is not None, "no Sequential verdicts section"
    return found.group(1)


def _cells(section: str) -> list[list[str]]:
    return [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", section) if "<td>" in row]


def test_the_report_command_shows_the_verdicts_and_what_they_cost(sequential_run: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(sequential_run), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    block = block_of(sequential_run)
    section = _section(text)
    words = html.unescape(" ".join(section.split()))
    assert "Lai&#x27;s sequential t confidence sequence" in section      # which test
    assert (f"Ran {block['queries_run']} of {block['queries_planned']} queries in a random order (seed 0), stopped: "
            f"verdicts decided; {block['tests_deselected']} tests deselected (not run, not failed)") in words
    assert "J (estimated, not measured)" in words
    assert "ratio (geometric mean per query)" in words and "always-valid CI" in words
    assert "query energy to verdict (J, estimated, not measured)" in words
    rows = _cells(section)
    assert [row[0] for row in rows] == [pair["pair"] for pair in block["pairs"]]
    for row, pair in zip(rows, block["pairs"]):
        low, high = pair["ci"]
        why = [pair["reason"]] if "reason" in pair else []     # the block says why each pair ended (futility stop)
        assert row[1:] == ["tokens", pair["decision"], str(pair["after_queries"]), num(pair["ratio"]),
                           f"{num(low)} - {num(high)}", num(pair["energy_j"]), *why]
    assert "Fixed-n tests (Wilcoxon, Mann-Whitney, Friedman, Kruskal-Wallis, McNemar) are not shown" in words
    # No fixed-n test in words or tables; the figures' Hodges-Lehmann bars are labelled as not the verdicts.
    assert "Wilcoxon signed-rank p" not in text and "Kruskal-Wallis H =" not in text and "MWU p" not in text
    assert "Not shown for a sequential run" in text
    assert "they are not this sequential run&#x27;s verdicts" in text


def test_the_report_written_at_session_end_has_the_verdicts(sequential_run: Path) -> None:
    text = (sequential_run / "report.html").read_text(encoding="utf-8")   # --energy-html
    assert [row[2] for row in _cells(_section(text))] == [p["decision"] for p in block_of(sequential_run)["pairs"]]
    assert "Wilcoxon signed-rank p" not in text


def test_text_from_run_json_is_escaped(sequential_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(sequential_run, tmp_path / "evil"))
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    data = json.loads((run / "run.json").read_text())
    data["sequential"]["method_text"] = evil
    data["sequential"]["stop_reason"] = evil
    data["sequential"]["pairs"][0]["pair"] = evil
    data["sequential"]["pairs"][0]["reason"] = evil      # a field a later version may add: shown, escaped
    (run / "run.json").write_text(json.dumps(data))
    text = build_html(load_input([run]), figures=False)
    assert "<script>" not in text and "<img src=x" not in text
    assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4 and "<th>why</th>" in text


def test_a_block_that_cannot_be_read_is_a_warning(sequential_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(sequential_run, tmp_path / "broken"))
    data: dict[str, Any] = json.loads((run / "run.json").read_text())
    data["sequential"]["pairs"] = {"not": "a list"}
    (run / "run.json").write_text(json.dumps(data))
    text = build_html(load_input([run]), figures=False)
    assert re.search(r'<div class="warn">Sequential run \S+ \(tiny-gpt2, tiny-phi, tiny-qwen2\): its verdicts '
                     r"cannot be shown - its run.json&#x27;s &#x27;sequential&#x27; block: &#x27;pairs&#x27; is "
                     r"missing or not a list.</div>", text)
    assert "Wilcoxon signed-rank p" not in text   # still a sequential run: its fixed-n tests stay out


def test_a_run_that_is_not_sequential_is_unchanged(sequential_run: Path, tmp_path: Path) -> None:
    run = Path(shutil.copytree(sequential_run, tmp_path / "plain"))
    data = json.loads((run / "run.json").read_text())
    del data["sequential"]
    (run / "run.json").write_text(json.dumps(data))
    for path in run.glob("environmental_data_*.json"):
        model = json.loads(path.read_text())
        model["extra"]["settings"]["until"] = "all"
        path.write_text(json.dumps(model))
    text = build_html(load_input([run]), figures=False)
    assert 'id="sequential"' not in text and "sequential" not in text.lower().replace("sequential_", "")
    assert "Wilcoxon signed-rank p" in text


VERDICT_CELLS = """
const rows = Array.from(document.querySelectorAll('#sequential + p + p + div table tbody tr'));
return [rows.map(r => Array.from(r.cells).map(c => [c.textContent, c.getBoundingClientRect().height])),
        document.documentElement.scrollWidth - window.innerWidth,
        document.getElementById('sequential').getBoundingClientRect().top];
"""


def test_the_verdicts_read_in_headless_chromium(sequential_run: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    assert main(["report", str(sequential_run), "-o", str(report)]) == 0
    driver = headless_chromium()
    try:
        driver.set_window_size(1280, 1000)
        driver.get(report.as_uri())
        rows, overflow, _ = driver.execute_script(VERDICT_CELLS)
        driver.execute_script("document.getElementById('sequential').scrollIntoView()")
        assert driver.save_screenshot(str(tmp_path / "sequential-1280.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    finally:
        driver.quit()
    assert not errors and overflow <= 0, (errors, overflow)
    block = block_of(sequential_run)
    assert [[cell for cell, _ in row][:3] for row in rows] == [[p["pair"], "tokens", p["decision"]]
                                                              for p in block["pairs"]]
    heights = {round(height) for row in rows for _, height in row}
    assert len(heights) == 1, f"a verdict cell wraps onto a second line: {rows}"


def _pure_block(**extra: Any) -> dict[str, Any]:
    """A sequential block as run.json holds it, written out (no run needed)."""
    return {"method": "lai", "method_text": "Lai's sequential t confidence sequence", "alpha": 0.05,
            "alpha_per_pair": 0.05, "equivalence_margin": 0.05, "queries_run": 6, "queries_planned": 12, "seed": 0,
            "stop_reason": "verdicts decided", "tests_deselected": 12, "energy_j": 30.0,
            "pairs": [{"pair": "a vs b", "metric": "energy", "decision": "different", "after_queries": 6,
                       "ratio": 0.5, "ci": [0.3, 0.8], "energy_j": 30.0}], **extra}


def test_the_report_says_the_load_level_sentence_the_summary_says() -> None:
    from slm_energy_plugin.render.html_report import sequential_html
    from slm_energy_plugin.render.sequential_lines import sequential_lines
    from slm_energy_plugin.render.sequential_tables import SequentialRun

    block = _pure_block(look_stride=2, tests_after_decision=2, energy_j_after_decision=4.0, generations_unused=1,
                        energy_j_unused=1.5)
    words = html.unescape(" ".join(sequential_html([SequentialRun("r1", ("a", "b"), "measured", block)]).split()))
    sentence = ("Load levels: answers made 2 queries at a time, so models stop only every 2 queries; 2 tests ran "
                "after their model's verdicts (4 J, counted above), 1 generation made for no test (1.5 J, not "
                "counted above).")
    assert sentence in words
    assert sentence in " ".join(" ".join(sequential_lines(block, "measured")).split())   # the summary's, word for word
    # Without load levels (no look_stride, or 1) neither says it.
    for plain in (_pure_block(), _pure_block(look_stride=1)):
        assert "Load levels" not in sequential_html([SequentialRun("r1", ("a", "b"), "measured", plain)])
        assert "Load levels" not in " ".join(sequential_lines(plain, "measured"))


def test_the_summary_and_the_report_write_an_interval_with_one_helper() -> None:
    from slm_energy_plugin.render import sequential_tables
    from slm_energy_plugin.render.sequential_lines import interval_text, sequential_lines

    assert not hasattr(sequential_tables, "interval_text")   # one helper, no wrapper or second name
    assert interval_text([0.44, 0.957]) == "0.44 - 0.957"
    assert interval_text([1.25, None]) == "1.25 - inf"
    assert interval_text([0.0, float("inf")]) == interval_text([None, None]) == "(no bound yet)"
    assert interval_text(None) == interval_text([]) == "-"
    block = _pure_block()
    summary = "\n".join(sequential_lines(block, "measured"))
    for entry in block["pairs"]:
        assert interval_text(entry["ci"]) in summary
