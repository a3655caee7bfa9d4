"""An adapter folder is a model: resolved from its config, loaded through peft, run by the suite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.finetune.run import FinetuneResult
from slm_energy_plugin.backends.registry import load_registry, resolve_model, select_models

from ..conftest import load_model_json, run_dirs

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_suite_runs_base_and_adapter_and_names_both(trained: FinetuneResult,
                                                        bench_project: pytest.Pytester) -> None:
    (bench_project.path / "test_tasks.py").write_text((BENCHMARKS / "test_tasks.py").read_text())
    adapter = str(trained.output)
    result = bench_project.runpytest("--energy-models", f"tiny-gpt2,{adapter}", "--benchmark-disable",
                                     "-k", "sql01 or sql04 or mc01", "-p", "no:randomly", "-v", "-W", "error::FutureWarning",
                                     "--energy-report")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*test_sql_task?tiny-gpt2+sql-lora-sql01? PASSED*",
                                 "Paired difference per task (fine-tuned - base*",
                                 "sql * tiny-gpt2+sql-lora * tiny-gpt2 * 2 *",
                                 "Trade-off (training energy from training.json beside the adapter)",
                                 "tiny-gpt2+sql-lora * tiny-gpt2 * sql * kWh (*) *",
                                 "tiny-gpt2+sql-lora * 3 * untrained+lora*"])
    run_dir = run_dirs(bench_project.path)[0]
    tuned = load_model_json(run_dir, "tiny-gpt2_sql-lora")   # "+" is made safe in file names
    base = load_model_json(run_dir, "tiny-gpt2")
    info = tuned["model_info"]
    assert info["alias"] == "tiny-gpt2+sql-lora" and info["weights"] == "untrained+lora"
    assert info["model_id"] == f"slm-energy/tiny-gpt2+{trained.output}"
    assert info["adapter"] == {"path": str(trained.output), "name": "sql-lora", "method": "lora", "rank": 4,
                               "merged": True, "base_model": "slm-energy/tiny-gpt2", "base_alias": "tiny-gpt2"}
    assert any("merged into the base weights" in note for note in info["notes"])
    assert base["model_info"]["adapter"] is None      # written for every model, null unless an adapter
    # Merged: the same parameter count as the base, and answers the adapter changed.
    assert info["parameters"] == base["model_info"]["parameters"]
    tuned_answers = {q["query_id"]: q["response"] for q in tuned["query_history"]}
    base_answers = {q["query_id"]: q["response"] for q in base["query_history"]}
    assert tuned_answers.keys() == base_answers.keys() == {"sql01", "sql04", "mc01"}
    assert tuned_answers["sql01"] != base_answers["sql01"]
    for record in tuned["query_history"]:
        assert record["energy_kwh"] > 0 and record["scores"]["kind"] in {"sql_execution", "multiple_choice"}


def test_an_adapter_resolves_to_its_base_with_both_names(trained: FinetuneResult) -> None:
    [spec] = select_models((str(trained.output),), load_registry(), Path.cwd())
    assert spec.alias == "tiny-gpt2+sql-lora" and spec.base_alias == "tiny-gpt2"
    assert spec.source == "tiny" and spec.tiny == "gpt2"   # the base's source: the tiny build is reused
    assert spec.prompt_template == load_registry().specs["tiny-gpt2"].prompt_template
    assert spec.adapter is not None and spec.adapter.merged


def test_a_relative_base_folder_is_read_from_the_adapter_folder(trained: FinetuneResult, tmp_path: Path,
                                                                 tiny_env: Path) -> None:
    base_folder = next((tiny_env / "tiny").glob("tiny-gpt2-*"))
    shutil.copytree(base_folder, tmp_path / "base-model")
    adapter = tmp_path / "adapters" / "mine"
    shutil.copytree(trained.output, adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "../../base-model"
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    spec = resolve_model(str(adapter), load_registry(), Path("/"))
    assert spec.source == "local" and spec.local_path == (tmp_path / "base-model").resolve()
    assert spec.alias == "base-model+mine"


@pytest.mark.parametrize("edit, expected", [
    ({"base_model_name_or_path": "no-such-model"}, "base model 'no-such-model': unknown model"),
    ({"base_model_name_or_path": None}, "has no base_model_name_or_path"),
    ({"peft_type": "PREFIX_TUNING"}, "peft_type 'PREFIX_TUNING' is not supported"),
    ({"r": "eight"}, "field 'r' must be a positive whole number"),
])
def test_broken_adapter_configs_give_one_line(trained: FinetuneResult, tmp_path: Path, edit, expected: str) -> None:
    adapter = tmp_path / "broken"
    shutil.copytree(trained.output, adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config.update(edit)
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError) as caught:
        resolve_model(str(adapter), load_registry(), Path.cwd())
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_an_adapter_without_weights_is_refused(trained: FinetuneResult, tmp_path: Path) -> None:
    adapter = tmp_path / "empty"
    adapter.mkdir()
    shutil.copy(trained.output / "adapter_config.json", adapter)
    with pytest.raises(ConfigError, match="has no adapter_model.safetensors"):
        resolve_model(str(adapter), load_registry(), Path.cwd())
