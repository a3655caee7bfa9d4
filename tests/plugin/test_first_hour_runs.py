"""The first hour, as runs (issue 11): skipped models explained, no one-round benchmark table."""

from __future__ import annotations

import pytest


def test_all_models_skipped_still_lists_them_with_reason_and_how_to_get_them(
        bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest("--benchmark-disable", "--energy-offline", "--energy-models", "phi2,gpt2")
    result.assert_outcomes(skipped=6)
    result.stdout.fnmatch_lines([
        "*slm-energy*",
        "Skipped 2 models (not available here):",
        "  phi2 (3 tests): microsoft/phi-2 is not in the local Hugging Face cache and offline mode is on*"
        "hf download microsoft/phi-2*",
        "  gpt2 (3 tests): *",
    ])


def test_one_round_hides_pytest_benchmarks_table_and_repeat_keeps_it(bench_project: pytest.Pytester) -> None:
    one = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2")
    one.assert_outcomes(passed=3)
    assert "benchmark: 3 tests" not in one.stdout.str() and "Rounds" not in one.stdout.str()
    repeated = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2", "--energy-repeat", "2")
    repeated.assert_outcomes(passed=3)
    repeated.stdout.fnmatch_lines(["*benchmark: 3 tests*"])


@pytest.mark.parametrize("option, value, message", [
    ("--energy-idle-seconds", "1e9", "*--energy-idle-seconds*must be at most 3600 seconds (an hour)*"),
    ("--energy-protocol-min-seconds", "1e12", "*--energy-protocol-min-seconds*at most 3600 seconds*"),
    ("--energy-max-new-tokens", "1000000000", "*--energy-max-new-tokens*must be at most 131,072*"),
    ("--energy-meter", "rapl=/nonexistent-powercap", "*no RAPL package counters under /nonexistent-powercap*"),
])
def test_unbounded_values_and_missing_counters_are_one_usage_error(
        bench_project: pytest.Pytester, option: str, value: str, message: str) -> None:
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--benchmark-disable", option, value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "INTERNALERROR" not in output
    result.stderr.fnmatch_lines([message])


def test_an_unwritable_home_is_one_line_naming_the_cache_variable(
        bench_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = bench_project.path / "not-a-folder"
    blocker.write_text("a file where HOME's parent should be")
    monkeypatch.delenv("SLM_ENERGY_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(blocker / "home"))
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--benchmark-disable")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: cache folder * is not writable (*); * set SLM_ENERGY_CACHE_DIR to *"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
