"""``slm-energy compare`` on a real sequential run (issue 23): the verdicts from run.json with their
always-valid intervals, what each cost, the deselected tests; no fixed-n tests, as the summary shows it."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slm_energy_plugin import cli

from ..conftest import run_dirs

REPO = Path(__file__).resolve().parents[2]
QUERIES = 12
# tiny-gpt2 and tiny-phi write 16 tokens per answer, tiny-qwen2 24 (registry limits, stops off): on
# "tokens" two pairs are certainly different and one equivalent, so the run stops early and deselects.
SEQUENTIAL = ("--energy-models", "tiny-gpt2,tiny-qwen2,tiny-phi", "--energy-until", "decided",
              "--energy-metrics", "tokens", "--energy-stops", "off", "--energy-html", "--benchmark-disable",
              "-p", "no:randomly", "-p", "no:cacheprovider")
FIXED_N = ("Wilcoxon p", "MWU p", "Kruskal-Wallis H", "Friedman chi2", "Hodges-Lehmann estimate")
_MADE: dict[str, Path] = {}   # one real run per test process, shared by this module and the report's tests


def use_queries(project: pytest.Pytester) -> None:
    """The project's queries: QUERIES sums, unscored (written into each project that runs a session:
    the run made once per process leaves a later test's fresh project untouched)."""
    project.makefile(".txt", queries="".join(f"What is {i} + {i + 2}?\n" for i in range(QUERIES)))
    (project.path / "answers.jsonl").unlink(missing_ok=True)


def make_sequential_run(project: pytest.Pytester, keep: Path) -> Path:
    """A real ``--energy-until decided`` session (pytester, tiny models, 12 queries); its run folder, kept
    under ``keep``. Made once per process: every test reads it, a test that changes it copies it first."""
    if "run" not in _MADE:
        use_queries(project)
        result = project.runpytest(*SEQUENTIAL)
        outcomes = result.parseoutcomes()
        assert outcomes.get("deselected", 0) > 0 and "failed" not in outcomes, result.stdout.str()[-3000:]
        [made] = run_dirs(project.path)
        _MADE["run"] = Path(shutil.copytree(made, keep / made.name))
        _MADE["summary"] = keep / "summary.txt"
        _MADE["summary"].write_text("\n".join(result.outlines))
    return _MADE["run"]


@pytest.fixture
def sequential_run(bench_project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sequential_run(bench_project, tmp_path_factory.mktemp("sequential-run", numbered=True))


def block_of(run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run / "run.json").read_text())["sequential"]
    return data


