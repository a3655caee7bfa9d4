"""``--energy-registry FILE``: a user's own models file laid over the built-in registry (no copy of data/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_energy_plugin import cli
from slm_energy_plugin.backends.registry import registry_for
from slm_energy_plugin.errors import ConfigError


def _models_file(folder: Path, models: dict[str, object], **more: object) -> Path:
    path = folder / "my_models.json"
    path.write_text(json.dumps({"models": models, **more}), encoding="utf-8")
    return path


def test_its_models_are_added_its_selection_is_the_default_and_relative_paths_are_its_folders(tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    registry = registry_for(_models_file(tmp_path, {"mine": {"tiny": "gpt2"}, "local": {"path": "weights"}}))
    assert {"mine", "local", "tiny-gpt2", "phi2"} <= set(registry.specs)      # the built-in ones stay
    assert registry.default_selection == ("mine", "local")
    assert registry.specs["local"].local_path == (tmp_path / "weights").resolve()


def test_a_broken_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="non-empty 'models' object"):
        registry_for(_models_file(tmp_path, {}))
    with pytest.raises(ConfigError, match="no such file"):
        registry_for(tmp_path / "missing.json")


def test_the_plugin_parametrizes_over_the_users_models(bench_project: pytest.Pytester) -> None:
    _models_file(bench_project.path, {"mine": {"tiny": "gpt2"}})
    result = bench_project.runpytest("--energy-registry", "my_models.json", "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*test_math_query*mine*"])
    assert "tiny-phi" not in result.stdout.str()


def test_models_lists_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["models", "--offline", "--registry", str(_models_file(tmp_path, {"mine": {"tiny": "qwen2"}})),
                     "mine"]) == 0
    assert "mine" in capsys.readouterr().out
