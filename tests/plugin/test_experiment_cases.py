"""The experiment framework's test_cases.json (Ollama model names, Chinese task types) runs unchanged
against a local Ollama server: the model's parameters and quantisation come from /api/show, and the
utilisation figures are the server process's, found by its listening port."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from slm_energy_plugin.cli import main

from ..conftest import load_model_json, run_dirs
from ..workload.test_cases_file import EXPERIMENT_CASES

CASES_TEST = '''
from slm_energy_plugin.workload.run_case import ask_case, score_case


def test_case(slm, slm_case):
    ask_case(slm, slm_case)
    score_case(slm, slm_case)
'''
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ollama_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[str]]:
    """The stand-in Ollama server in its own process; OLLAMA_HOST points at it, as a user's would."""
    process = subprocess.Popen([sys.executable, "-m", "tests.backends.fake_ollama", "llama3.2:3b"],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _project(bench_project: pytest.Pytester) -> pytest.Pytester:
    bench_project.makepyfile(test_cases=CASES_TEST)
    (bench_project.path / "test_cases.json").write_text(json.dumps(EXPERIMENT_CASES, ensure_ascii=False),
                                                         encoding="utf-8")
    return bench_project


def test_experiment_cases_run_on_ollama_with_the_servers_own_figures(
        bench_project: pytest.Pytester, ollama_server: subprocess.Popen[str]) -> None:
    project = _project(bench_project)
    # In a subprocess, as the other served-model runs: an in-process run would leave httpcore's classes
    # imported inside it behind, and the outer session's later clients would not recognise their errors.
    result = project.runpytest_subprocess("test_cases.py", "--energy-cases", "test_cases.json",
                                          "--energy-cases-backend", "ollama", "--energy-meter", "null", "--benchmark-disable", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*test_case?ollama-llama3.2-3b-c001? PASSED*"])
    [run_dir] = run_dirs(project.path)
    data = load_model_json(run_dir, "ollama-llama3.2-3b")
    info = data["model_info"]
    # From POST /api/show: the exact parameter count, and the quantisation as the weights' type.
    assert info["parameters"] == 3212749888 and info["dtype"] == "Q4_K_M"
    assert info["server"]["details"] == {"format": "gguf", "family": "llama", "parameter_size": "3.2B",
                                         "quantization_level": "Q4_K_M", "parameter_count": 3212749888}
    process = info["server"]["process"]
    assert process["pid"] == ollama_server.pid and process["sampled"] == "server" and process["port"] > 0
    records = {r["query_id"]: r for r in data["query_history"]}
    assert [records[c]["task"] for c in ("c001", "c002", "c003", "c004")] == ["qa", "summary", "code", "creative"]
    for record in records.values():
        assert record["extra"]["utilisation_process"] == {"sampled": "server", "pid": ollama_server.pid}
        # The server holds a 64 MB ballast: its RSS, not this (torch-laden) client's, is what was sampled.
        import psutil

        server_rss = psutil.Process(ollama_server.pid).memory_info().rss / 2**20
        assert record["extra"]["utilisation"]["rss_mb"]["peak"] == pytest.approx(server_rss, rel=0.2)
        assert record["extra"]["backend"]["server"]["eval_count"] == record["tokens_output"] >= 1
    assert records["c001"]["response"].startswith("Paris")
    # The experiment framework's one combined file, from this run.
    out = project.path / "exports"
    assert main(["export", str(run_dir), "--format", "experiment", "-o", str(out)]) == 0
    [file] = list(out.glob("experiment_results_*.json"))
    exported = json.loads(file.read_text(encoding="utf-8"))
    assert exported["experiment_info"]["models"] == ["llama3.2:3b"]
    assert exported["model_info"]["ollama-llama3.2-3b"]["parameter_size"] == "3.2B"
    assert exported["model_info"]["ollama-llama3.2-3b"]["quantization"] == "Q4_K_M"
    results = exported["results"]
    assert [(r["model"], r["task_type"], r["prompt"]) for r in results] == [
        ("llama3.2:3b", task, case["prompt"]) for task, case in zip(("qa", "summary", "code", "creative"),
                                                                     EXPERIMENT_CASES)]
    assert {r["sampled_process"] for r in results} == {"server"} and results[0]["reference_text"] == "巴黎"
    assert results[0]["max_tokens"] == 50 and results[0]["temperature"] == 0.7


def test_an_ollama_name_without_a_backend_is_one_usage_line(bench_project: pytest.Pytester) -> None:
    project = _project(bench_project)
    result = project.runpytest("test_cases.py", "--energy-cases", "test_cases.json", "--energy-models", "tiny-gpt2",
                               "--benchmark-disable")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if "names model" in line]
    assert len(errors) == 1 and "case 1 (id c001) names model 'llama3.2:3b', which is neither selected " \
        "(selected: tiny-gpt2) nor resolvable" in errors[0]
    assert "--energy-cases-backend openai|ollama" in errors[0]
    assert "Traceback" not in result.stderr.str() and not run_dirs(project.path)
