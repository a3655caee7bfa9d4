"""Without bubblewrap (a pip install, macOS, a non-root container) the code tasks are skipped with
one line and the session still succeeds, unless only code tasks were asked for (issue 20). On the
old code each code task failed with a traceback of its own (exit 1), or passed when the model's
answer held no code: the outcome depended on what the model said."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from slm_energy_plugin.quality.confinement import probe

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SKIP_LINE = ("Skipped 3 code tasks: refusing to run generated code without OS confinement: bubblewrap (bwrap) is "
             "not installed; install bubblewrap (apt-get install bubblewrap) or set "
             "SLM_ENERGY_ALLOW_UNCONFINED_CODE=1 to run it unconfined")


@pytest.fixture
def no_bwrap(bench_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.Pytester]:
    """The project's real task benchmarks on a PATH without bwrap."""
    for name in ("test_tasks.py", "test_cases.py"):     # code tasks, and data/test_cases.json's code case gen01
        (bench_project.path / name).write_text((BENCHMARKS / name).read_text())
    empty = bench_project.path / "bin-without-bwrap"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for name in ("SLM_ENERGY_BWRAP", "SLM_ENERGY_ALLOW_UNCONFINED_CODE"):
        monkeypatch.delenv(name, raising=False)
    # The probe is cached per process: an earlier test of this session may have found bwrap on PATH.
    probe.cache_clear()
    yield bench_project
    probe.cache_clear()


def test_code_tasks_are_skipped_with_one_line_and_the_run_succeeds(no_bwrap: pytest.Pytester) -> None:
    result = no_bwrap.runpytest("--energy-models", "tiny-gpt2", "--benchmark-disable", "-p", "no:randomly",
                                "-k", "q001 or sql01 or qa01 or code01 or code02 or gen01")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=3, skipped=3)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "ConfigError" not in output
    assert result.outlines.count(SKIP_LINE) == 1, output   # said once, whole, on one line
    assert output.count("refusing to run generated code") == 1


def test_asking_for_the_code_tasks_alone_fails_with_one_line_each(no_bwrap: pytest.Pytester) -> None:
    result = no_bwrap.runpytest("--energy-models", "tiny-gpt2", "--benchmark-disable", "-p", "no:randomly",
                                "-k", "code01 or code02 or gen01")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(errors=2, failed=1)   # a session fixture's failure is an error
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "ConfigError" not in output
    result.stdout.fnmatch_lines(["*refusing to run generated code without OS confinement: bubblewrap (bwrap) is "
                                 "not installed; install bubblewrap*"])
