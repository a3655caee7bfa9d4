"""--energy-until decided in real pytest sessions (issue 23): the controller looks after each query
block, stops measuring when every pair is decided, and deselects the rest (not skipped, not failed)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from slm_energy_plugin.number_format import plural

from ..conftest import load_model_json, run_dirs

QUERIES = 12
# tiny-gpt2 writes 16 tokens per answer, tiny-qwen2 24 (registry limits, stops off): "tokens" is a
# metric whose verdict is certain, so the run's stopping point is the method's, not the machine's.
SEQUENTIAL = ("--energy-models", "tiny-gpt2,tiny-qwen2", "--energy-until", "decided", "--energy-metrics", "tokens",
              "--energy-meter", "null", "--energy-stops", "off", "--benchmark-disable", "-p", "no:randomly")
PLAIN_AFTER = "\n\ndef test_plain_after():\n    assert True\n"


@pytest.fixture
def twelve(bench_project: pytest.Pytester) -> pytest.Pytester:
    bench_project.makefile(".txt", queries="".join(f"What is {i} + {i + 2}?\n" for i in range(QUERIES)))
    (bench_project.path / "answers.jsonl").unlink()
    path = bench_project.path / "test_math.py"
    path.write_text(path.read_text() + PLAIN_AFTER)
    return bench_project


def _sequential(project: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dirs(project.path)[-1] / "run.json").read_text())["sequential"]
    return data


def test_stops_when_every_pair_is_decided_and_deselects_the_rest(twelve: pytest.Pytester) -> None:
    result = twelve.runpytest(*SEQUENTIAL, "-v")
    block = _sequential(twelve)
    pair = block["pairs"][0]
    looks = int(pair["after_queries"])
    assert pair["decision"] == "different" and pair["ratio"] == pytest.approx(16 / 24)
    assert pair["metric"] == "tokens" and pair["pair"] == "tiny-gpt2 vs tiny-qwen2"
    assert 5 <= looks < QUERIES and block["queries_run"] == looks and block["stop_reason"] == "verdicts decided"
    assert block["method"] == "sequential-t-confidence-sequence" and block["alpha"] == 0.05
    assert block["equivalence_margin"] == 0.05 and block["looks"] == looks
    # Deselected, said in pytest's own line: not skipped, not failed; the plain test still ran.
    result.assert_outcomes(passed=2 * looks + 1, deselected=2 * (QUERIES - looks))
    assert block["tests_deselected"] == 2 * (QUERIES - looks)
    out = result.stdout.str()
    assert "test_plain_after PASSED" in out
    ran = re.findall(r"test_math_query\[tiny-gpt2-(q\d+)\] PASSED", out)
    assert len(ran) == looks and ran != sorted(ran), "queries run in a seeded random order, not file order"
    result.stdout.fnmatch_lines(["Sequential verdicts (--energy-until decided): Lai's sequential t*",
                                 f"Ran {looks} of {QUERIES} queries in a random order (seed 0), stopped: verdicts*",
                                 "*tiny-gpt2 vs tiny-qwen2*tokens*different*"])
    assert "Fixed-n tests (Wilcoxon, Mann-Whitney) are not shown" in " ".join(result.outlines)
    assert block["futility"] is True and pair["reason"] == "excludes 1"
    # The same seed gives the same order; the records say where each query ran.
    again = twelve.runpytest(*SEQUENTIAL, "-v")
    assert re.findall(r"test_math_query\[tiny-gpt2-(q\d+)\] PASSED", again.stdout.str()) == ran


def test_max_queries_ends_undecided_and_k_selects_as_usual(twelve: pytest.Pytester) -> None:
    result = twelve.runpytest(*SEQUENTIAL, "--energy-max-queries", "3", "-k", "not q012", "--energy-futility", "off")
    result.assert_outcomes(passed=2 * 3 + 1, deselected=2 * (QUERIES - 1 - 3) + 2)   # -k's two, then ours
    block = _sequential(twelve)
    assert block["queries_planned"] == QUERIES - 1 and block["queries_run"] == 3
    assert block["stop_reason"] == "--energy-max-queries 3 reached"
    assert [p["decision"] for p in block["pairs"]] == ["undecided"]
    assert [p["reason"] for p in block["pairs"]] == ["max queries reached"]
    assert block["futility"] is False


@pytest.mark.parametrize(("args", "message"), [
    (("-n", "2"), "--energy-until decided looks after each query block in one process; run it without -n (xdist)"),
    (("--energy-metrics", "correct"), "--energy-until decided compares positive costs as ratios; 'correct' is not "
                                      "one: choose --energy-metrics from energy, energy_per_token, latency, ttft, "
                                      "tokens, emissions"),
    (("--energy-order", "grouped"), "--energy-until decided needs the interleaved order*"),
    (("--energy-meter", "null"), "--energy-until decided with --energy-meter null has no 'energy' to compare: "
                                 "choose --energy-metrics from latency, ttft, tokens, or another meter"),
])
def test_what_it_cannot_honour_is_refused_in_one_line(bench_project: pytest.Pytester, args: tuple[str, ...],
                                                      message: str) -> None:
    result = bench_project.runpytest("--energy-models", "tiny-gpt2,tiny-phi", "--energy-until", "decided", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert run_dirs(bench_project.path) == []


# -- default options on the tiny models: the futility stop ends a run that cannot decide ---------

DEFAULT_QUERIES = 24


@pytest.fixture
def twenty_four(bench_project: pytest.Pytester) -> pytest.Pytester:
    bench_project.makefile(".txt", queries="".join(f"What is {i} + {2 * i + 1}?\n" for i in range(DEFAULT_QUERIES)))
    (bench_project.path / "answers.jsonl").unlink()
    return bench_project


def test_default_options_on_tiny_models_run_fewer_tests_than_the_full_run(twenty_four: pytest.Pytester) -> None:
    """The issue's goal, in a session: default metrics (energy, latency), default meter, futility on.

    Before the futility stop, a pair neither different nor within ±5 % (tiny-gpt2 vs tiny-phi: a
    few per cent apart, per-query noise ~0.6 in log ratio on this machine) kept both its models
    running every query. Now each pair ends decided or futile before the last query, so the run
    deselects tests whatever the machine's noise makes of the pair.
    """
    models = ("--energy-models", "tiny-gpt2,tiny-phi", "--benchmark-disable", "-p", "no:randomly")
    result = twenty_four.runpytest(*models, "--energy-until", "decided")
    block = _sequential(twenty_four)
    outcomes = result.parseoutcomes()
    full = 2 * DEFAULT_QUERIES
    assert outcomes["passed"] + outcomes.get("deselected", 0) == full
    assert outcomes["passed"] < full and block["tests_deselected"] == outcomes["deselected"]
    assert block["futility"] is True and block["futility_from"] == 10
    pairs = block["pairs"]
    assert [p["metric"] for p in pairs] == ["energy", "latency"]
    for pair in pairs:
        assert pair["reason"] in ("excludes 1", "inside margin", "futile")
        assert pair["after_queries"] < DEFAULT_QUERIES
        if pair["reason"] == "futile":
            assert pair["decision"] == "undecided" and pair["after_queries"] >= 10
            assert pair["predictive_power"] < 0.05 and len(pair["projected_ci"]) == 2
    assert block["stop_reason"] in ("verdicts decided", "verdicts decided or futile")
    if any(p["reason"] == "futile" for p in pairs):
        result.stdout.fnmatch_lines(["*tiny-gpt2 vs tiny-phi*undecided (futile)*"])


# -- load levels: answers made a chunk (N query blocks) at a time, models stopped at chunk ends ----------


def test_a_batch_size_makes_answers_lazily_and_stops_at_a_chunk_end(twelve: pytest.Pytester) -> None:
    """At --energy-batch-size 2 the two models make their answers two queries per generate call, only
    when a test asks for one: after the verdict no batch is made for the deselected tests."""
    result = twelve.runpytest(*SEQUENTIAL, "--energy-batch-size", "2", "-v")
    block = _sequential(twelve)
    pair = block["pairs"][0]
    decided_after, run = int(pair["after_queries"]), int(block["queries_run"])
    assert pair["decision"] == "different" and pair["ratio"] == pytest.approx(16 / 24)
    assert block["look_stride"] == 2 and run % 2 == 0 and decided_after <= run < decided_after + 2 < QUERIES
    result.assert_outcomes(passed=2 * run + 1, deselected=2 * (QUERIES - run))
    assert block["tests_deselected"] == 2 * (QUERIES - run)
    assert block["tests_after_decision"] == 2 * (run - decided_after)
    assert block["generations_unused"] == 0
    [run_dir] = run_dirs(twelve.path)
    for alias in ("tiny-gpt2", "tiny-qwen2"):
        data = load_model_json(run_dir, alias)
        load = data["performance"]["load"]
        # The level's summary covers every chunk made, not the (empty) one the model opened with.
        assert load["batch_size"] == 2 and load["chunks_made"] == run // 2 and load["windows"] == run // 2
        assert load["chunks_planned"] == QUERIES // 2 and load["requests_planned"] == QUERIES
        assert load["requests"] == run < QUERIES and "--energy-until decided" in load["lazy"]
        records = data["query_history"]
        assert len(records) == run and len(data["loads"]) == 1
        for record in records:   # each answer came from a batch of two, with its share of the window
            share = record["extra"]["backend"]["load"]
            assert share["batch_size"] == 2 and share["window_requests"] == 2
            assert 0 < share["energy_fraction"] <= 1
    out = " ".join(" ".join(result.outlines).split())
    assert (f"Load levels: answers made 2 queries at a time, so models stop only every 2 queries; "
            f"{plural(2 * (run - decided_after), 'test')} ran after their model's verdicts") in out
    assert "0 generations made for no test" in out


STRICT_METER = '''
import time
from slm_energy_plugin.energy.null_meter import NullMeter
from slm_energy_plugin.energy.reading import EnergyReading

class OneWindowAtATime(NullMeter):
    """Energy proportional to time ("rapl": 1 W of CPU), refusing a window inside another, as real meters must."""
    name = "strict"
    open = False

    def start(self):
        assert not self.open, "meter windows nested"
        self.open = True
        return time.perf_counter()

    def stop(self, handle):
        self.open = False
        seconds = time.perf_counter() - handle
        return EnergyReading(duration_s=seconds, cpu_kwh=seconds / 3.6e6, gpu_kwh=None, ram_kwh=None,
                             methods={"cpu": "rapl", "gpu": "absent", "ram": "absent"}, meter=self.name)

def pytest_slm_energy_make_meter(settings):
    return OneWindowAtATime()
'''


def test_chunks_are_made_outside_the_tests_windows_and_their_energy_is_counted(twelve: pytest.Pytester) -> None:
    """Each chunk is made before its first test's own window opens (windows do not nest), in windows of
    its own; the answers' shares add up to the level's energy, which covers every chunk made."""
    twelve.makeconftest(STRICT_METER)
    result = twelve.runpytest(*SEQUENTIAL, "--energy-idle-seconds", "0", "--energy-batch-size", "2")
    block = _sequential(twelve)
    run = int(block["queries_run"])
    result.assert_outcomes(passed=2 * run + 1, deselected=2 * (QUERIES - run))
    [run_dir] = run_dirs(twelve.path)
    for alias in ("tiny-gpt2", "tiny-qwen2"):
        data = load_model_json(run_dir, alias)
        load = data["performance"]["load"]
        shares = sum(r["energy"]["cpu_kwh"] for r in data["query_history"])
        assert load["chunks_made"] == run // 2 and shares == pytest.approx(load["energy"]["cpu_kwh"], rel=1e-6)
    assert block["generations_unused"] == 0 and block["energy_j_unused"] == pytest.approx(0, abs=1e-9)
    assert block["energy_j_after_decision"] is not None and block["energy_j"] > 0
