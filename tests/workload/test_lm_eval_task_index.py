"""Collecting lm-eval tasks from an --energy-lm-eval-include folder does not index all of lm-eval's own
task YAMLs (about 15,000 entries, ~10 s of CPU): when every task asked for is a task of that folder,
the folder alone is indexed. A name that may need lm-eval's own tasks still finds them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

pytest.importorskip("lm_eval", reason="the [lm-eval] extra is not installed")

from slm_energy_plugin.errors import ConfigError  # noqa: E402
from slm_energy_plugin.workload.lm_eval import LmEvalOptions, plan_tasks  # noqa: E402

LOCAL_CPU_S = 5.0   # collecting one local task: ~2 s of CPU here; before, 10.5-12.6 s (lm-eval indexed its 15,000 entries)
YAML = """\
task: local_tiny
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 4
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets"))
    data = tmp_path / "docs.jsonl"
    data.write_text(json.dumps({"question": "What is 3 + 4?", "answer": "7"}) + "\n", encoding="utf-8")
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "local_tiny.yaml").write_text(YAML.format(data=data), encoding="utf-8")
    return tasks


def test_a_local_task_is_collected_without_indexing_lm_evals_own(folder: Path) -> None:
    import lm_eval.tasks  # noqa: F401 - its import is not what is measured

    started = time.process_time()
    [plan] = plan_tasks(LmEvalOptions(("local_tiny",), include=folder))
    spent = time.process_time() - started
    assert plan.skip is None and list(plan.docs) == [0]
    assert spent < LOCAL_CPU_S, f"{spent:.1f} s of CPU to collect one local task"


def test_a_name_not_in_the_folder_is_looked_up_in_lm_evals_index(folder: Path) -> None:
    # gsm8k is lm-eval's own task (its data set is on the hub, unreachable here: a skip, not unknown).
    local, gsm8k = plan_tasks(LmEvalOptions(("local_tiny", "gsm8k"), include=folder))
    assert local.name == "local_tiny" and local.skip is None
    assert gsm8k.skip is not None and "lm-eval task gsm8k: data set not available here" in gsm8k.skip
    with pytest.raises(ConfigError, match="unknown lm-eval task or group 'no_such_task_xyz'"):
        plan_tasks(LmEvalOptions(("no_such_task_xyz",), include=folder))
