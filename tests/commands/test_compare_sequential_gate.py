"""``compare --baseline --fail`` and ``compare --by task`` on a real sequential run: the gate decides by
an always-valid verdict (the run's own method, alpha and query order), never by a fixed-n test on the
adaptively stopped queries; the per-task tests are refused in one line (docs/sequential.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from slm_energy_plugin import cli
from slm_energy_plugin.stats.gate import GATE_TEST
from slm_energy_plugin.stats.sequential_gate import SEQUENTIAL_GATE_TEST

from ..conftest import run_dirs
from .test_compare_sequential import QUERIES, block_of, make_sequential_run, use_queries

_BASELINE: dict[str, Path] = {}


@pytest.fixture
def runs(bench_project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The real sequential run (tokens: 16, 24, 16 per answer) and a real fixed-n run of the same models
    and queries capped at 12 tokens, as a baseline; each made once per process."""
    sequential = make_sequential_run(bench_project, tmp_path_factory.mktemp("sequential-run", numbered=True))
    if "run" not in _BASELINE:
        use_queries(bench_project)   # this test's own project: the sequential run may come from another
        before = set(run_dirs(bench_project.path))
        result = bench_project.runpytest("--energy-models", "tiny-gpt2,tiny-qwen2,tiny-phi", "--energy-metrics",
                                         "tokens", "--energy-stops", "off", "--energy-max-new-tokens", "12",
                                         "--benchmark-disable", "-p", "no:randomly", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=3 * QUERIES)
        [made] = set(run_dirs(bench_project.path)) - before
        keep = tmp_path_factory.mktemp("fixed-n-baseline", numbered=True)
        _BASELINE["run"] = Path(shutil.copytree(made, keep / made.name))
    return sequential, _BASELINE["run"]


def _compare(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = cli.main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _gate(out: str) -> list[dict[str, object]]:
    gate: list[dict[str, object]] = json.loads(out)["gate"]
    return gate


def test_fail_on_a_sequential_run_is_an_always_valid_verdict_at_the_runs_alpha(
        runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    sequential, baseline = runs
    alpha = block_of(sequential)["alpha"]
    code, out, err = _compare(capsys, sequential, "--baseline", baseline, "--fail", "tokens:10%")
    assert code == 1, out + err
    flat = " ".join(out.split())
    assert "energy gate (tokens:10%): FAILED for 3 models" in flat
    assert (f"tiny-qwen2: output tokens: REGRESSION above 10%: the always-valid interval lies above 1 at the run's "
            f"alpha {alpha:g} - ratio 2 current / baseline (always-valid CI 2 - 2)") in flat
    gate_section = out[out.index("energy gate ("):]
    assert GATE_TEST not in out and "p = " not in gate_section   # no fixed-n test anywhere, the gate included
    code, out, _ = _compare(capsys, sequential, "--baseline", baseline, "--fail", "tokens:10%", "--format", "json")
    assert code == 1
    gate = _gate(out)
    assert {g["model"] for g in gate} == {"tiny-gpt2", "tiny-phi", "tiny-qwen2"}
    for entry in gate:
        assert entry["test"] == SEQUENTIAL_GATE_TEST and entry["p_value"] is None and entry["status"] == "regressed"
        # Only the queries the run asked before it stopped each model are paired, in its order.
        assert isinstance(entry["n_shared"], int) and 5 <= entry["n_shared"] < QUERIES


def test_a_sequential_run_within_its_baseline_passes(runs: tuple[Path, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    sequential, baseline = runs
    code, out, _ = _compare(capsys, sequential, "--baseline", sequential, "--fail", "tokens:10%")
    assert code == 0 and "energy gate (tokens:10%): passed" in out and "tiny-gpt2: output tokens: within 10%" in out
    # A sequential baseline: its queries stopped on its data too, so the verdict is taken in its order.
    code, out, _ = _compare(capsys, baseline, "--baseline", sequential, "--fail", "tokens:10%", "--format", "json")
    assert code == 0
    assert all(g["test"] == SEQUENTIAL_GATE_TEST and g["status"] == "ok" for g in _gate(out))


def test_a_fixed_n_run_keeps_the_fixed_n_gate(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, baseline = runs
    code, out, _ = _compare(capsys, baseline, "--baseline", baseline, "--fail", "tokens:10%", "--format", "json")
    assert code == 0 and all(g["test"] == GATE_TEST for g in _gate(out))


def test_by_task_on_a_sequential_run_is_refused_in_one_line(runs: tuple[Path, Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    sequential, baseline = runs
    for args in ((sequential, "--by", "task"), (baseline, "--by", "task", "--baseline", sequential),
                 (sequential, "--baseline", baseline, "--fail", "correct:-5pp")):
        code, out, err = _compare(capsys, *args)
        assert code == 2 and out == "" and "Traceback" not in err
        [line] = err.splitlines()
        assert line.startswith("slm-energy compare: error: per-task comparisons (--by task, --fail correct:-Npp): run ")
        assert "is a sequential run (--energy-until decided)" in line
        assert "per-task fixed-n tests (McNemar, Wilson and Newcombe intervals) are not valid on its adaptively " \
               "stopped samples" in line and "--energy-until all" in line


def test_the_sessions_own_gate_on_a_sequential_run_is_the_always_valid_verdict(
        runs: tuple[Path, Path], bench_project: pytest.Pytester) -> None:
    """``--energy-compare-fail`` in an ``--energy-until decided`` session judges as ``compare --fail`` does:
    the run stopped on its data, so a fixed-n Wilcoxon test at its data-chosen size would not hold."""
    from .test_compare_sequential import SEQUENTIAL

    _, baseline = runs
    use_queries(bench_project)
    # "=": a path given as its own argument would move pytest's rootdir (the common ancestor of path arguments)
    result = bench_project.runpytest(*SEQUENTIAL, f"--energy-compare={baseline}", "--energy-compare-fail", "tokens:10%")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-3000:] + result.stderr.str()
    flat = " ".join(result.stdout.str().split())
    assert f"compared with {baseline}" in flat
    assert "tiny-qwen2: output tokens: REGRESSION above 10%: the always-valid interval lies above 1" in flat
    gate = flat[flat.index(f"compared with {baseline}"):]
    assert GATE_TEST not in gate and "p = " not in gate
    # The gate written to run.json is the same verdict.
    made = max(run_dirs(bench_project.path), key=lambda p: p.stat().st_mtime)
    assert any("always-valid interval" in line for line in json.loads((made / "run.json").read_text())["gate"])
