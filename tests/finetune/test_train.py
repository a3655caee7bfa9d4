"""Real LoRA training of a tiny model on CPU: it learns, it is reproducible, and it says what it cost."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
from safetensors.torch import load_file

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.finetune.data import load_sql_training_set
from slm_energy_plugin.finetune.run import FinetuneResult, open_base
from slm_energy_plugin.finetune.train import LoraTrainer, TrainConfig, deterministic_torch
from slm_energy_plugin.backends.registry import load_registry, resolve_model

from .conftest import SMALL_CONFIG, small_training_file, train_small

WEIGHTS = "adapter_model.safetensors"


def test_training_lowers_the_loss(trained: FinetuneResult) -> None:
    curve = trained.report["loss_curve"]
    assert len(curve) == SMALL_CONFIG.max_steps
    first, last = sum(curve[:3]) / 3, sum(curve[-3:]) / 3
    assert last < first - 0.05, curve


def test_training_changes_every_adapter_matrix(trained: FinetuneResult, tiny_env: Path) -> None:
    """The saved adapter differs from the same seed's untrained adapter in every LoRA matrix
    (peft starts B at zero, so an unchanged B would mean no learning at all)."""
    saved = load_file(str(trained.output / WEIGHTS))
    examples = load_sql_training_set(small_training_file(tiny_env / "data"))
    loaded = open_base(resolve_model("tiny-gpt2", load_registry(), Path.cwd()), offline=True)
    with deterministic_torch(SMALL_CONFIG.seed):
        fresh = LoraTrainer(loaded, examples, SMALL_CONFIG).model.state_dict()
    initial = {k.replace(".default", ""): v for k, v in fresh.items() if "lora_" in k}
    assert set(saved) == set(initial) and saved
    for name, tensor in saved.items():
        assert not tensor.equal(initial[name]), name
        if "lora_B" in name:
            assert initial[name].abs().sum() == 0 and tensor.abs().sum() > 0


def test_same_seed_gives_the_same_adapter_bit_for_bit(trained: FinetuneResult, tiny_env: Path,
                                                      tmp_path: Path) -> None:
    again = train_small(tmp_path, "again")
    first, second = load_file(str(trained.output / WEIGHTS)), load_file(str(again.output / WEIGHTS))
    assert first.keys() == second.keys()
    assert all(first[k].equal(second[k]) for k in first)
    assert again.report["loss_curve"] == trained.report["loss_curve"]
    other = train_small(tmp_path, "other-seed", TrainConfig(**{**SMALL_CONFIG.__dict__, "seed": 8, "max_steps": 2}))
    third = load_file(str(other.output / WEIGHTS))
    assert not all(first[k].equal(third[k]) for k in first)


def test_training_json_says_what_the_training_cost(trained: FinetuneResult) -> None:
    report = json.loads((trained.output / "training.json").read_text())
    assert report == json.loads(json.dumps(trained.report))
    assert report["schema"] == "slm-energy/training/1" and report["task"] == "sql" and report["method"] == "lora"
    assert report["seed"] == 7 and report["steps"] == 12 and report["epochs_run"] == 2   # 12 examples, batch 2
    assert report["base_model"]["name"] == "tiny-gpt2" and report["base_model"]["model_id"] == "slm-energy/tiny-gpt2"
    assert report["base_model"]["revision"].startswith("tiny-gpt2-")   # the tiny build's key
    assert report["data"]["examples"] == 12 and len(report["data"]["sha256"]) == 64
    assert report["tokens"]["processed"] > report["tokens"]["loss_tokens"] > 0
    assert report["hyperparameters"]["rank"] == 4 and "transformer.h.0.attn.c_attn" in report["hyperparameters"]["target_modules"]
    energy = report["energy"]
    for window in [energy["load"], energy["training"], *(e["energy"] for e in energy["per_epoch"])]:
        assert window["total_kwh"] > 0 and window["methods"]["cpu"] and window["provenance"] == energy["provenance"]
        assert window["emissions_kg"] == pytest.approx(
            window["total_kwh"] * energy["carbon"]["intensity_g_per_kwh"] / 1000)
    assert energy["provenance"] in {"measured", "estimated", "mixed"} and energy["meter"]["name"] == "codecarbon"
    assert energy["training_kwh"] == pytest.approx(sum(e["energy"]["total_kwh"] for e in energy["per_epoch"]))
    assert sum(e["steps"] for e in energy["per_epoch"]) == 12
    assert report["duration_s"]["training"] == pytest.approx(sum(e["seconds"] for e in energy["per_epoch"]))
    for name in ("torch", "transformers", "peft"):
        assert report["libraries"][name] == metadata.version(name)
    config = json.loads((trained.output / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "tiny-gpt2" and config["r"] == 4


def test_an_existing_output_folder_is_never_overwritten(trained: FinetuneResult, tiny_env: Path) -> None:
    before = (trained.output / WEIGHTS).read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        train_small(trained.output.parent, trained.output.name)
    assert (trained.output / WEIGHTS).read_bytes() == before


def test_bad_budgets_are_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="not both"):
        TrainConfig(max_steps=3, epochs=1)
    with pytest.raises(ConfigError, match="--rank"):
        TrainConfig(rank=0)
