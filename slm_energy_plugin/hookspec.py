"""The plugin's own hooks, for conftest.py files and other plugins (registered with pytest_addhooks).

As pytest-benchmark does, each hook lets a project adapt one step without forking the plugin:
which meter measures, what the machine description says, and what goes into each model's JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .energy.base import EnergyMeter
    from .settings import Settings


@pytest.hookspec(firstresult=True)
def pytest_slm_energy_make_meter(settings: "Settings") -> "EnergyMeter | None":
    """Return the energy meter for this process, or None to use the one ``--energy-meter`` names.

    Called once per process that runs tests (each xdist worker included), before the first model loads.
    """


@pytest.hookspec
def pytest_slm_energy_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """Add or change fields of the machine description (``machine`` in every JSON and run.json) in place.

    Called once per run, on the process that writes the files.
    """


@pytest.hookspec
def pytest_slm_energy_update_json(config: pytest.Config, model_json: dict[str, Any]) -> None:
    """Change one model's JSON in place just before it is written (e.g. add fields under ``extra``).

    Called once per model file, on the process that writes the files.
    """
