"""The pytest surface of slm-energy, and nothing else: options, configure/unconfigure, fixtures.

Two roles do the work (as in pytest's junitxml), kept in the config's stash and unregistered
in ``pytest_unconfigure``: the *measuring* role (:mod:`.roles.measuring`) runs in every process
that runs tests and puts finished measurements on test reports; the *collecting* role
(:mod:`.roles.collecting`) runs on the xdist controller or in a plain run, rebuilds records
from the reports, journals them, writes one JSON per model and prints the summary. Workers
never write files. The plugin's own hooks are declared in :mod:`.hookspec`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from . import hookspec
from .energy.base import EnergyMeter
from .energy.intensity import carbon_context
from .errors import ConfigError, SlmEnergyError
from .results import storage
from .roles.collecting import CollectingRole
from .roles.measurer import Measurer, check_devices, selected_specs
from .roles.opened import OpenModel
from .roles.load_plan import ask_defaults
from .roles.measuring import MeasuringRole
from .roles.slm import SLM
from .settings import OPTIONS, Settings, build_settings
from .workload.cases import Case, load_cases
from .workload.queries import Query, load_queries

MEASURING = pytest.StashKey[MeasuringRole]()
COLLECTING = pytest.StashKey[CollectingRole]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("slm-energy", "energy, carbon, time and tokens of small language models")
    for spec in OPTIONS:
        if spec.flag:
            group.addoption(spec.option, action="store_true", default=None, dest=spec.dest, help=spec.help_text)
        else:
            group.addoption(spec.option, dest=spec.dest, default=None, metavar=spec.metavar, help=spec.help_text)
        parser.addini(spec.dest, f"{spec.help_text.replace('%%', '%')} (ini twin of {spec.option})", type="string")


def _settings_from_config(config: pytest.Config) -> Settings:
    cli = {spec.dest: config.getoption(spec.dest) for spec in OPTIONS}
    ini = {spec.dest: config.getini(spec.dest) for spec in OPTIONS}
    return build_settings(cli, ini, Path(config.rootpath))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slm_energy: a model x query test measured by slm-energy")
    try:
        settings = _settings_from_config(config)
        carbon = carbon_context(settings.country, settings.pue)
        _check_explicit_inputs(config, settings)
    except SlmEnergyError as exc:
        raise pytest.UsageError(str(exc)) from None
    worker = getattr(config, "workerinput", {}).get("workerid")
    worker_count = int(getattr(config, "workerinput", {}).get("workercount", 1))

    def make_meter() -> EnergyMeter | None:
        meter: EnergyMeter | None = config.hook.pytest_slm_energy_make_meter(settings=settings)
        return meter

    measuring = MeasuringRole(settings, Measurer(settings, carbon, worker or "main", worker_count, make_meter))
    config.stash[MEASURING] = measuring
    config.pluginmanager.register(measuring, "slm-energy-measuring")
    if worker is None:
        try:
            baseline = storage.load_sources([settings.compare]) if settings.compare else None
        except SlmEnergyError as exc:
            raise pytest.UsageError(f"--energy-compare: {exc}") from None
        collecting = CollectingRole(settings, config, *(baseline or (None, [])))
        config.stash[COLLECTING] = collecting
        config.pluginmanager.register(collecting, "slm-energy-collecting")
        if settings.until == "decided":   # issue 23: look after each query block, stop when decided
            from .roles.sequential_run import SequentialRole
            collecting.sequential = SequentialRole(settings, config, collecting)
            config.pluginmanager.register(collecting.sequential, "slm-energy-sequential")
        if config.pluginmanager.hasplugin("benchmark"):   # one-round rows of pytest-benchmark's table: hidden
            from .roles.benchmark_table import OneRoundTableHider
            config.pluginmanager.register(OneRoundTableHider(settings.repeat), "slm-energy-benchmark-table")


def pytest_unconfigure(config: pytest.Config) -> None:
    measuring = config.stash.get(MEASURING, None)
    if measuring is not None:
        measuring.close()
        del config.stash[MEASURING]
        config.pluginmanager.unregister(measuring)
    collecting = config.stash.get(COLLECTING, None)
    if collecting is not None:
        del config.stash[COLLECTING]
        config.pluginmanager.unregister(collecting)
    for name in ("slm-energy-benchmark-table", "slm-energy-sequential"):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)


def _check_explicit_inputs(config: pytest.Config, settings: Settings) -> None:
    """Inputs the user named are checked before anything runs, in every process: under xdist a
    worker cannot report a usage error cleanly. Defaults are checked lazily, when a benchmark
    collects, so projects that merely have the plugin installed never pay for them."""
    if settings.models or settings.dtype or settings.device:
        check_devices(selected_specs(settings))   # a bad name, dtype or device
    if settings.queries or settings.answers:
        load_queries(settings.queries, settings.answers)
    if settings.cases:
        load_cases(settings.cases)
    if settings.task_data:   # the user's Spider / MMLU files: one line for a wrong layout, before anything runs
        from .workload.task_data import load_task_data

        for kind, path in settings.task_data:
            load_task_data(kind, Path(path))
    if config.getoption("energy_results_dir") or config.getini("energy_results_dir"):
        storage.check_writable(settings.results_dir)
    if max((*settings.batch_size, *settings.concurrency)) > 1 and _runs_in_parallel(config):
        # A load level sends all of a model's queries from the process that opens it: under xdist
        # every worker would send them all again, and charge each other's load to its windows.
        raise ConfigError("--energy-batch-size / --energy-concurrency above 1 run all of a model's queries "
                         "from one process; run without -n (xdist)")
    if settings.until == "decided" and _runs_in_parallel(config):
        # The verdict after each block needs every model's result of that block before the next
        # starts; xdist workers take their items ahead of the controller's decision.
        raise ConfigError("--energy-until decided looks after each query block in one process; "
                          "run it without -n (xdist)")


def _runs_in_parallel(config: pytest.Config) -> bool:
    if int(getattr(config, "workerinput", {}).get("workercount", 1)) > 1:
        return True
    processes = getattr(config.option, "numprocesses", None)
    return processes not in (None, 0, "0")


@pytest.fixture(scope="session")
def slm_model(request: pytest.FixtureRequest) -> Iterator[OpenModel]:
    """One loaded model per session and process (parametrized by slm-energy over the selected models)."""
    alias = getattr(request, "param", None)
    if alias is None:
        pytest.fail("slm_model is parametrized by slm-energy; request the `slm` fixture in a test instead",
                    pytrace=False)
    yield from request.config.stash[MEASURING].model_fixture(alias)


@pytest.fixture
def slm(slm_model: OpenModel, request: pytest.FixtureRequest) -> SLM:
    """The model, bound to this test: ``slm.ask(query)`` generates and is measured."""
    role = request.config.stash[MEASURING]
    spec = slm_model.loaded.spec
    callspec = getattr(request.node, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    query = next((value for value in params if isinstance(value, (Query, Case))), None)
    provider = None
    if request.config.pluginmanager.hasplugin("benchmark"):
        # Requested on first use only: pytest-benchmark warns about a fixture a test never used.
        def provider() -> Any:
            return request.getfixturevalue("benchmark")
    meter = slm_model.meter or role.measurer.meter   # a model served elsewhere, unmetered: time only
    return SLM(slm_model.loaded, meter, defaults=ask_defaults(role.settings, spec),
               benchmark_provider=provider, default_query_id=query.id if query else None,
               sampler=role.measurer.sampler)
