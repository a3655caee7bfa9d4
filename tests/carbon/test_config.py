"""Estimator configuration: built-ins, CodeCarbon-backed regions, user overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.carbon.config import (
    CONFIG_ENV, config_from_text, load_config, parse_yaml, world_region,
)
from slm_energy_plugin.carbon.formulas import HARDWARE_QUANTITIES
from slm_energy_plugin.energy.intensity import carbon_context, country_table
from slm_energy_plugin.errors import ConfigError


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(CONFIG_ENV, raising=False)


@pytest.fixture(scope="module")
def builtin():
    return load_config(include_user=False)


def test_builtins_load_and_every_figure_states_a_source(builtin):
    assert {"a100", "h100", "cpu-laptop"} <= set(builtin.hardware)
    assert {"chatbot", "translation", "summarisation"} <= set(builtin.profiles)
    assert {"typical", "hyperscale", "local"} <= set(builtin.datacenters)
    for hw in builtin.hardware.values():
        for name in HARDWARE_QUANTITIES:
            assert getattr(hw, name).source.strip(), f"{hw.key}.{name} has no source"
    for dc in builtin.datacenters.values():
        assert dc.pue.source and (dc.wue_l_per_kwh is None or dc.wue_l_per_kwh.source)
    for profile in builtin.profiles.values():
        assert profile.tokens_in.source == "assumed" and profile.tokens_in.low <= profile.tokens_in.value


def test_regions_come_from_codecarbon_data_not_a_copy(builtin):
    usa = builtin.region("usa")
    assert usa.intensity_g_per_kwh.value == carbon_context("USA").intensity_g_per_kwh
    assert "CodeCarbon" in usa.source and usa.year == country_table()["USA"].get("year")
    assert builtin.region("fra").intensity_g_per_kwh.value == pytest.approx(
        float(country_table()["FRA"]["carbon_intensity"]))
    cloud = builtin.region("gcp:europe-west1")
    assert cloud.iso_code == "BEL" and "impact.csv" in cloud.source and cloud.intensity_g_per_kwh.value > 0


def test_world_is_the_generation_weighted_mean_of_countries(builtin):
    rows = [r for r in country_table().values() if r.get("total_TWh")]
    expected = sum(r["carbon_intensity"] * r["total_TWh"] for r in rows) / sum(r["total_TWh"] for r in rows)
    assert builtin.region("world").intensity_g_per_kwh.value == pytest.approx(expected)
    assert world_region().key == "world" and "generation-weighted" in world_region().source


def test_unknown_names_suggest_a_close_match(builtin):
    with pytest.raises(ConfigError, match=r"unknown region 'frnace' \(did you mean 'france'\?\)"):
        builtin.region("frnace")
    with pytest.raises(ConfigError, match="unknown hardware 'a10'.*a100"):
        builtin.hardware_profile("a10")


def write(tmp_path: Path, text: str, name: str = "user.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_file_overrides_and_extends_builtins(builtin, tmp_path):
    path = write(tmp_path, """
hardware:
  a100: {base: a100, gpu_util: 0.5}
  mybox:
    base: a100
    name: My box
    gpu_power_w: {value: 300, low: 250, high: 350, source: "my meter"}
regions:
  mygrid: {intensity_g_per_kwh: {value: 120, low: 80, high: 200}, source: "utility 2024", year: 2024}
