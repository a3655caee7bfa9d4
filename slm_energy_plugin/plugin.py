"""The pytest surface of slm-energy: options, roles, fixtures and hook wrappers. Thin.

Two roles (as in pytest's junitxml): the *measuring* role runs in every process that
runs tests and puts finished measurements on test reports as primitive JSON strings;
the *collecting* role runs on the xdist controller (or in a plain run), rebuilds
records from reports, journals them, writes one JSON per model at the end and prints
the summary. Workers never write files.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from . import storage
from .collect import RunCollector
from .energy.intensity import carbon_context
from .errors import SlmEnergyError
from .machine import machine_info
from .measure import (Measurer, ModelLoadFailed, ModelUnavailable, OpenModel, benchmark_extra_info, check_devices,
                      query_event, selected_specs, utc_now)
from .models.registry import ModelSpec
from .queries import Query, load_queries
from .records import ModelRun
from .report import render_summary
from .settings import OPTIONS, Settings, build_settings
from .slm import SLM

EVENT_KEY = "slm_energy.event"
MEASURING = pytest.StashKey["MeasuringRole"]()
COLLECTING = pytest.StashKey["CollectingRole"]()
QUERY_FIXTURE = "math_query"


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
    measuring = MeasuringRole(settings, Measurer(settings, carbon, worker or "main", worker_count))
    config.stash[MEASURING] = measuring
    config.pluginmanager.register(measuring, "slm-energy-measuring")
    if worker is None:
        try:
            baseline = storage.load_runs([settings.compare]) if settings.compare else None
        except SlmEnergyError as exc:
            raise pytest.UsageError(f"--energy-compare: {exc}") from None
        collecting = CollectingRole(settings, config, baseline)
        config.stash[COLLECTING] = collecting
        config.pluginmanager.register(collecting, "slm-energy-collecting")


def _check_explicit_inputs(config: pytest.Config, settings: Settings) -> None:
    """Inputs the user named are checked before anything runs, in every process: under xdist a
    worker cannot report a usage error cleanly. Defaults are checked lazily, when a benchmark
    collects, so projects that merely have the plugin installed never pay for them."""
    if settings.models or settings.dtype or settings.device:
        check_devices(selected_specs(settings))   # a bad name, dtype or device
    if settings.queries or settings.answers:
        load_queries(settings.queries, settings.answers)
    if config.getoption("energy_results_dir") or config.getini("energy_results_dir"):
        storage.check_writable(settings.results_dir)


def _uses_slm(item: pytest.Item) -> bool:
    return "slm" in getattr(item, "fixturenames", ())


class MeasuringRole:
    """Parametrizes, loads models, and brackets each test call with one energy window."""

    def __init__(self, settings: Settings, measurer: Measurer) -> None:
        self.settings = settings
        self.measurer = measurer
        self._specs: list[ModelSpec] | None = None
        self._queries: list[Query] | None = None
        self._errors: list[str] = []
        self._index: dict[str, int] = {}

    # -- collection ---------------------------------------------------------------------------

    def specs(self) -> list[ModelSpec]:
        if self._specs is None:
            self._specs = selected_specs(self.settings)
        return self._specs

    def spec(self, alias: str) -> ModelSpec:
        return next(spec for spec in self.specs() if spec.alias == alias)

    def queries(self) -> list[Query]:
        if self._queries is None:
            self._queries = load_queries(self.settings.queries, self.settings.answers)
        return self._queries

    @pytest.hookimpl
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        try:
            if "slm_model" in metafunc.fixturenames:
                aliases = [spec.alias for spec in self.specs()]
                metafunc.parametrize("slm_model", aliases, indirect=True, scope="session", ids=aliases)
            if QUERY_FIXTURE in metafunc.fixturenames:
                queries = self.queries()
                metafunc.parametrize(QUERY_FIXTURE, queries, ids=[q.id for q in queries])
        except SlmEnergyError as exc:
            # Reported once, cleanly, when collection finishes (a raise here prints a traceback).
            if str(exc) not in self._errors:
                self._errors.append(str(exc))

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self._errors:
            raise pytest.UsageError(self._errors[0])
        measured = [item for item in session.items if _uses_slm(item)]
        self._index = {item.nodeid: i for i, item in enumerate(session.items)}
        if measured:
            try:
                storage.check_writable(self.settings.results_dir)
            except SlmEnergyError as exc:
                raise pytest.UsageError(str(exc)) from None

    # -- setup and call -----------------------------------------------------------------------

    def model_fixture(self, alias: str) -> Iterator[OpenModel]:
        try:
            opened = self.measurer.open_model(self.spec(alias))
        except ModelUnavailable as exc:
            pytest.skip(f"{alias}: not available: {exc}")
        except ModelLoadFailed as exc:
            pytest.fail(f"{alias}: {exc}", pytrace=False)
        yield opened

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        try:
            return (yield)
        finally:
            # A model loaded during this setup reports its load and idle figures on this test's reports.
            for event in self.measurer.take_pending_events():
                item.user_properties.append((EVENT_KEY, _encode(event)))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        slm = getattr(item, "funcargs", {}).get("slm")
        if not isinstance(slm, SLM):
            return (yield)
        started_at, started = utc_now(), time.perf_counter()
        error: BaseException | None = None
        try:
            return (yield)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(item, slm, error, started_at, time.perf_counter() - started)

    def _finish(self, item: pytest.Item, slm: SLM, error: BaseException | None, started_at: str,
                call_s: float) -> None:
        obs = slm.observation
        if isinstance(error, pytest.skip.Exception) or not obs.did_work:
            return
        if error is None:
            outcome, message = "passed", None
        elif obs.generation_error is not None:
            outcome, message = "error", obs.generation_error
        else:
            outcome, message = "failed", f"{type(error).__name__}: {error}".splitlines()[0]
        record = self.measurer.build_record(
            alias=slm.alias, observation=obs, outcome=outcome, error=message, test_id=item.nodeid,
            started_at=started_at, call_s=call_s, collection_index=self._index.get(item.nodeid, 0))
        item.user_properties.append((EVENT_KEY, _encode(query_event(record))))
        if slm.benchmark is not None:
            slm.benchmark.extra_info.update(benchmark_extra_info(record))

    @pytest.hookimpl
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.measurer.close()


def _encode(event: dict[str, Any]) -> str:
    # Report properties cross xdist's wire and land in junit XML: primitives only, so one JSON string.
    return json.dumps({"id": uuid.uuid4().hex, **event}, default=str)


class CollectingRole:
    """Rebuilds records from reports, journals them, writes the run folder and the summary."""

    def __init__(self, settings: Settings, config: pytest.Config, baseline: list[ModelRun] | None) -> None:
        self.settings = settings
        self.config = config
        self.baseline = baseline
        self.gate_lines: list[str] = []
        self.collector = RunCollector(
            run_id=uuid.uuid4().hex[:12], started_at=utc_now(), machine={}, settings=settings.to_dict())
        self.run_dir: Path | None = None
        self.journal: storage.Journal | None = None
        self.written: list[Path] = []
        self.write_error: str | None = None
        self.html_error: str | None = None
        self.runs: list[ModelRun] = []
        self._seen: set[str] = set()
        self._started = time.perf_counter()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in getattr(report, "user_properties", ()):
            if key != EVENT_KEY:
                continue
            event = json.loads(value)
            if event["id"] in self._seen:  # the same list rides on setup, call and teardown reports
                continue
            self._seen.add(event["id"])
            self.collector.ingest(event)
            self._journal(event)

    def _journal(self, event: dict[str, Any]) -> None:
        if self.journal is None:
            self.run_dir = storage.new_run_dir(self.settings.results_dir)
            self.journal = storage.Journal(self.run_dir / storage.JOURNAL)
            self.collector.machine = machine_info()
            self.journal.append(self.collector.run_event())
        self.journal.append(event)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run_dir is None:
            return
        status = {0: "complete", 1: "complete", 2: "interrupted"}.get(int(exitstatus), "failed")
        runs = self.runs = self.collector.build_runs(status=status, finished_at=utc_now())
        if self.baseline is not None:
            self._apply_gate(session, runs)
        try:
            self.written = storage.write_model_runs(self.run_dir, runs)
            storage.atomic_write_json(self.run_dir / storage.RUN_MANIFEST, self.collector.manifest(
                runs, status=status, exit_status=int(exitstatus), wall_s=time.perf_counter() - self._started,
                args=list(self.config.invocation_params.args), gate=self.gate_lines))
            if self.journal is not None:
                self.journal.close()
                (self.run_dir / storage.JOURNAL).unlink()
            if self.settings.html:
                self._write_html()
        except OSError as exc:
            # The journal stays: `slm-energy recover` rebuilds the files from it.
            self.write_error = f"could not write results to {self.run_dir} ({exc.strerror or exc})"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR if exitstatus == 0 else exitstatus

    def _write_html(self) -> None:
        """--energy-html: the run's HTML report beside its files; a failure is said, never raised."""
        assert self.run_dir is not None
        try:
            from .render.html_report import write_report

            from .settings import DEFAULT_METRICS

            # The default metrics leave the report its own default (adds "correct" when answers were scored).
            chosen = None if tuple(self.settings.metrics) == tuple(DEFAULT_METRICS) else list(self.settings.metrics)
            self.written.append(write_report([self.run_dir], self.run_dir / "report.html", metrics=chosen))
        except Exception as exc:  # noqa: BLE001 - the measurements are written; a report must not lose them
            self.html_error = f"report.html not written: {type(exc).__name__}: {exc}"

    def _apply_gate(self, session: pytest.Session, runs: list[ModelRun]) -> None:
        from .gate import check_regressions, gate_failed, gate_lines, session_specs

        specs = session_specs(self.settings.compare_fail, self.settings.metrics)
        results = check_regressions(runs, self.baseline or [], specs)
        self.gate_lines = [f"compared with {self.settings.compare}"] + gate_lines(results, specs)
        if gate_failed(results) and session.exitstatus == pytest.ExitCode.OK:
            # Failing through the session status: raising in a hook would break the run instead.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(trylast=True)  # last: the summary ends with our figures and file paths
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        runs = self.runs
        if not runs and self.write_error is None:
            return
        try:
            terminalreporter.section("slm-energy")
            if runs:
                render_summary(runs, terminalreporter, full=self.settings.report, metrics=self.settings.metrics)
                workers = {w for run in runs for w in run.extra.get("workers", [])}
                if len(workers) > 1:
                    terminalreporter.write_line(
                        f"Warning: {len(workers)} parallel workers shared this machine; each query's energy "
                        "includes the other workers' load (whole-machine estimates or package counters).")
            for line in self.gate_lines:
                terminalreporter.write_line(line, red="REGRESSION" in line or "FAILED" in line)
            for path in self.written:
                terminalreporter.write_line(f"wrote {path}")
            if self.html_error:
                terminalreporter.write_line(f"slm-energy: {self.html_error}", red=True)
            if self.write_error:
                terminalreporter.write_line(f"slm-energy: {self.write_error}; run `slm-energy recover "
                                            f"{self.run_dir}` once the problem is fixed", red=True)
        except Exception as exc:  # noqa: BLE001 - a broken summary must not break the run's result
            terminalreporter.write_line(f"slm-energy: summary failed: {type(exc).__name__}: {exc}", red=True)


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
    query = next((value for value in params if isinstance(value, Query)), None)
    provider = None
    if request.config.pluginmanager.hasplugin("benchmark"):
        # Requested on first use only: pytest-benchmark warns about a fixture a test never used.
        def provider() -> Any:
            return request.getfixturevalue("benchmark")
    return SLM(slm_model.loaded, role.measurer.meter, max_new_tokens=spec.max_new_tokens,
               repeat=role.settings.repeat, benchmark_provider=provider,
               default_query_id=query.id if query else None)
