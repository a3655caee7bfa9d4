"""The plugin's own hooks and meter entry points, in real pytester runs."""

from __future__ import annotations

import pytest

from slm_energy_plugin.energy import build_meter, meter_names
from slm_energy_plugin.energy.null_meter import NullMeter
from slm_energy_plugin.errors import ConfigError

from ..conftest import load_model_json, run_dirs

HOOKS_CONFTEST = '''
from slm_energy_plugin.energy.null_meter import NullMeter

def pytest_slm_energy_make_meter(settings):
    return NullMeter()

def pytest_slm_energy_update_machine_info(config, machine_info):
    machine_info["rack"] = "r42"

def pytest_slm_energy_update_json(config, model_json):
    model_json.setdefault("extra", {})["team"] = "green"
'''


def test_hooks_choose_the_meter_and_extend_machine_and_json(bench_project: pytest.Pytester) -> None:
    bench_project.makeconftest(HOOKS_CONFTEST)
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--benchmark-disable")
    result.assert_outcomes(passed=3)
    [run_dir] = run_dirs(bench_project.path)
    data = load_model_json(run_dir, "tiny-gpt2")
    assert data["extra"]["team"] == "green"
    assert data["machine"]["rack"] == "r42"
    # The null meter measures no energy: the hook's meter was used, not CodeCarbon.
    assert data["query_history"][0]["energy"]["methods"]["cpu"] != "cpu-load-estimate"


def test_roles_are_unregistered_at_unconfigure(bench_project: pytest.Pytester) -> None:
    bench_project.makeconftest('''
import pytest
SEEN = {}
@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    SEEN["after"] = [config.pluginmanager.has_plugin(n) for n in ("slm-energy-measuring", "slm-energy-collecting")]
    print("REGISTERED AFTER UNCONFIGURE:", SEEN["after"])
''')
    result = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2", "--benchmark-disable", "-s")
    result.stdout.fnmatch_lines(["*REGISTERED AFTER UNCONFIGURE: [[]False, False[]]*"])


def test_meters_come_from_the_entry_point_group() -> None:
    assert meter_names()[:3] == ("codecarbon", "rapl", "null")
    assert isinstance(build_meter("null", "USA"), NullMeter)
    with pytest.raises(ConfigError, match="unknown meter 'joulemeter': choose one of codecarbon, rapl, null"):
        build_meter("joulemeter", "USA")
