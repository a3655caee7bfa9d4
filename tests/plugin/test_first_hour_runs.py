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