defaults: {region: mygrid}
""")
    config = load_config([path], include_user=False)
    a100 = config.hardware_profile("a100")
    assert a100.gpu_util.value == 0.5 and a100.gpu_util.low == a100.gpu_util.high
    assert a100.decode_tokens_per_s == builtin.hardware_profile("a100").decode_tokens_per_s
    assert config.hardware_profile("MyBox").gpu_power_w.source == "my meter"
    region = config.region(None)
    assert region.key == "mygrid" and region.intensity_g_per_kwh.high == 200 and region.year == 2024
    assert str(path) in config.files


def test_user_folder_and_environment_files_are_read(monkeypatch, tmp_path):
    folder = tmp_path / "xdg" / "slm-energy" / "estimator"
    folder.mkdir(parents=True)
    write(folder, "defaults: {hardware: h100}\n", "mine.yaml")
    assert load_config().defaults["hardware"] == "h100"
    env_file = write(tmp_path, "defaults: {hardware: l4}\n", "env.yaml")
    monkeypatch.setenv(CONFIG_ENV, str(env_file))
    assert load_config().defaults["hardware"] == "l4"      # the environment comes after the folder


@pytest.mark.parametrize(("text", "expected"), [
    ("hardware:\n  a100: {base: a100, gpu_util: {value: 0.5, high: 1.5}}\n",
     r"hardware\.a100\.gpu_util\.high: must be at least 0 and at most 1, got 1\.5"),
    ("hardware:\n  a100: {base: a100, gpu_utl: 0.5}\n", r"hardware\.a100\.gpu_utl: unknown key"),
    ("hardware:\n  new: {gpu_power_w: 10}\n", r"hardware\.new: missing key 'gpu_util'"),
    ("hardware:\n  a100: {base: nothing}\n", r"hardware\.a100\.base: no earlier hardware entry.*'nothing'"),
    ("datacenters:\n  dc: {pue: 0.9}\n", r"datacenters\.dc\.pue: must be at least 1 and at most 5, got 0\.9"),
    ("datacenters:\n  dc: {pue: {value: 1.2, low: 1.3}}\n", r"datacenters\.dc\.pue: needs low <= value <= high"),
    ("profiles:\n  p: {tokens_in: -5, tokens_out: 1}\n", r"profiles\.p\.tokens_in: must be at least 0.*got -5"),
    ("profiles:\n  p: {tokens_in: 5, tokens_out: 1, count: 2.5}\n", r"profiles\.p\.count: must be a whole number"),
    ("profiles:\n  p: {tokens_in: .nan, tokens_out: 1}\n", r"profiles\.p\.tokens_in: must be a number, got nan"),
    ("regions:\n  r: {intensity_g_per_kwh: 100}\n", r"regions\.r: an explicit intensity needs a 'source'"),
    ("regions:\n  r: {country: XXX}\n", r"regions\.r\.country: unknown country code 'XXX'"),
    ("regions:\n  r: {cloud: gcp:nowhere}\n", r"regions\.r\.cloud: unknown cloud region"),
    ("regions:\n  r: {country: FRA, world: true}\n", r"regions\.r: needs exactly one of"),
    ("defaults: {hardware: ghost}\n", r"defaults\.hardware: unknown hardware 'ghost'"),
    ("hardware:\n  a100: {base: a100, datacenter: ghost}\n", r"hardware\.a100\.datacenter: no datacenter.*'ghost'"),
    ("gadgets: {}\n", r"gadgets: unknown section"),
    ("hardware: [1, 2]\n", r"hardware: must be a mapping"),
    ("hardware:\n  'bad key!': {}\n", r"hardware\.bad key!: names must be"),
])
def test_errors_name_the_file_the_key_and_the_bad_value(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config([path], include_user=False)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "hardware:\n  a100: {base: a100\n")
    with pytest.raises(ConfigError, match=r"user\.yaml: line 3, column 1: not valid YAML"):
        load_config([path], include_user=False)


def test_safe_loader_refuses_python_objects(tmp_path):
    marker = tmp_path / "pwned"
    text = f"defaults: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ConfigError, match="not valid YAML"):
        config_from_text(text, "evil.yaml")
    assert not marker.exists()


def test_deeply_nested_yaml_is_a_clear_error():
    with pytest.raises(ConfigError, match="evil.yaml: YAML nested too deeply"):
        parse_yaml("[" * 5000 + "]" * 5000, "evil.yaml")


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such file"):
        load_config([tmp_path / "nope.yaml"], include_user=False)
