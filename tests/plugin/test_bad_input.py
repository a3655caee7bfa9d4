"""Bad input: one clear line, no traceback, and nothing already measured is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from slm_energy_plugin.results.records import validate_model_dict

from ..conftest import load_model_json, run_dirs


def _usage_error(result: pytest.RunResult, *patterns: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(list(patterns))
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert "passed" not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--energy-models", "not-a-model"],
         "ERROR: unknown model 'not-a-model': use a registry alias (*), an existing local model folder, or a "
         "Hugging Face hub id such as org/name"),
        (["--energy-models", ","], "ERROR: --energy-models is empty*"),
        (["--energy-warmup", "-1"], "ERROR: --energy-warmup='-1': must be at least 0"),
        (["--energy-repeat", "two"], "ERROR: --energy-repeat='two': expected a whole number"),
        (["--energy-idle-seconds", "-3"], "ERROR: --energy-idle-seconds='-3': must be a finite number >= 0"),
        (["--energy-country", "US"], "ERROR: --energy-country='US': expected an ISO 3166 alpha-3 code*"),
        (["--energy-country", "XYZ"], "ERROR: unknown country code 'XYZ': use an ISO 3166 alpha-3 code*"),
        (["--energy-meter", "joulemeter"], "ERROR: --energy-meter='joulemeter': choose one of codecarbon, rapl, null, prometheus"),
        (["--energy-pue", "0.5"], "ERROR: --energy-pue='0.5': a datacenter PUE lies between 1.0*"),
        (["--energy-metrics", "energy,joy"], "ERROR: --energy-metrics: unknown metric 'joy'*"),
    ],
)
def test_bad_option_values_are_one_line_usage_errors(bench_project: pytest.Pytester, args: list[str],
                                                     pattern: str) -> None:
    _usage_error(bench_project.runpytest_subprocess(*args), pattern)


def test_bad_ini_value_names_the_ini_option(bench_project: pytest.Pytester) -> None:
    bench_project.makeini("[pytest]\nenergy_repeat = 0\n")
    _usage_error(bench_project.runpytest_subprocess(), "ERROR: ini option energy_repeat='0': must be at least 1")


def test_missing_queries_file(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest_subprocess("--energy-queries", "nope.txt")
    _usage_error(result, "ERROR: queries file '*nope.txt': no such file; pass --energy-queries PATH")


def test_empty_queries_file(bench_project: pytest.Pytester) -> None:
    (bench_project.path / "empty.txt").write_text("\n# only a comment\n\n")
    result = bench_project.runpytest_subprocess("--energy-queries", "empty.txt")
    _usage_error(result, "ERROR: queries file '*empty.txt' holds no queries*")


def test_unreadable_queries_file(bench_project: pytest.Pytester) -> None:
    (bench_project.path / "binary.txt").write_bytes(b"What is \xff\xfe?\n")
    result = bench_project.runpytest_subprocess("--energy-queries", "binary.txt")
    _usage_error(result, "ERROR: queries file '*binary.txt': not UTF-8 text (byte 8); save it as UTF-8")


def test_malformed_answer_line_is_named(bench_project: pytest.Pytester) -> None:
    lines = '{"id": "q001", "answer": "12"}\n{"id": "q002", "answer": 72\n'
    (bench_project.path / "answers.jsonl").write_text(lines)
    result = bench_project.runpytest_subprocess()
    _usage_error(result, "ERROR: *answers.jsonl, line 2: not valid JSON (*); each line must be one JSON object")


def test_unwritable_results_dir_fails_before_measuring(bench_project: pytest.Pytester) -> None:
    (bench_project.path / "afile").write_text("not a folder")
    result = bench_project.runpytest_subprocess("--energy-results-dir", "afile/results", "--energy-models",
                                                "tiny-gpt2")
    _usage_error(result, "ERROR: results directory '*afile/results' is not writable (*); pass "
                         "--energy-results-dir with a folder you can write to")


def test_model_that_fails_to_load_errors_and_others_run(bench_project: pytest.Pytester) -> None:
    broken = bench_project.mkdir("broken-model")
    (broken / "config.json").write_text('{"model_type": "gpt2", "n_embd": "not a number"}')
    result = bench_project.runpytest("--energy-models", f"{broken},tiny-gpt2", "--benchmark-disable")
    result.assert_outcomes(passed=3, errors=3)
    result.stdout.fnmatch_lines(["*broken-model: failed to load *broken-model: *"])
    assert "Traceback" not in result.stdout.str()
    assert load_model_json(run_dirs(bench_project.path)[0], "tiny-gpt2")["total_queries"] == 3


def test_a_generation_that_raises_fails_its_test_and_is_recorded(bench_project: pytest.Pytester) -> None:
    # tiny-gpt2 has 2,048 positions: a longer prompt is refused before transformers would crash.
    long_query = "What is " + " + ".join(["1"] * 1100) + "?"
    (bench_project.path / "queries.txt").write_text(f"What is 7 + 5?\n{long_query}\nWhat is 100 minus 37?\n")
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--benchmark-disable")
    result.assert_outcomes(passed=2, failed=1)
    data = load_model_json(run_dirs(bench_project.path)[0], "tiny-gpt2")
    assert validate_model_dict(data) == []
    outcomes = [(q["query_id"], q["outcome"]) for q in data["query_history"]]
    assert outcomes == [("q001", "passed"), ("q002", "error"), ("q003", "passed")]
    assert data["query_history"][1]["error"].startswith("PromptTooLong: prompt of 2")
    assert data["query_history"][1]["error"].endswith(
        "exceeds tiny-gpt2's 2048 positions; shorten the query or lower --energy-max-new-tokens")
    assert data["query_history"][1]["energy_kwh"] > 0  # the failed attempt's cost is still recorded


INTERRUPT_CONFTEST = """
import os, signal
calls = []
def pytest_runtest_logreport(report):
    if report.when == "call":
        calls.append(report.nodeid)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
