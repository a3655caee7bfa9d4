"""Run order in real pytest runs: interleaved by default, each model loaded once per process."""

from __future__ import annotations

import json
import re

import pytest

from ..conftest import load_model_json, run_dirs

TWO = ("--energy-models", "tiny-gpt2,tiny-phi")
PLAIN_TEST = "\n\ndef test_plain():\n    assert True\n"


def _ran(stdout: str) -> list[tuple[str, str]]:
    return re.findall(r"test_math_query\[(tiny-\w+)-(q\d+)\] PASSED", stdout)


def test_default_order_interleaves_queries_and_loads_each_model_once(bench_project: pytest.Pytester) -> None:
    path = bench_project.path / "test_math.py"
    path.write_text(PLAIN_TEST + path.read_text() + PLAIN_TEST.replace("plain", "plain_after"))
    result = bench_project.runpytest(*TWO, "--benchmark-disable", "-v", "-p", "no:randomly")
    result.assert_outcomes(passed=8)
    out = result.stdout.str()
    assert _ran(out) == [("tiny-gpt2", "q001"), ("tiny-phi", "q001"), ("tiny-phi", "q002"),
                         ("tiny-gpt2", "q002"), ("tiny-gpt2", "q003"), ("tiny-phi", "q003")]
    # Tests that are not model x query keep their places.
    assert out.index("test_plain PASSED") < out.index("test_math_query[") < out.rindex("test_math_query[") \
        < out.index("test_plain_after PASSED")
    assert "Run order: interleaved" in out
    run_dir = run_dirs(bench_project.path)[0]
    for alias in ("tiny-gpt2", "tiny-phi"):
        data = load_model_json(run_dir, alias)
        assert len(data["loads"]) == 1, "a model switch must not reload the model"
        orders = [q["extra"]["order"] for q in data["query_history"]]
        assert {o["mode"] for o in orders} == {"interleaved"} and {o["scheme"] for o in orders} == {"rotated"}
        assert [o["block"] for o in orders] == [0, 1, 2]
    phi = load_model_json(run_dir, "tiny-phi")["query_history"]
    assert [q["extra"]["order"]["position"] for q in phi] == [1, 0, 1]
    assert json.loads((run_dir / "run.json").read_text())["settings"]["order"] == "interleaved"


def test_grouped_order_runs_model_by_model_and_warns(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest(*TWO, "--energy-order", "grouped", "--benchmark-disable", "-v")
    result.assert_outcomes(passed=6)
    assert [m for m, _ in _ran(result.stdout.str())] == ["tiny-gpt2"] * 3 + ["tiny-phi"] * 3
    result.stdout.fnmatch_lines(["Warning: run order grouped (model by model)*"])
    data = load_model_json(run_dirs(bench_project.path)[0], "tiny-phi")
    assert data["query_history"][0]["extra"]["order"]["mode"] == "grouped"


def test_grouped_order_is_model_by_model_across_files_and_loads_each_model_once(
        bench_project: pytest.Pytester) -> None:
    """pytest groups a session fixture parametrized per module within each module only: without
    the grouped order's own reordering, a model's block started again in every file (and reloaded)."""
    bench_project.makepyfile(test_again="def test_case(slm, slm_case):\n    slm.ask(slm_case.prompt, max_new_tokens=2)\n")
    result = bench_project.runpytest(*TWO, "--energy-order", "grouped", "--benchmark-disable", "-v",
                                     "-p", "no:randomly")
    ran = re.findall(r"::test_(?:math_query|case)\[(tiny-\w+)-\w+\] PASSED", result.stdout.str())
    assert len(ran) > 12 and ran == sorted(ran)   # every tiny-gpt2 item, then every tiny-phi item
    run_dir = run_dirs(bench_project.path)[0]
    for alias in ("tiny-gpt2", "tiny-phi"):
        assert len(load_model_json(run_dir, alias)["loads"]) == 1


def test_bad_order_is_one_line(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest(*TWO, "--energy-order", "random")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--energy-order='random': expected one of interleaved, grouped*"])


def test_k_and_lf_keep_their_selection_under_interleaving(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest(*TWO, "--benchmark-disable", "-v", "-k", "q002 or q003")
    result.assert_outcomes(passed=4)
    assert _ran(result.stdout.str()) == [("tiny-gpt2", "q002"), ("tiny-phi", "q002"),
                                         ("tiny-phi", "q003"), ("tiny-gpt2", "q003")]
    # --lf: make one test fail, then rerun only it.
    (bench_project.path / "test_math.py").write_text(
        "def test_math_query(slm, math_query):\n    slm.ask(math_query)\n"
        "    assert not (slm.alias == 'tiny-phi' and math_query.id == 'q002')\n")
    bench_project.runpytest(*TWO, "--benchmark-disable").assert_outcomes(passed=5, failed=1)
    rerun = bench_project.runpytest(*TWO, "--benchmark-disable", "-v", "--lf")
    rerun.assert_outcomes(failed=1)
    assert re.findall(r"test_math_query\[[\w-]+\] (?:PASSED|FAILED)", rerun.stdout.str()) == [
        "test_math_query[tiny-phi-q002] FAILED"]


def test_pytest_benchmark_still_times_every_query(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest(*TWO, "--benchmark-json", "bench.json", "-p", "no:randomly")
    result.assert_outcomes(passed=6)
    bench = json.loads((bench_project.path / "bench.json").read_text())
    names = [b["name"] for b in bench["benchmarks"]]
    assert sorted(names) == sorted(f"test_math_query[{m}-q00{i}]" for m in ("tiny-gpt2", "tiny-phi")
                                   for i in (1, 2, 3))
    assert all(b["extra_info"]["energy_kwh"] > 0 for b in bench["benchmarks"])


def _records(run_dir) -> dict[tuple[str, str], dict]:
    found = {}
    for alias in ("tiny-gpt2", "tiny-phi"):
        for q in load_model_json(run_dir, alias)["query_history"]:
            found[(alias, q["query_id"])] = q
    return found


def test_xdist_gives_the_same_records_as_a_serial_run(bench_project: pytest.Pytester) -> None:
    bench_project.runpytest(*TWO, "--benchmark-disable").assert_outcomes(passed=6)
    serial_dir = run_dirs(bench_project.path)[0]
    result = bench_project.runpytest(*TWO, "--benchmark-disable", "-n", "2")
    result.assert_outcomes(passed=6)
    parallel_dir = next(d for d in run_dirs(bench_project.path) if d != serial_dir)
    serial, parallel = _records(serial_dir), _records(parallel_dir)
    assert serial.keys() == parallel.keys()
    for key, record in serial.items():
        assert record.keys() == parallel[key].keys()
        assert record["extra"].keys() == parallel[key]["extra"].keys()
        assert record["extra"]["order"] == parallel[key]["extra"]["order"]   # same collection on every worker
        assert record["tokens_output"] == parallel[key]["tokens_output"]
        assert record["response"] == parallel[key]["response"]              # greedy: same answers
    for alias in ("tiny-gpt2", "tiny-phi"):
        loads = load_model_json(parallel_dir, alias)["loads"]
        assert 1 <= len(loads) <= 2 and len({load["worker"] for load in loads}) == len(loads)   # once per worker
