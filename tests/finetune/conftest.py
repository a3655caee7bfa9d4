"""A LoRA adapter trained once per test session on a tiny model, on CPU, in seconds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from slm_energy_plugin.finetune.run import FinetuneRequest, FinetuneResult, run_finetune
from slm_energy_plugin.finetune.train import TrainConfig
from slm_energy_plugin.quality.datasets import tasks_dir

SMALL_EXAMPLES = 12
# Untrained tiny models need a large step to move in a dozen steps (see BENCHMARKS.md).
SMALL_CONFIG = TrainConfig(rank=4, learning_rate=1e-2, batch_size=2, max_steps=12, seed=7)


def small_training_file(folder: Path, count: int = SMALL_EXAMPLES) -> Path:
    """The first ``count`` pairs of the project's split, with the bookshop database beside them."""
    items: list[dict[str, Any]] = json.loads((tasks_dir() / "sql" / "train.json").read_text())[:count]
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(tasks_dir() / "sql" / "bookshop.sql", folder / "bookshop.sql")
    path = folder / "train.json"
    path.write_text(json.dumps(items, indent=1))
    return path


def train_small(tmp: Path, name: str, config: TrainConfig = SMALL_CONFIG, model: str = "tiny-gpt2") -> FinetuneResult:
    data = small_training_file(tmp / f"{name}-data")
    return run_finetune(FinetuneRequest(model=model, data=data, output=tmp / name, config=config,
                                        offline=True), cwd=tmp)


@pytest.fixture(scope="session")
def trained(tiny_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> FinetuneResult:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
        patch.setenv("HF_HUB_OFFLINE", "1")
        return train_small(tmp_path_factory.mktemp("finetune"), "sql-lora")


@pytest.fixture
def tiny_env(tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tiny_cache