"""


def test_ctrl_c_keeps_finished_queries(bench_project: pytest.Pytester) -> None:
    bench_project.makeconftest(INTERRUPT_CONFTEST)
    result = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2", "--benchmark-disable")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    [run_dir] = run_dirs(bench_project.path)
    data = load_model_json(run_dir, "tiny-gpt2")
    assert validate_model_dict(data) == []
    assert data["status"] == "interrupted"
    assert [q["query_id"] for q in data["query_history"]] == ["q001", "q002"]


def test_killed_run_is_recovered_from_its_journal(bench_project: pytest.Pytester) -> None:
    # SIGKILL leaves no chance to write: the journal must hold every finished query.
    bench_project.makeconftest(INTERRUPT_CONFTEST.replace("signal.SIGINT", "signal.SIGKILL"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "--energy-models", "tiny-gpt2", "--benchmark-disable",
                           "-p", "no:cacheprovider"], cwd=bench_project.path, capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert proc.returncode == -signal.SIGKILL
    [run_dir] = run_dirs(bench_project.path)
    assert not list(run_dir.glob("environmental_data_*.json"))
    recover = subprocess.run([sys.executable, "-m", "slm_energy_plugin.cli", "recover", str(run_dir)],
                             capture_output=True, text=True, timeout=60)
    assert recover.returncode == 0, recover.stderr
    data = load_model_json(run_dir, "tiny-gpt2")
    assert validate_model_dict(data) == []
    assert data["status"] == "recovered"
    assert [q["query_id"] for q in data["query_history"]] == ["q001", "q002"]
    assert data["loads"] and data["model_info"]["alias"] == "tiny-gpt2"
    again = subprocess.run([sys.executable, "-m", "slm_energy_plugin.cli", "recover", str(run_dir)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2
    assert again.stderr.strip().endswith("already holds 1 model files; pass --force to rebuild them")


def test_xdist_gives_exactly_the_records_of_a_serial_run(bench_project: pytest.Pytester) -> None:
    args = ["--energy-models", "tiny-gpt2,tiny-phi,tiny-qwen2", "--benchmark-disable", "-p", "no:randomly"]
    serial = bench_project.runpytest_subprocess(*args)
    serial.assert_outcomes(passed=9)
    time.sleep(1.1)  # run folders are named by the second they start
    parallel = bench_project.runpytest_subprocess(*args, "-n", "2")
    parallel.assert_outcomes(passed=9)
    parallel.stdout.fnmatch_lines(["Warning: 2 parallel workers shared this machine*"])
    first, second = run_dirs(bench_project.path)

    def essence(run_dir):
        out = {}
        for alias in ("tiny-gpt2", "tiny-phi", "tiny-qwen2"):
            data = load_model_json(run_dir, alias)
            out[alias] = [(q["query_id"], q["timestamp"], q["response"], q["tokens_input"], q["tokens_output"],
                           q["outcome"]) for q in data["query_history"]]
        return out

    assert essence(first) == essence(second)
    workers = {json.dumps(load_model_json(second, a)["extra"]["workers"]) for a in ("tiny-gpt2", "tiny-qwen2")}
    assert all("gw" in w for w in workers)
