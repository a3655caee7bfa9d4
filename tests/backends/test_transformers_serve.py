"""openai: models against a real ``transformers serve`` on 127.0.0.1 serving a tiny model folder, offline:
records, TTFT from the stream, usage tokens, local and served models in one session, the server
killed mid-run."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import pytest

from slm_energy_plugin.backends.http_stream import Timeouts
from slm_energy_plugin.backends.openai_backend import OpenAIBackend
from slm_energy_plugin.backends.spec import ModelSpec
from slm_energy_plugin.backends.token_count import SERVER_USAGE
from slm_energy_plugin.paths import data_dir
from slm_energy_plugin.results.records import validate_model_dict

from ..conftest import load_model_json, run_dirs, unwrapped
from .transformers_server import ServeProcess


def _tiny_dir(cache: Path, alias: str) -> Path:
    [found] = [p for p in (cache / "tiny").iterdir() if p.name.startswith(alias + "-")]
    return found


@pytest.fixture(scope="module")
def qwen_server(tiny_cache: Path) -> Iterator[ServeProcess]:
    server = ServeProcess(_tiny_dir(tiny_cache, "tiny-qwen2"))
    yield server
    server.kill()


def _spec(server: ServeProcess, style: str = "chat") -> ModelSpec:
    return ModelSpec(alias="served-qwen2", source="served", backend="openai", served_name=str(server.model_dir),
                     base_url=server.base_url, prompt_style=style, prompt_template="Question: {query}\nAnswer:",
                     tokenizer="tiny-qwen2")


def test_chat_stream_from_transformers_serve(qwen_server: ServeProcess, tiny_cache: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
    backend = OpenAIBackend(_spec(qwen_server), Timeouts(read_s=60))
    backend.probe()
    assert backend.probe_error is None and str(qwen_server.model_dir) in backend.server_models
    generation = backend.generate("What is 7 + 5?", 8)
    # transformers serve sends usage with its last chunk: the token counts are the server's.
    assert generation.extra["token_source"] == SERVER_USAGE
    assert generation.tokens_output == 8 and generation.tokens_input > 5
    assert generation.extra["finish_reason"] == "length" and not generation.hit_eos
    assert generation.extra["server_model"] == str(qwen_server.model_dir)
    assert generation.ttft_s is not None and 0 < generation.ttft_s < generation.seconds
    assert generation.decode_s is not None and generation.decode_s > 0
    # The tiny qwen2's chat template opens <think>: the server streams reasoning_content, counted as reasoning.
    assert generation.reasoning_tokens is not None and 0 < generation.reasoning_tokens <= 8
    backend.close()


def test_plain_style_goes_through_completions(qwen_server: ServeProcess) -> None:
    backend = OpenAIBackend(replace(_spec(qwen_server, "plain"), tokenizer=None), Timeouts(read_s=60))
    generation = backend.generate("What is 7 + 5?", 6)
    assert generation.tokens_output == 6 and generation.ttft_s is not None
    assert generation.rendered_prompt == "Question: What is 7 + 5?\nAnswer:"
    backend.close()


def _project_with_registry(bench_project: pytest.Pytester, server: ServeProcess,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A data folder whose registry adds the served model (registry entries name backend and base URL)."""
    data = bench_project.path / "slm-data"
    shutil.copytree(data_dir(), data)
    registry = json.loads((data / "models.json").read_text())
    registry["models"]["served-qwen2"] = {
        "backend": "openai", "model": str(server.model_dir), "base_url": server.base_url,
        "tokenizer": "tiny-qwen2", "prompt_style": "chat", "max_new_tokens": 8}
    (data / "models.json").write_text(json.dumps(registry))
    monkeypatch.setenv("SLM_ENERGY_DATA_DIR", str(data))


