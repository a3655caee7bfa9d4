"""The workload options: --energy-cases, -temperature, -top-p, -seed, -stops, -sample-hz (and ini twins)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.settings import build_settings


def test_defaults_and_ini_twins(tmp_path: Path):
    default = build_settings({}, {}, tmp_path, environ={})
    assert (default.cases, default.temperature, default.top_p, default.seed, default.stops, default.sample_hz) == \
        (None, None, None, 0, True, 10.0)
    ini = build_settings({"energy_seed": "9"}, {"energy_cases": "c.json", "energy_temperature": "0.7",
                                                "energy_top_p": "0.9", "energy_seed": "3", "energy_stops": "off",
                                                "energy_sample_hz": "0"}, tmp_path, environ={})
    assert (ini.cases, ini.temperature, ini.top_p, ini.seed, ini.stops, ini.sample_hz) == \
        (tmp_path / "c.json", 0.7, 0.9, 9, False, 0.0)
    assert ini.to_dict()["cases"] == str(tmp_path / "c.json") and ini.to_dict()["stops"] is False


@pytest.mark.parametrize(("dest", "value", "message"), [
    ("energy_temperature", "hot", "--energy-temperature='hot': expected a temperature"),
    ("energy_temperature", "2.5", "must lie between 0 and 2"),
    ("energy_top_p", "0", "must be above 0"),
    ("energy_top_p", "1.5", "must lie between 0 and 1"),
    ("energy_seed", "-1", "must be at least 0"),
    ("energy_stops", "maybe", "expected true or false"),
    ("energy_sample_hz", "1000", "must lie between 0 and 100"),
])
def test_bad_values_are_one_line(tmp_path: Path, dest: str, value: str, message: str):
    with pytest.raises(ConfigError) as info:
        build_settings({dest: value}, {}, tmp_path, environ={})
    assert message in str(info.value) and "\n" not in str(info.value)
