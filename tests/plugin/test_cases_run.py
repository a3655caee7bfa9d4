"""A seed-format test_cases.json runs unchanged through the plugin: ids, selection, defaults,
sampling and stops recorded, every task type scored (creative: diversity only), timeline written."""

from __future__ import annotations

import csv
import json

import pytest

from ..conftest import load_model_json, run_dirs

CASES_TEST = '''
from slm_energy_plugin.workload.run_case import ask_case, score_case


def test_case(slm, slm_case):
    ask_case(slm, slm_case)
    score_case(slm, slm_case)
'''

CASES = [
    {"model": "tiny-gpt2", "prompt": "What is the capital of France?", "task_type": "knowledge QA",
     "reference_text": "Paris", "max_tokens": 8, "temperature": 0},
    {"prompt": "Summarise: the council voted to mend the bridge.", "task_type": "summarisation",
     "reference_text": "The council will mend the bridge.", "max_tokens": 12, "id": "sum"},
    {"model": "tiny-gpt2", "prompt": "def add(a, b):\n", "task_type": "code generation", "max_tokens": 10},
    {"prompt": "Write about rain.", "task_type": "creative writing", "id": "poem"},
]


def test_seed_cases_file_runs_and_records_everything(bench_project: pytest.Pytester) -> None:
    bench_project.makepyfile(test_cases=CASES_TEST)
    (bench_project.path / "cases.json").write_text(json.dumps(CASES))
    result = bench_project.runpytest("test_cases.py", "--energy-cases", "cases.json", "--energy-models",
                                     "tiny-gpt2,tiny-phi", "--energy-repeat", "2", "--benchmark-disable", "-v",
                                     "-rs")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines([
        "*test_case?tiny-gpt2-c001? PASSED*",
        "*test_case?tiny-phi-sum? PASSED*",
    ])
    [run_dir] = run_dirs(bench_project.path)
    gpt2 = {q["query_id"]: q for q in load_model_json(run_dir, "tiny-gpt2")["query_history"]}
    phi = {q["query_id"]: q for q in load_model_json(run_dir, "tiny-phi")["query_history"]}
    assert sorted(gpt2) == ["c001", "c003", "poem", "sum"] and sorted(phi) == ["poem", "sum"]
    qa = gpt2["c001"]
    assert (qa["task"], qa["expected"], qa["rounds"]) == ("qa", "Paris", 2)
    assert qa["extra"]["sampling"]["decoding"] == "greedy" and qa["tokens_output"] <= 8
    assert qa["extra"]["max_tokens"] == 8 and qa["scores"]["kind"] == "qa"
    assert qa["extra"]["stop"] == ["\nQuestion:", "\n\n"]
    assert qa["extra"]["stop_reason"] in ("eos", "stop", "length")
    summary = phi["sum"]
    assert summary["task"] == "summary" and summary["scores"]["kind"] == "summary"
    assert "rougeL" in summary["scores"]["details"] and "length_ratio" in summary["scores"]["details"]
    # The seed format's defaults, applied and recorded: 0.7 sampling with seeds base + round.
    assert summary["extra"]["sampling"] == {"decoding": "sampling", "temperature": 0.7, "top_p": None, "seed": 0,
                                            "round_seeds": [0, 1]}
    poem = gpt2["poem"]
    assert poem["extra"]["max_tokens"] == 200 and poem["tokens_output"] <= 200
    assert poem["scores"]["correct"] is None and poem["scores"]["details"]["self_bleu"] is not None
    assert gpt2["c003"]["scores"]["kind"] == "code_syntax"
    utilisation = qa["extra"]["utilisation"]
    assert utilisation["samples"] >= 1 and utilisation["rss_mb"]["peak"] > 0
    with (run_dir / "timeline.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {r["model"] for r in rows} == {"tiny-gpt2", "tiny-phi"}
    assert {r["query_id"] for r in rows} == {"c001", "sum", "c003", "poem"}


def test_bad_cases_file_is_one_line(bench_project: pytest.Pytester) -> None:
    bench_project.makepyfile(test_cases=CASES_TEST)
    (bench_project.path / "cases.json").write_text(json.dumps([{"prompt": "p", "task_type": "qa",
                                                                "max_tokens": "many"}]))
    result = bench_project.runpytest("test_cases.py", "--energy-cases", "cases.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cases.json', case 1: field 'max_tokens': Input should be a valid integer*"])


def test_sampler_off_writes_no_timeline(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--energy-sample-hz", "0",
                                     "--benchmark-disable")
    result.assert_outcomes(passed=3)
    [run_dir] = run_dirs(bench_project.path)
    assert not (run_dir / "timeline.csv").exists()
    assert "utilisation" not in load_model_json(run_dir, "tiny-gpt2")["query_history"][0]["extra"]
