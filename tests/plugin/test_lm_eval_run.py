"""Issue 22: lm-evaluation-harness tasks measured per document, scored by lm-eval itself.

The equality test runs lm-eval's own loop (``simple_evaluate`` with ``--model hf`` on the same
local model folder, offline) on a local multiple-choice task and a local generate_until task, and
requires the same aggregate metrics, and the same generated text per document, from the records
of a real pytest run of benchmarks/test_lm_eval.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from slm_energy_plugin.workload.lm_eval_local import write_local_task
from tests.conftest import run_dirs, unwrapped

lm_eval = pytest.importorskip("lm_eval", reason="the [lm-eval] extra is not installed")
# Imported here, before any in-process inner run: pytester drops modules a run imported, and
# `datasets` cannot be imported twice in one process (pyarrow keeps its extension types).
import datasets  # noqa: E402,F401
import lm_eval.evaluator  # noqa: E402,F401
import lm_eval.models.huggingface  # noqa: E402,F401
import lm_eval.tasks  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[2]
MC_DOCS = [
    {"question": "What is the capital of France?", "choices": ["Berlin", "Paris", "Rome", "Madrid"], "answer": 1},
    {"question": "2 + 2 =", "choices": ["3", "4", "5", "22"], "answer": 1},
    {"question": "The sky on a clear day is", "choices": ["green", "red", "blue", "black"], "answer": 2},
    {"question": "Water freezes at", "choices": ["0 C", "50 C", "100 C", "10 C"], "answer": 0},
    {"question": "The largest planet is", "choices": ["Mars", "Venus", "Earth", "Jupiter"], "answer": 3},
    {"question": "A week has how many days?", "choices": ["5", "6", "7", "8"], "answer": 2},
]
GEN_DOCS = [
    {"question": "What is 3 + 4?", "answer": "7"},
    {"question": "What is 10 - 6?", "answer": "4"},
    {"question": "Name a colour of the rainbow.", "answer": "red"},
]


def _write_tasks(folder: Path) -> Path:
    # lm-eval's own YAML task format (as in lm_eval/tasks/*), reading local JSON lines through `datasets`.
    write_local_task(folder, "local_mc", MC_DOCS, metrics=("acc", "acc_norm"))
    return write_local_task(folder, "local_gen", GEN_DOCS, output_type="generate_until", metrics=("exact_match",),
                            generation={"until": ["\n", "Question:"], "max_gen_toks": 6, "do_sample": False})


@pytest.fixture
def lm_project(bench_project: pytest.Pytester, tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(bench_project.path / "hf-datasets"))
    shutil.copy(ROOT / "benchmarks" / "test_lm_eval.py", bench_project.path / "test_lm_eval.py")
    return bench_project


def _model_folder(tiny_cache: Path) -> Path:
    from slm_energy_plugin.backends.tiny import ensure_tiny

    return ensure_tiny("tiny-gpt2", "gpt2", root=tiny_cache / "tiny")


def _records(project: pytest.Pytester, alias: str) -> list[dict[str, Any]]:
    run = run_dirs(project.path)[-1]
    return list(json.loads((run / f"environmental_data_{alias}.json").read_text())["query_history"])


def test_aggregates_equal_lm_eval_hf_on_the_same_folder(lm_project: pytest.Pytester, tiny_cache: Path) -> None:
    folder = _model_folder(tiny_cache)
    tasks = _write_tasks(lm_project.path / "tasks")
    # The folder itself as the model, and a second model so the paired per-task statistics show.
    result = lm_project.runpytest("test_lm_eval.py", "--energy-models", f"{folder},tiny-qwen2", "--energy-lm-eval",
                                  "local_mc,local_gen", "--energy-lm-eval-include", str(tasks),
                                  "--collect-only", "-q")
    ids = [line for line in result.outlines if "test_lm_eval[" in line]
    assert f"test_lm_eval.py::test_lm_eval[{folder.name}-local_mc-0]" in ids
    assert f"test_lm_eval.py::test_lm_eval[tiny-qwen2-local_gen-2]" in ids and len(ids) == 2 * (len(MC_DOCS) + len(GEN_DOCS))
    result = lm_project.runpytest("test_lm_eval.py", "--energy-models", f"{folder},tiny-qwen2", "--energy-lm-eval",
                                  "local_mc,local_gen", "--energy-lm-eval-include", str(tasks),
                                  "--energy-meter", "null", "--energy-report")
    result.assert_outcomes(passed=2 * (len(MC_DOCS) + len(GEN_DOCS)))
    records = _records(lm_project, folder.name)
    assert {r["query_id"] for r in records} == ({f"local_mc-{i}" for i in range(len(MC_DOCS))}
                                               | {f"local_gen-{i}" for i in range(len(GEN_DOCS))})

    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    theirs = simple_evaluate(model="hf", model_args=f"pretrained={folder}", tasks=["local_mc", "local_gen"],
                             task_manager=TaskManager(include_path=str(tasks)), batch_size=1, device="cpu",
                             bootstrap_iters=0)
    assert theirs is not None
    ours: dict[str, dict[str, list[Any]]] = {}
    for record in records:
        block = record["extra"]["lm_eval"]
        for key, value in block["metrics"].items():
            ours.setdefault(block["task"], {}).setdefault(key, []).append(value)
    for task, metrics in ours.items():
        for key, values in metrics.items():
            assert sum(values) / len(values) == pytest.approx(theirs["results"][task][key], abs=1e-12), (task, key)
    # The generated text per document is lm-eval's own, not only the aggregate.
    generated = {r["extra"]["lm_eval"]["doc_id"]: r["extra"]["lm_eval"]["responses"][0]
                 for r in records if r["task"] == "local_gen"}
    assert generated == {s["doc_id"]: s["filtered_resps"][0] for s in theirs["samples"]["local_gen"]}
    # Multiple choice: the same log-likelihood per choice.
    scored = {r["extra"]["lm_eval"]["doc_id"]: [c[0] for c in r["extra"]["lm_eval"]["responses"]]
              for r in records if r["task"] == "local_mc"}
    for sample in theirs["samples"]["local_mc"]:
        assert scored[sample["doc_id"]] == pytest.approx([c[0] for c in sample["filtered_resps"]], abs=1e-5)
    # Each document is one measured window holding all of its requests.
    mc = next(r for r in records if r["task"] == "local_mc")
    assert mc["extra"]["lm_eval"]["requests"] == {"loglikelihood": 4}
    assert mc["extra"]["scoring_calls"] == 4 and mc["duration_s"] > 0
    text = unwrapped(result)
    assert "lm-eval tasks: each task's primary metric per model" in text
    table = [line.split() for line in result.outlines if line.startswith("local_mc ")]
    mc_acc = sum(theirs_mc := [s["acc"] for s in theirs["samples"]["local_mc"]]) / len(theirs_mc)
    assert [folder.name, "acc,none", str(len(MC_DOCS)), f"{mc_acc:.3f}"] == table[0][1:5]
    assert any(f"tiny-qwen2 vs {folder.name}" in line and "McNemar p=" in line for line in result.outlines)


def test_unavailable_data_set_is_one_skip_line_saying_how_to_get_it(lm_project: pytest.Pytester,
                                                                    tiny_cache: Path) -> None:
    # gsm8k is lm-eval's own task; its data set is on the Hugging Face hub, unreachable here.
    result = lm_project.runpytest("test_lm_eval.py", "--energy-models", "tiny-gpt2", "--energy-lm-eval", "gsm8k",
                                  "--energy-meter", "null", "-rs")
    result.assert_outcomes(skipped=1)
    line = next(line for line in result.outlines if "SKIPPED" in line)
    assert "lm-eval task gsm8k: data set not available here" in line
    assert "datasets.load_dataset(" in line and "--energy-lm-eval-include" in line


def test_unknown_task_is_one_usage_error_line(lm_project: pytest.Pytester) -> None:
    result = lm_project.runpytest_subprocess("test_lm_eval.py", "--energy-lm-eval", "no_such_task_xyz")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert errors == ["ERROR: --energy-lm-eval: unknown lm-eval task or group 'no_such_task_xyz'; list them with "
                      "`lm_eval ls tasks` (custom YAMLs: --energy-lm-eval-include DIR)"]
    assert "Traceback" not in result.stderr.str()


def test_without_the_option_nothing_runs_and_lm_eval_is_not_imported(lm_project: pytest.Pytester) -> None:
    # A fresh interpreter: the plugin loads (entry point), collects the module, and must not import lm-eval.
    probe = lm_project.makeconftest(
        "import sys\n"
        "def pytest_sessionfinish(session):\n"
        "    print('LM_EVAL_IMPORTED', 'lm_eval' in sys.modules)\n")
    assert probe.exists()
    result = lm_project.runpytest_subprocess("test_lm_eval.py", "-rs", "-s")
    result.assert_outcomes(skipped=1)
    assert any("--energy-lm-eval TASKS" in line for line in result.outlines if "SKIPPED" in line)
    assert "LM_EVAL_IMPORTED False" in result.stdout.str()
    plain = subprocess.run([sys.executable, "-c", "import sys, slm_energy_plugin.plugin; print('lm_eval' in sys.modules)"],
                           capture_output=True, text=True, check=True, cwd=ROOT)
    assert plain.stdout.strip() == "False"


def test_served_model_generates_until_the_stops_and_skips_loglikelihood_tasks_with_one_line(tmp_path: Path) -> None:
    # A real OpenAI-compatible server on 127.0.0.1 (the served-backend tests' scripted server).
    from dataclasses import replace
    from types import SimpleNamespace

    from slm_energy_plugin.backends.http_stream import Timeouts
    from slm_energy_plugin.backends.openai_backend import OpenAIBackend
    from slm_energy_plugin.backends.served import served_spec_from_name
    from slm_energy_plugin.workload.lm_eval import DocRef, LmEvalOptions, bridge_for, plan_tasks, skip_reason

    from tests.backends.scripted_server import WORDS, ScriptedServer

    tasks = _write_tasks(tmp_path / "tasks")
    plans = {p.name: p for p in plan_tasks(LmEvalOptions(("local_mc", "local_gen"), tasks))}
    with ScriptedServer() as server:
        spec = served_spec_from_name("openai:scripted-model")
        assert spec is not None
        backend = OpenAIBackend(replace(spec, base_url=server.url + "/v1", prompt_style="plain",
                                        prompt_template="{query}"), Timeouts(connect_s=1.0, read_s=2.0))
        slm = SimpleNamespace(model=backend, alias="openai-scripted")
        assert skip_reason(slm, DocRef(plans["local_mc"], 0)) == (
            "openai-scripted: lm-eval task local_mc scores log-likelihoods, which a served model does not give; "
            "run it on an in-process model (a local folder or hub id)")
        assert skip_reason(slm, DocRef(plans["local_gen"], 0)) is None
        request = plans["local_gen"].instances[0][0]
        until = " 12"       # the task's stops plus one that occurs in the scripted answer
        request.arguments = (request.arguments[0], {**request.arguments[1], "until": ["Question:", until]})
        assert bridge_for(backend).generate_until([request]) == ["".join(WORDS).split(until)[0]]
        sent = server.requests[-1]
        assert sent["stop"] == ["Question:", until] and sent["max_tokens"] == 6
        backend.close()
