"""--energy-until decided with served models (issue 23): a real pytest session against a real
OpenAI-compatible HTTP server on 127.0.0.1 (tests/backends/scripted_server.py: documented streaming
wire shapes over real sockets) stops sending queries once every pair is decided and deselects the rest."""

from __future__ import annotations

import json
import socket
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


def _closed_port() -> tuple[socket.socket, int]:
    """A port on 127.0.0.1 that refuses connections: bound (so no one else takes it) but not listening."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    return holder, int(holder.getsockname()[1])


def test_a_model_whose_server_is_down_stops_and_frees_the_others(bench_project: pytest.Pytester) -> None:
    """The review's reproduction: a served model that errors on every query (its server is down) gave
    its pairs no values, so they were never decided and tiny-gpt2 and tiny-qwen2 were measured to the
    last query (12 failed, 25 passed, 0 deselected) although their own pair was decided after 6."""
    holder, port = _closed_port()
    with holder:
        bench_project.makefile(".txt", queries="".join(f"What is {i} + {i + 2}?\n" for i in range(QUERIES)))
        (bench_project.path / "answers.jsonl").unlink()
        result = bench_project.runpytest_subprocess(
            "--energy-models", "openai:a,tiny-gpt2,tiny-qwen2", "--energy-base-url", f"http://127.0.0.1:{port}/v1",
            "--energy-until", "decided", "--energy-metrics", "tokens", "--energy-meter", "null",
            "--energy-warmup", "0", "--energy-stops", "off", "--benchmark-disable", "-p", "no:randomly",
            "-p", "no:cacheprovider")
    [run_dir] = run_dirs(bench_project.path)
    block = json.loads((run_dir / "run.json").read_text())["sequential"]
    looks = block["queries_run"]
    pairs = {p["pair"]: p for p in block["pairs"]}
    for name in ("openai-a vs tiny-gpt2", "openai-a vs tiny-qwen2"):
        assert pairs[name]["decision"] == "undecided" and pairs[name]["reason"] == "no values"
        assert pairs[name]["after_queries"] == 5 and pairs[name]["paired_queries"] == 0
    decided = pairs["tiny-gpt2 vs tiny-qwen2"]
    assert decided["decision"] == "different" and decided["reason"] == "excludes 1"
    assert decided["after_queries"] == looks < QUERIES
    assert block["models_no_values"] == {"openai-a": 5} and block["no_values_after"] == 5
    assert block["stop_reason"] == "verdicts decided or no values"
    # The dead server was asked 5 times, not 12; the tiny models stopped with their verdict.
    errors = [q["outcome"] for q in load_model_json(run_dir, "openai-a")["query_history"]]
    assert errors == ["error"] * 5
    result.assert_outcomes(failed=5, passed=2 * looks, deselected=3 * QUERIES - 5 - 2 * looks)
    assert block["tests_deselected"] == 3 * QUERIES - 5 - 2 * looks
    out = " ".join(" ".join(result.outlines).split())
    assert (f"stopped: verdicts decided or no values; {3 * QUERIES - 5 - 2 * looks} tests deselected" in out)
    assert ("Stopped asking openai-a (after 5 queries): its last 5 queries in a row errored, so its pairs are "
            "undecided (no values) and its remaining tests were deselected." in out)
    assert "openai-a vs tiny-gpt2 tokens undecided (no values) 5" in out


class FlakyServer(ScriptedServer):
    """The scripted server answering 500 to the generation requests numbered in ``fail_requests`` (1-based).

    The handler reads ``mode`` once per request, after counting the request: a property picks the fault there.
    """

    fail_requests: set[int] = set()

    @property
    def mode(self) -> str:
        return "500" if len(self.requests) in self.fail_requests else "ok"

    @mode.setter
    def mode(self, value: str) -> None:
        """The base class sets "ok" at start; the faults come only from ``fail_requests``."""


def test_a_model_erroring_on_some_queries_keeps_its_pairs_open_on_the_queries_it_answered(
        bench_project: pytest.Pytester) -> None:
    """Four errors in a row (one short of the rule), then every other query: the pair is not ended
    for occasional errors; it is decided on the queries the served model answered."""
    queries = 16
    with FlakyServer() as server:
        server.fail_requests = {1, 2, 3, 4} | set(range(6, queries + 1, 2))
        bench_project.makefile(".txt", queries="".join(f"What is {i} + {i + 2}?\n" for i in range(queries)))
        (bench_project.path / "answers.jsonl").unlink()
        result = bench_project.runpytest_subprocess(
            "--energy-models", "openai:a,tiny-gpt2", "--energy-base-url", server.url + "/v1",
            "--energy-until", "decided", "--energy-metrics", "tokens", "--energy-meter", "null",
            "--energy-warmup", "0", "--energy-stops", "off", "--benchmark-disable", "-p", "no:randomly",
            "-p", "no:cacheprovider")
    [run_dir] = run_dirs(bench_project.path)
    block = json.loads((run_dir / "run.json").read_text())["sequential"]
    [pair] = block["pairs"]
    # Answers on requests 5, 7, 9, 11, 13: the fifth paired value (the first decision possible) at query 13.
    assert pair["decision"] == "different" and pair["reason"] == "excludes 1"
    assert pair["after_queries"] == 13 and pair["paired_queries"] == 5
    assert pair["ratio"] == pytest.approx(len(WORDS) / TINY_GPT2_TOKENS)
    assert block["models_no_values"] == {} and block["stop_reason"] == "verdicts decided"
    outcomes = [q["outcome"] for q in load_model_json(run_dir, "openai-a")["query_history"]]
    assert outcomes == ["error"] * 4 + ["passed", "error"] * 4 + ["passed"]
    result.assert_outcomes(failed=8, passed=5 + 13, deselected=2 * (queries - 13))


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
