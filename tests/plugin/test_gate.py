"""The energy regression gate of a pytest session (--energy-compare / --energy-compare-fail)."""

from __future__ import annotations

import pytest

from ..conftest import run_dirs

SIX_QUERIES = "".join(f"What is {n} plus {n}?\n" for n in range(1, 7))


@pytest.fixture
def six_queries(bench_project: pytest.Pytester) -> pytest.Pytester:
    # Six paired queries: a one-sided Wilcoxon can reach p = 1/64, below 0.05.
    (bench_project.path / "queries.txt").write_text(SIX_QUERIES)
    (bench_project.path / "answers.jsonl").unlink()
    return bench_project


def _run(project: pytest.Pytester, tokens: int, *extra: str) -> pytest.RunResult:
    return project.runpytest("--energy-models", "tiny-gpt2", "--energy-max-new-tokens", str(tokens),
                             "--benchmark-disable", *extra)


def test_a_costlier_model_fails_the_session_with_one_line(six_queries: pytest.Pytester) -> None:
    # Output tokens are deterministic (energy on this VM follows noisy timings): 2 -> 48 per query.
    _run(six_queries, 2).assert_outcomes(passed=6)
    [baseline] = run_dirs(six_queries.path)
    result = _run(six_queries, 48, "--energy-compare", str(baseline), "--energy-compare-fail", "tokens:10%")
    result.assert_outcomes(passed=6)  # every test passed; the gate fails the session
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        f"compared with {baseline}",
        "energy gate (tokens:10%): FAILED for 1 model",
        "tiny-gpt2: output tokens: REGRESSION above 10%, significant at 0.05 - median rose 2300.0% "
        "(2 -> 48 tokens); Wilcoxon signed-rank, one-sided (current > baseline): p = 0.0156 on 6 shared queries",
    ])


def test_a_cheaper_model_passes_and_compare_alone_only_reports(six_queries: pytest.Pytester) -> None:
    _run(six_queries, 48).assert_outcomes(passed=6)
    [baseline] = run_dirs(six_queries.path)
    cheaper = _run(six_queries, 2, "--energy-compare", str(baseline), "--energy-compare-fail", "energy:10%")
    assert cheaper.ret == pytest.ExitCode.OK
    cheaper.stdout.fnmatch_lines(["energy gate (energy:10%): passed", "tiny-gpt2: energy per query: within 10%*"])
    report_only = _run(six_queries, 48, "--energy-compare", str(baseline))
    assert report_only.ret == pytest.ExitCode.OK
    report_only.stdout.fnmatch_lines(["tiny-gpt2: energy per query: compared with the baseline*"])


@pytest.mark.parametrize(("args", "pattern"), [
    (["--energy-compare-fail", "energy:10%"],
     "ERROR: --energy-compare-fail needs --energy-compare PATH: the saved run to compare with"),
    (["--energy-compare", "nowhere", "--energy-compare-fail", "energy:ten"],
     "ERROR: bad gate spec 'energy:ten': write METRIC:PERCENT%, e.g. energy:10%*"),
    (["--energy-compare", "nowhere"], "ERROR: --energy-compare: */nowhere: no such file*"),
])
def test_gate_usage_errors(bench_project: pytest.Pytester, args: list[str], pattern: str) -> None:
    result = bench_project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([pattern])
