"""--energy-batch-size: in-process models generate their planned queries N rows per call, and batch 1
vs N is one comparison in one session (real tiny models, real pytest runs)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ..conftest import load_model_json, run_dirs, unwrapped

MISMATCHED_TEST = '''
def test_math_query(slm, math_query):
    slm.ask(math_query)
    if math_query.id == "q002":
        slm.ask(math_query, max_new_tokens=5)    # not planned: generated live, inside this test's window
'''


def test_batch_1_and_3_in_one_comparison(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2", "--energy-batch-size", "1,3",
                                                "--energy-idle-seconds", "0.3", "--energy-report", "--benchmark-disable", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    assert re.search(r"tiny-gpt2-b3 in batches of 3, 3 generations in 1 window \(0 failed\) in \S+ s = \S+ "
                     r"requests/s, \S+ output tokens/s, \S+ J/request \(estimated; shared by time overlap\)",
                     unwrapped(result))
    result.stdout.fnmatch_lines(["tiny-gpt2-b? / tiny-gpt2-b?  *"])   # the paired comparison row of the two levels
    [run_dir] = run_dirs(bench_project.path)
    one, three = (load_model_json(run_dir, f"tiny-gpt2-b{n}") for n in (1, 3))
    assert one["model_info"]["model_id"] == three["model_info"]["model_id"] == "slm-energy/tiny-gpt2"
    assert (one["model_info"]["generation"]["batch_size"], three["model_info"]["generation"]["batch_size"]) == (1, 3)
    load = three["performance"]["load"]
    assert (load["batch_size"], load["windows"], load["requests"], load["errors"]) == (3, 1, 3, 0)
    history = three["query_history"]
    figures = [q["extra"]["backend"]["load"] for q in history]
    assert sum(f["energy_fraction"] for f in figures) == pytest.approx(1.0)
    assert sum(q["energy_kwh"] for q in history) == pytest.approx(load["energy"]["total_kwh"])
    assert all(f["batch_size"] == 3 and f["window_requests"] == 3 for f in figures)
    idle_w = three["idle_power"]["total_w"]
    for query in history:
        figures = query["extra"]["backend"]["load"]
        assert query["duration_s"] == pytest.approx(figures["latency_s"])
        # Net energy takes off the idle power over the request's share of the window, not its latency.
        idle_kwh = idle_w * figures["energy_fraction"] * figures["window_s"] / 3.6e6
        assert query["net_energy_kwh"] == pytest.approx(query["energy_kwh"] - idle_kwh)
        assert query["extra"]["backend"]["batch"]["size"] == 3
    assert all("load" not in q["extra"].get("backend", {}) for q in one["query_history"])
    for name in ("query_id", "tokens_input"):
        assert [q[name] for q in one["query_history"]] == [q[name] for q in history]
    # `slm-energy compare` on the saved run says how the level ran, as the summary did.
    compared = subprocess.run([sys.executable, "-m", "slm_energy_plugin.cli", "compare", str(run_dir)],
                              capture_output=True, text=True, check=True)
    assert re.search(r"tiny-gpt2-b3 in batches of 3, 3 generations in 1 window", " ".join(compared.stdout.split()))


def test_rounds_are_planned_and_unplanned_asks_run_live(bench_project: pytest.Pytester) -> None:
    bench_project.makepyfile(test_math=MISMATCHED_TEST)
    result = bench_project.runpytest_subprocess("--energy-models", "tiny-qwen2", "--energy-batch-size", "4",
                                                "--energy-repeat", "2", "--benchmark-disable",
                                                "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    # 3 queries x 2 greedy rounds = 6 planned rows: batches of 4 and 2.
    result.stdout.fnmatch_lines(["tiny-qwen2 in batches of 4, 6 generations in 2 windows (0 failed) in *"])
    [run_dir] = run_dirs(bench_project.path)
    data = load_model_json(run_dir, "tiny-qwen2")
    assert data["model_info"]["alias"] == "tiny-qwen2"      # one level: the model keeps its alias
    by_id = {q["query_id"]: q for q in data["query_history"]}
    assert [by_id[q]["rounds"] for q in ("q001", "q002", "q003")] == [2, 4, 2]   # q002 asked twice x 2 rounds
    # q002's second ask (5 tokens) was not planned: it ran live, its window holds it.
    assert by_id["q002"]["tokens_output"] <= 5 and "load" not in by_id["q002"]["extra"]["backend"]
    assert by_id["q001"]["extra"]["backend"]["load"]["batch_size"] == 4