def _compare(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = cli.main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


def _rewrite(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_the_real_cli_shows_the_verdicts_and_no_fixed_n_tests(sequential_run: Path) -> None:
    block = block_of(sequential_run)
    assert block["tests_deselected"] > 0 and block["stop_reason"] == "verdicts decided"
    proc = subprocess.run([sys.executable, "-m", "slm_energy_plugin.cli", "compare", str(sequential_run)],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    out, flat = proc.stdout, " ".join(proc.stdout.split())
    # The summary's own lines: which test, the scale, how far it ran, what was deselected and spent.
    assert "Sequential verdicts (--energy-until decided): Lai's sequential t confidence sequence" in flat
    assert (f"Ran {block['queries_run']} of {QUERIES} queries in a random order (seed 0), stopped: verdicts "
            f"decided; {block['tests_deselected']} tests deselected, not run.") in flat
    assert "Ratio: first / second model, geometric mean of per-query ratios" in flat
    assert "(estimated, not measured)" in flat    # the energy each verdict cost says how it was obtained
    for pair in block["pairs"]:
        row = next(line for line in out.splitlines() if line.startswith(pair["pair"] + " "))
        assert row.split()[3:7] == ["tokens", pair["decision"], str(pair["after_queries"]),
                                    f"{pair['ratio']:.3g}"], row
    assert sorted(p["decision"] for p in block["pairs"]) == ["different", "different", "equivalent"]
    # No fixed-n test anywhere; the per-model values stay, with a legend that names only them.
    assert not [name for name in FIXED_N if name in out], out
    # The unit follows the values (an estimate of tiny models' queries: J or mJ, machine by machine).
    assert re.search(r"-- energy per query \((?:m|µ)?J\): 3 models", out) and "Median CI: percentile bootstrap" in flat
    assert "Fixed-n tests (Wilcoxon, Mann-Whitney, Friedman, Kruskal-Wallis, McNemar) are not shown" in flat
    assert "Traceback" not in proc.stderr


def test_the_session_summary_and_compare_print_the_same_verdict_table(sequential_run: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    summary = _MADE["summary"].read_text().splitlines()
    start = next(i for i, line in enumerate(summary) if line.startswith("Sequential verdicts"))
    end = next(i for i, line in enumerate(summary) if "would overstate the evidence" in line)
    code, out, _ = _compare(capsys, sequential_run)
    assert code == 0
    lines = out.splitlines()
    at = lines.index(summary[start])
    assert lines[at:at + end - start + 1] == summary[start:end + 1]


def test_json_keeps_the_whole_block_and_leaves_out_the_tests(sequential_run: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(capsys, sequential_run, "--format", "json", "--metrics", "energy,tokens")
    assert code == 0
    data = json.loads(out)
    [entry] = data["sequential"]
    assert entry["block"] == block_of(sequential_run) and entry["problem"] is None
    assert entry["run_id"] == json.loads((sequential_run / "run.json").read_text())["run_id"]
    assert entry["energy_provenance"] == "estimated" and entry["scale"].startswith("ratio of geometric means")
    assert sorted(entry["models"]) == ["tiny-gpt2", "tiny-phi", "tiny-qwen2"]
    for metric in data["metrics"]:
        assert metric["omnibus"] == [] and metric["pairs"] == [] and len(metric["summaries"]) == 3
    assert any("Fixed-n tests" in note for note in data["notes"])


def test_csv_has_one_row_per_verdict_and_one_for_the_run(sequential_run: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(capsys, sequential_run, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"after_queries", "energy_j", "energy_provenance", "tests_deselected"} <= set(rows[0])
    assert not [r for r in rows if r["row"] in ("pair", "omnibus")]
    block = block_of(sequential_run)
    [run_row] = [r for r in rows if r["row"] == "sequential-run"]
    assert run_row["tests_deselected"] == str(block["tests_deselected"]) and run_row["reason"] == "verdicts decided"
    assert float(run_row["energy_j"]) == pytest.approx(block["energy_j"])
    assert run_row["energy_provenance"] == "estimated"
    verdicts = [r for r in rows if r["row"] == "sequential"]
    assert [f"{r['model']} vs {r['model_b']}" for r in verdicts] == [p["pair"] for p in block["pairs"]]
    for row, pair in zip(verdicts, block["pairs"]):
        assert row["status"] == pair["decision"] and row["after_queries"] == str(pair["after_queries"])
        assert float(row["estimate"]) == pytest.approx(pair["ratio"])
        assert [float(row["low"]), float(row["high"])] == pytest.approx(pair["ci"])
        assert float(row["energy_j"]) == pytest.approx(pair["energy_j"])
        assert row["scale"].startswith("ratio of geometric means per query") and row["kind"] == "ratio"
        assert float(row["confidence"]) == pytest.approx(1 - block["alpha_per_pair"])


def test_markdown_for_ci_summaries(sequential_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(capsys, sequential_run, "--format", "markdown")
    assert code == 0 and "### Sequential verdicts" in out and "| tiny-gpt2" in out
    assert "Wilcoxon p" not in out and "Lai's sequential t" in out


def test_a_model_file_given_alone_finds_its_run_json(sequential_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _compare(capsys, sequential_run / "environmental_data_tiny-gpt2.json",
                            sequential_run / "environmental_data_tiny-qwen2.json")
    assert code == 0 and "Sequential verdicts (--energy-until decided)" in out and "Wilcoxon p" not in out


def test_fields_a_later_version_adds_are_read_and_shown(sequential_run: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(sequential_run, tmp_path)

    def add(data: dict[str, Any]) -> None:
        data["sequential"]["futility_bound"] = 0.5
        for pair in data["sequential"]["pairs"]:
            pair["reason"] = f"interval {pair['decision']}"
    _rewrite(run / "run.json", add)
    code, out, _ = _compare(capsys, run, "--format", "csv")
    assert code == 0
    reasons = [r["reason"] for r in csv.DictReader(io.StringIO(out)) if r["row"] == "sequential"]
    assert reasons and all(reason.startswith("interval ") for reason in reasons)
    code, out, _ = _compare(capsys, run, "--format", "json")
    assert json.loads(out)["sequential"][0]["block"]["futility_bound"] == 0.5
    code, out, _ = _compare(capsys, run)
    assert code == 0 and "Sequential verdicts (--energy-until decided)" in out


@pytest.mark.parametrize(("change", "said"), [
    (lambda data: data["sequential"].pop("alpha"),
     "its run.json's 'sequential' block: 'alpha' is missing or not a number"),
    (lambda data: data["sequential"].update(pairs="all decided"), "'pairs' is missing or not a list"),
    (lambda data: data["sequential"]["pairs"][0].update(ci=["low", 2]), "'ci' is not two bounds"),
    (lambda data: data.pop("sequential"), "its run.json has no 'sequential' block"),
], ids=["no-alpha", "pairs-text", "ci-text", "no-block"])
def test_a_block_that_cannot_be_read_is_one_line_and_the_tests_stay_out(
        sequential_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, said: str) -> None:
    run = _copy(sequential_run, tmp_path)
    _rewrite(run / "run.json", change)
    code, out, err = _compare(capsys, run)
    flat = " ".join(out.split())
    assert code == 0 and "Traceback" not in out + err
    assert "its verdicts cannot be shown - " in flat and said in flat
    assert "Sequential verdicts (--energy-until" not in out and "Wilcoxon p" not in out   # still a sequential run


@pytest.mark.parametrize("text", ['{"run_id": ', "[1, 2]"], ids=["truncated", "not-an-object"])
def test_an_unreadable_run_json_is_one_line(sequential_run: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str], text: str) -> None:
    run = _copy(sequential_run, tmp_path)
    (run / "run.json").write_text(text)
    code, out, err = _compare(capsys, run, "--format", "json")
    assert code == 0 and "Traceback" not in err
    [entry] = json.loads(out)["sequential"]
    assert entry["block"] is None and str(run / "run.json") in entry["problem"]


def test_a_run_that_is_not_sequential_is_unchanged(sequential_run: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    run = _copy(sequential_run, tmp_path)
    _rewrite(run / "run.json", lambda data: data.pop("sequential"))
    for path in run.glob("environmental_data_*.json"):
        _rewrite(path, lambda data: data["extra"]["settings"].update(until="all"))
    code, out, _ = _compare(capsys, run)
    assert code == 0 and "Wilcoxon p" in out and "MWU p" in out and "Kruskal-Wallis H" in out
    assert "Sequential" not in out and "sequential" not in out
    code, out, _ = _compare(capsys, run, "--format", "csv")
    assert out.splitlines()[0].endswith(",scale") and "sequential" not in out
    assert "sequential" not in json.loads(_compare(capsys, run, "--format", "json")[1])
