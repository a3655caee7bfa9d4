"""--energy-until decided with served models (issue 23): a real pytest session against a real
OpenAI-compatible HTTP server on 127.0.0.1 (tests/backends/scripted_server.py: documented streaming
wire shapes over real sockets) stops sending queries once every pair is decided and deselects the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from slm_energy_plugin import cli

from ..backends.scripted_server import WORDS, ScriptedServer
from ..conftest import load_model_json, run_dirs

QUERIES = 12
TINY_GPT2_TOKENS = 16    # registry limit with stops off; the scripted server always answers len(WORDS) tokens


def _served_run(project: pytest.Pytester, server: ScriptedServer, models: str, *more: str) -> pytest.RunResult:
    project.makefile(".txt", queries="".join(f"What is {i} + {i + 2}?\n" for i in range(QUERIES)))
    (project.path / "answers.jsonl").unlink()
    return project.runpytest_subprocess(
        "--energy-models", models, "--energy-base-url", server.url + "/v1", "--energy-until", "decided",
        "--energy-metrics", "tokens", "--energy-meter", "null", "--energy-warmup", "0", "--energy-stops", "off",
        "--benchmark-disable", "-p", "no:randomly", "-p", "no:cacheprovider", "-v", *more)


def _asked(server: ScriptedServer) -> list[str]:
    """The question of every generation request the server got, in order."""
    texts = []
    for request in server.requests:
        prompt: Any = request.get("prompt") or request["messages"][-1]["content"]
        texts.append(str(prompt))
    return texts


def test_served_models_stop_being_asked_once_decided(bench_project: pytest.Pytester,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer() as server:
        result = _served_run(bench_project, server, "openai:a,openai:b,tiny-gpt2")
    [run_dir] = run_dirs(bench_project.path)
    manifest = json.loads((run_dir / "run.json").read_text())
    block = manifest["sequential"]
    looks = block["queries_run"]
    assert 5 <= looks < QUERIES and block["stop_reason"] == "verdicts decided" and block["looks"] == looks
    assert manifest["models"] == ["openai-a", "openai-b", "tiny-gpt2"]
    pairs = {p["pair"]: p for p in block["pairs"]}
    assert set(pairs) == {"openai-a vs openai-b", "openai-a vs tiny-gpt2", "openai-b vs tiny-gpt2"}
    same = pairs["openai-a vs openai-b"]
    assert same["decision"] == "equivalent" and same["ratio"] == pytest.approx(1)
    assert same["ci"] == pytest.approx([1, 1])
    for name in ("openai-a vs tiny-gpt2", "openai-b vs tiny-gpt2"):
        assert pairs[name]["decision"] == "different"
        assert pairs[name]["ratio"] == pytest.approx(len(WORDS) / TINY_GPT2_TOKENS)
        assert pairs[name]["after_queries"] == looks and pairs[name]["paired_queries"] == looks
        assert pairs[name]["energy_j"] is None            # null meter: no energy, never a made-up zero
    assert block["energy_j"] is None and block["tests_deselected"] == 3 * (QUERIES - looks)
    # pytest's own line: deselected, not skipped or failed; the served models' tests after the verdict never ran.
    result.assert_outcomes(passed=3 * looks, deselected=3 * (QUERIES - looks))
    # The server was asked exactly the queries that ran, once per served model: measuring stopped there.
    ran = [record["query"] for record in load_model_json(run_dir, "tiny-gpt2")["query_history"]]
    assert len(ran) == looks
    for alias in ("openai-a", "openai-b"):
        assert [q["query"] for q in load_model_json(run_dir, alias)["query_history"]] == ran
    asked = _asked(server)
    assert len(asked) == 2 * looks and all(any(q in text for q in ran) for text in asked), asked
    result.stdout.fnmatch_lines([f"Ran {looks} of {QUERIES} queries in a random order (seed 0), stopped: verdicts*",
                                 "openai-a vs openai-b*tokens*equivalent*"])
    # The folder reads back the same in `slm-energy compare`: the verdicts, energy said not measured.
    assert cli.main(["compare", str(run_dir)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "openai-a vs openai-b tokens equivalent" in out and "Query energy of all models: - J (not measured)" in out
    assert "Wilcoxon p" not in out


def test_two_served_models_that_answer_alike_are_equivalent_early(bench_project: pytest.Pytester) -> None:
    with ScriptedServer() as server:
        result = _served_run(bench_project, server, "openai:/srv/models/served-model,openai:/srv/other/Model-B")
    [run_dir] = run_dirs(bench_project.path)
    block = json.loads((run_dir / "run.json").read_text())["sequential"]
    [pair] = block["pairs"]
    looks = block["queries_run"]
    assert pair["pair"] == "openai-served-model vs openai-Model-B" and pair["decision"] == "equivalent"
    assert pair["after_queries"] == looks < QUERIES
    result.assert_outcomes(passed=2 * looks, deselected=2 * (QUERIES - looks))
    assert len(server.requests) == 2 * looks


def test_a_concurrency_level_sends_chunks_lazily_and_nothing_after_the_decision(bench_project: pytest.Pytester) -> None:
    """--energy-concurrency 2: each served model sends its questions two in flight, a chunk of two
    query blocks when a test first asks; once the verdicts stop the run, the server gets nothing more."""
    with ScriptedServer() as server:
        result = _served_run(bench_project, server, "openai:a,openai:b,tiny-gpt2", "--energy-concurrency", "2")
    [run_dir] = run_dirs(bench_project.path)
    block = json.loads((run_dir / "run.json").read_text())["sequential"]
    run = block["queries_run"]
    assert block["look_stride"] == 2 and run % 2 == 0 and 5 <= run < QUERIES
    assert block["stop_reason"] == "verdicts decided" and block["generations_unused"] == 0
    assert max(p["after_queries"] for p in block["pairs"]) > run - 2
    result.assert_outcomes(passed=3 * run, deselected=3 * (QUERIES - run))
    ran = [record["query"] for record in load_model_json(run_dir, "tiny-gpt2")["query_history"]]
    asked = _asked(server)
    # Every request the server received belongs to a query that ran: nothing was sent after the decision.
    assert len(asked) == 2 * run and all(any(q in text for q in ran) for text in asked), asked
    for alias in ("openai-a", "openai-b"):
        data = load_model_json(run_dir, alias)
        load = data["performance"]["load"]
        assert load["concurrency"] == 2 and load["requests"] == run and load["chunks_made"] == run // 2
        assert load["windows"] == run // 2 and load["requests_planned"] == QUERIES
        for record in data["query_history"]:
            share = record["extra"]["backend"]["load"]
            assert share["concurrency"] == 2 and share["window_requests"] == 2
