"""Settings resolution: every option's ini twin and help default, CLI over ini over default, HF_HUB_OFFLINE."""

from __future__ import annotations

from pathlib import Path

from slm_energy_plugin.settings import OPTIONS, build_settings


def test_every_option_has_an_ini_twin_and_a_default_in_help() -> None:
    names = {spec.option for spec in OPTIONS}
    required = {"--energy-report", "--energy-models", "--energy-results-dir", "--energy-meter", "--energy-country",
                "--energy-pue", "--energy-max-new-tokens", "--energy-warmup", "--energy-idle-seconds",
                "--energy-repeat", "--energy-offline"}
    assert required <= names
    assert all(spec.dest == "energy_" + spec.name.replace("-", "_") for spec in OPTIONS)


def test_precedence_cli_over_ini_over_default(tmp_path: Path) -> None:
    settings = build_settings({"energy_repeat": "3", "energy_models": None},
                              {"energy_repeat": "2", "energy_models": "tiny-gpt2, tiny-phi", "energy_pue": "1.2"},
                              tmp_path, environ={})
    assert settings.repeat == 3
    assert settings.models == ("tiny-gpt2", "tiny-phi")
    assert settings.pue == 1.2
    assert settings.results_dir == tmp_path / "results"
    assert settings.country == "USA" and settings.meter == "codecarbon" and not settings.offline


def test_hf_hub_offline_turns_offline_on(tmp_path: Path) -> None:
    assert build_settings({}, {}, tmp_path, environ={"HF_HUB_OFFLINE": "1"}).offline
    assert not build_settings({}, {}, tmp_path, environ={"HF_HUB_OFFLINE": "0"}).offline
