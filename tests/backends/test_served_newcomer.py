"""A newcomer's first run on a served model (issue 20), as pytest sessions against a local server:
the load test finishes on a server that gives no usable prompt counts (it grew to 13.8 GB before),
multiple-choice tests skip with one line, a hostile answer costs one query and the session goes on,
and a path-like model name gets a short alias."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from slm_energy_plugin.workload.loads import CHAR_ESTIMATE

from ..conftest import load_model_json, run_dirs
from .hostile_server import HostileServer

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MODEL = "openai:/srv/models/served-model"      # a path-like name, as transformers serve lists a folder
ALIAS = "openai-served-model"


def _run(project: pytest.Pytester, server: HostileServer, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess(
        "--energy-models", MODEL, "--energy-base-url", server.url + "/v1", "--energy-meter", "null",
        "--energy-warmup", "0", "--benchmark-disable", "-p", "no:cacheprovider", "-rs", *args)


@pytest.mark.parametrize("usage", [False, True], ids=["no-usage", "usage-that-does-not-follow-the-text"])
def test_the_load_test_finishes_on_a_served_model_without_counts_labelled_estimate(
        bench_project: pytest.Pytester, usage: bool) -> None:
    shutil.copy(BENCHMARKS / "test_load.py", bench_project.path / "test_load.py")
    with HostileServer() as server:
        server.usage = usage     # True: prompt_tokens is always 9, whatever the prompt
        result = _run(bench_project, server, "test_load.py")
    result.assert_outcomes(passed=3)
    [run_dir] = run_dirs(bench_project.path)
    history = load_model_json(run_dir, ALIAS)["query_history"]
    assert [q["extra"]["load"] for q in history] == ["short", "medium", "long"]
    for query in history:
        assert query["extra"]["load_token_source"] == CHAR_ESTIMATE
        assert 0 < query["extra"]["load_prompt_tokens"] <= query["extra"]["load_target_tokens"]
        assert len(query["query"]) <= 4 * query["extra"]["load_target_tokens"]


def test_multiple_choice_on_a_served_model_skips_with_one_line(bench_project: pytest.Pytester) -> None:
    shutil.copy(BENCHMARKS / "test_tasks.py", bench_project.path / "test_tasks.py")
    with HostileServer() as server:
        result = _run(bench_project, server, "test_tasks.py", "-k", "choice")
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) > 0 and "failed" not in outcomes and "passed" not in outcomes
    assert result.ret == 0 and "NotImplementedError" not in result.stdout.str() and "Traceback" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"SKIPPED * {ALIAS}: log-likelihood scoring is not available from a served "
                                 "model's chat/completions API; multiple-choice tests need the model in-process*"])


def test_hostile_answers_cost_one_query_each_and_the_session_goes_on(bench_project: pytest.Pytester) -> None:
    with HostileServer() as server:
        server.script = ["bomb-stream", "endless-tokens"]     # q001, q002; q003 is answered well
        result = _run(bench_project, server, "--energy-response-max-mb", "2", "--energy-request-deadline", "5")
    result.assert_outcomes(passed=1, failed=2)
    [run_dir] = run_dirs(bench_project.path)
    history = load_model_json(run_dir, ALIAS)["query_history"]
    assert [q["outcome"] for q in history] == ["error", "error", "passed"]
    assert "passed 2 MB after decompression; stopped reading" in history[0]["error"]
    assert "kept streaming past max_tokens=" in history[1]["error"]
    assert all("\n" not in q["error"] for q in history[:2])
