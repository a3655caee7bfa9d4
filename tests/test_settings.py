"""Settings resolution: every option's ini twin and help default, CLI over ini over default, HF_HUB_OFFLINE."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

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


def test_a_sequential_run_without_a_meter_refuses_every_metric_the_table_says_needs_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from slm_energy_plugin.errors import ConfigError
    from slm_energy_plugin.results.metrics import METRICS
    from slm_energy_plugin.results.records import QueryRecord
    from slm_energy_plugin.stats.sequential import SEQUENTIAL_METRICS

    # The table's flag is true: a record measured without a meter has every other sequential metric.
    unmetered = QueryRecord(model="tiny-gpt2", query_id="q1", query="What is 7 + 5?", response="12", tokens_input=6,
                            tokens_output=3, duration_s=0.5, sequence=1, ttft_s=0.1, energy=None, emissions_kg=None)
    for name in SEQUENTIAL_METRICS:
        assert (METRICS[name].extract(unmetered) is None) == METRICS[name].needs_meter, name
    refused = [name for name in SEQUENTIAL_METRICS if METRICS[name].needs_meter]
    assert refused == ["energy", "energy_per_token", "emissions"]
    for name in SEQUENTIAL_METRICS:
        cli = {"energy_until": "decided", "energy_meter": "null", "energy_metrics": name}
        if name in refused:
            try:
                build_settings(cli, {}, tmp_path, environ={})
            except ConfigError as refusal:
                assert str(refusal) == (f"--energy-until decided with --energy-meter null has no {name!r} to compare: "
                                        "choose --energy-metrics from latency, ttft, tokens, or another meter")
            else:
                raise AssertionError(f"{name} was accepted without a meter")
        else:
            assert build_settings(cli, {}, tmp_path, environ={}).metrics == (name,)
    # A new energy metric, flagged in the table, is refused with no list to edit in settings.
    from slm_energy_plugin.stats import sequential

    monkeypatch.setitem(METRICS, "gpu_energy", replace(METRICS["energy"], name="gpu_energy"))
    monkeypatch.setattr(sequential, "SEQUENTIAL_METRICS", (*SEQUENTIAL_METRICS, "gpu_energy"))
    with pytest.raises(ConfigError, match="^--energy-until decided with --energy-meter null has no 'gpu_energy' to "
                                          "compare: choose --energy-metrics from latency, ttft, tokens, or another meter$"):
        build_settings({"energy_until": "decided", "energy_meter": "null", "energy_metrics": "gpu_energy"}, {},
                       tmp_path, environ={})