def test_local_and_served_models_in_one_session(bench_project: pytest.Pytester, qwen_server: ServeProcess,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _project_with_registry(bench_project, qwen_server, monkeypatch)
    result = bench_project.runpytest_subprocess("--energy-models", "tiny-qwen2,served-qwen2",
                                                "--benchmark-disable", "--energy-meter", "null", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    [run_dir] = run_dirs(bench_project.path)
    served = load_model_json(run_dir, "served-qwen2")
    assert validate_model_dict(served) == []
    info = served["model_info"]
    assert info["backend"] == "openai" and info["model_id"] == f"openai:{qwen_server.model_dir}"
    assert info["server"]["base_url"] == qwen_server.base_url
    assert info["server"]["model_id"] == str(qwen_server.model_dir)
    assert info["server"]["energy_scope"] == "whole machine, includes the server"
    assert "energy: whole machine, includes the server" in info["notes"]
    for query in served["query_history"]:
        assert query["outcome"] == "passed" and query["tokens_output"] == 8 and query["tokens_input"] > 5
        assert query["ttft_s"] > 0 and query["extra"]["backend"]["token_source"] == SERVER_USAGE
    local = load_model_json(run_dir, "tiny-qwen2")
    assert local["model_info"]["backend"] == "transformers" and local["total_queries"] == 3


KILL_CONFTEST = '''
import os, signal

def pytest_runtest_teardown(item, nextitem):
    if item.name == "test_math_query[served-qwen2-q001]":
        os.killpg(int(os.environ["SERVE_PGID"]), signal.SIGKILL)   # the server dies mid-run
'''


def test_server_killed_mid_run(bench_project: pytest.Pytester, tiny_cache: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    server = ServeProcess(_tiny_dir(tiny_cache, "tiny-qwen2"))
    try:
        _project_with_registry(bench_project, server, monkeypatch)
        monkeypatch.setenv("SERVE_PGID", str(server.process.pid))
        bench_project.makeconftest(KILL_CONFTEST)
        result = bench_project.runpytest_subprocess("--energy-models", "tiny-qwen2,served-qwen2",
                                                    "--benchmark-disable", "--energy-meter", "null",
                                                    "-p", "no:cacheprovider")
    finally:
        server.kill()
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(["*cannot connect to http://127.0.0.1:*check that the server is running*"])
    [run_dir] = run_dirs(bench_project.path)
    history = load_model_json(run_dir, "served-qwen2")["query_history"]
    assert [q["outcome"] for q in history] == ["passed", "error", "error"]
    assert history[0]["tokens_output"] == 8 and history[0]["ttft_s"] > 0     # measured before the death: kept
    # The first query after the death meets the kept-alive connection reset, the next a refused connect.
    assert "reset the connection before answering" in history[1]["error"] or "cannot connect" in history[1]["error"]
    assert "cannot connect" in history[2]["error"]
    for query in history[1:]:
        assert "check that the server" in query["error"] and query["energy"] is not None
    assert load_model_json(run_dir, "tiny-qwen2")["total_queries"] == 3     # the local model went on


def test_concurrency_sends_the_queries_together_and_shares_the_window(
        bench_project: pytest.Pytester, qwen_server: ServeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    _project_with_registry(bench_project, qwen_server, monkeypatch)
    result = bench_project.runpytest_subprocess("--energy-models", "served-qwen2", "--energy-concurrency", "3",
                                                "--benchmark-disable", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert re.search(r"served-qwen2 under load: 3 in flight, 3 requests \(0 failed\) in \S+ s = \S+ requests/s, "
                     r"\S+ output tokens/s, \S+ J/request \(estimated; shared by time overlap\)", unwrapped(result))
    [run_dir] = run_dirs(bench_project.path)
    data = load_model_json(run_dir, "served-qwen2")
    load = data["performance"]["load"]
    assert load["concurrency"] == 3 and load["requests"] == 3 and load["output_tokens"] == 24
    assert load["requests_per_s"] == pytest.approx(3 / load["window_s"])
    figures = [q["extra"]["backend"]["load"] for q in data["query_history"]]
    assert sum(f["energy_fraction"] for f in figures) == pytest.approx(1.0)
    assert max(f["mean_in_flight"] for f in figures) > 1.0   # they really were in flight together
    assert sum(q["energy_kwh"] for q in data["query_history"]) == pytest.approx(load["energy"]["total_kwh"])
    for query in data["query_history"]:
        assert query["tokens_output"] == 8 and query["ttft_s"] > 0
        assert query["duration_s"] == pytest.approx(query["extra"]["backend"]["load"]["latency_s"])


def test_concurrency_levels_are_models_compared_in_one_summary(
        bench_project: pytest.Pytester, qwen_server: ServeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """--energy-concurrency 1,3: the same served model at two levels, one paired comparison."""
    _project_with_registry(bench_project, qwen_server, monkeypatch)
    result = bench_project.runpytest_subprocess("--energy-models", "served-qwen2", "--energy-concurrency", "1,3",
                                                "--energy-report", "--benchmark-disable", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["served-qwen2-c3 under load: 3 in flight, 3 requests (0 failed) in * s = *"])
    assert "served-qwen2-c1 under load" not in result.stdout.str()   # level 1: each test asks live
    result.stdout.fnmatch_lines(["*served-qwen2-c1*served-qwen2-c3*"])   # a comparison row of the two levels
    [run_dir] = run_dirs(bench_project.path)
    one, three = (load_model_json(run_dir, f"served-qwen2-c{n}") for n in (1, 3))
    assert one["model_info"]["generation"]["concurrency"] == 1 and three["model_info"]["generation"]["concurrency"] == 3
    assert one["model_info"]["generation"]["load_level_of"] == "served-qwen2"
    assert one["performance"]["load"] is None and three["performance"]["load"]["requests"] == 3
    assert all("load" not in q["extra"]["backend"] for q in one["query_history"])
    assert all(q["extra"]["backend"]["load"]["concurrency"] == 3 for q in three["query_history"])
    # The same prompts: both levels asked the same generations.
    for name in ("query", "tokens_input", "tokens_output"):
        assert [q[name] for q in one["query_history"]] == [q[name] for q in three["query_history"]]


def test_load_levels_refuse_xdist(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2", "--energy-batch-size", "4", "-n", "2",
                                                "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--energy-batch-size / --energy-concurrency above 1 run all of a model's "
                                 "queries from one process; run without -n (xdist)"])
