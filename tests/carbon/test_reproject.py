"""Re-projecting measured runs to another grid and PUE (the function and the command)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from .synthetic import synthetic_run, write_run
from slm_energy_plugin import cli
from slm_energy_plugin.carbon.config import load_config
from slm_energy_plugin.carbon.reproject import REPROJECTED_KEY, carbon_context_for, reproject
from slm_energy_plugin.energy.intensity import carbon_context
from slm_energy_plugin.errors import SlmEnergyError
from slm_energy_plugin.results.storage import load_runs


def test_emissions_follow_energy_times_new_pue_and_intensity():
    run = synthetic_run(n=5)
    france = carbon_context("FRA", pue=1.2)
    [projected] = reproject([run], france)
    for old, new in zip(run.records, projected.records, strict=True):
        assert new.energy == old.energy                       # energy and its method labels untouched
        assert new.emissions_kg == pytest.approx(old.energy_kwh * 1.2 * france.intensity_g_per_kwh / 1000)
    assert projected.carbon == france
    assert projected.extra[REPROJECTED_KEY] == carbon_context("USA").to_dict()
    assert run.carbon == carbon_context("USA")                # the input is not modified
    # Re-projecting back gives the original figures and keeps the first original context.
    [back] = reproject([projected], carbon_context("USA"))
    assert [r.emissions_kg for r in back.records] == pytest.approx([r.emissions_kg for r in run.records])
    assert back.extra[REPROJECTED_KEY] == carbon_context("USA").to_dict()


def test_without_energy_the_old_context_scales_the_emissions():
    run = synthetic_run(n=3)
    no_energy = replace(run, records=tuple(replace(r, energy=None) for r in run.records))
    [projected] = reproject([no_energy], carbon_context("SWE", pue=1.5))
    factor = 1.5 * carbon_context("SWE").intensity_g_per_kwh / carbon_context("USA").intensity_g_per_kwh
    assert [r.emissions_kg for r in projected.records] == pytest.approx(
        [r.emissions_kg * factor for r in run.records])


def test_seed_files_without_energy_or_context_cannot_be_reprojected():
    run = synthetic_run(n=3)
    seed_like = replace(run, carbon=None, records=tuple(replace(r, energy=None) for r in run.records))
    with pytest.raises(SlmEnergyError, match="model 'toy', query q001: records emissions but neither"):
        reproject([seed_like], carbon_context("FRA"))
    nothing = replace(seed_like, records=tuple(replace(r, emissions_kg=None) for r in seed_like.records))
    assert all(r.emissions_kg is None for r in reproject([nothing], carbon_context("FRA"))[0].records)


def test_named_and_cloud_regions_become_carbon_contexts():
    config = load_config(include_user=False)
    context = carbon_context_for(config.region("gcp:europe-west1"), 1.1)
    assert context.country_iso_code == "BEL" and context.pue == 1.1 and "impact.csv" in context.source
    assert carbon_context_for(config.region("france"), 1.0).intensity_g_per_kwh == \
        carbon_context("FRA").intensity_g_per_kwh


def test_reproject_command_prints_and_writes_a_new_run(tmp_path, capsys):
    run_dir = write_run(tmp_path, synthetic_run("a", n=4), synthetic_run("b", n=4, seed=2))
    assert cli.main(["reproject", str(run_dir), "--region", "FRA", "--pue", "1.2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    runs = load_runs([run_dir])
    fra = carbon_context("FRA").intensity_g_per_kwh
    for item, run in zip(data, runs, strict=True):
        energy = sum(r.energy_kwh for r in run.records)
        assert item["emissions_kg_after"] == pytest.approx(energy * 1.2 * fra / 1000)
        assert item["after"]["country_iso_code"] == "FRA" and item["before"]["country_iso_code"] == "USA"
        assert item["energy_provenance"] == "estimated"

    out = tmp_path / "in-france"
    assert cli.main(["reproject", str(run_dir), "--region", "france", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "FRA" in text
    assert "re-projected to" in text and "measured or estimated" in text
    rewritten = load_runs([out])                # the suite's reader accepts what was written
    assert {r.carbon.country_iso_code for r in rewritten} == {"FRA"}
    assert {r.carbon.pue for r in rewritten} == {1.0}   # the runs' own PUE, since none was given
    assert cli.main(["reproject", str(run_dir), "--region", "FRA", "--output", str(out)]) == 2
    assert "never overwrite" in capsys.readouterr().err


def test_reproject_command_errors_are_one_line(tmp_path, capsys):
    run_dir = write_run(tmp_path, synthetic_run("a", n=3))
    assert cli.main(["reproject", str(run_dir), "--region", "atlantis"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slm-energy reproject: error: unknown region 'atlantis'") and err.count("\n") == 1
    assert cli.main(["reproject", str(run_dir), "--region", "FRA", "--pue", "0.5"]) == 2
    assert "PUE must be between 1.0 and 5.0" in capsys.readouterr().err
