"""The collecting role: runs on the xdist controller, or in a plain run (never on a worker).

It rebuilds records from the events on test reports, appends each to the run's journal as it
arrives (so an interrupted run can be recovered), and at session end writes one JSON per model,
the run manifest and the summary. Only this role writes files.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import pytest

from ..perf.machine import machine_info
from ..perf.sampler import write_timeline
from ..render.summary import render_summary, skipped_code_lines, skipped_model_lines
from ..results import storage
from ..results.collector import RunCollector
from ..results.events import Event
from ..results.records import ModelRun
from ..settings import Settings
from .events import EVENT_KEY, decode_event
from .journal_guard import journal_full, note_skipped_code, note_skipped_model, save_pending
from ..timestamps import utc_now

if TYPE_CHECKING:
    from .sequential_run import SequentialRole


class CollectingRole:
    """Rebuilds records from reports, journals them, writes the run folder and the summary."""

    def __init__(self, settings: Settings, config: pytest.Config, baseline: list[ModelRun] | None,
                 baseline_sources: Sequence[str] = ()) -> None:
        self.settings = settings
        self.config = config
        self.baseline = baseline
        self.baseline_sources = list(baseline_sources)   # its files: run.json beside them says if it was sequential
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
        self.timeline: list[list[Any]] = []   # utilisation rows from the query events (perf.sampler)
        self.pending: list[Event] = []   # events the journal could not take (disk full)
        self.journal_error: str | None = None
        self.skipped_models: dict[str, tuple[int, str]] = {}   # alias -> (tests, reason and how to get it)
        self.skipped_code: dict[str, int] = {}   # why generated code cannot run here -> code tasks skipped
        self.session: pytest.Session | None = None
        self._started = time.perf_counter()
        self.sequential: SequentialRole | None = None   # --energy-until decided (set by the plugin)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        note_skipped_model(self.skipped_models, report)
        note_skipped_code(self.skipped_code, report)
        for key, value in getattr(report, "user_properties", ()):
            if key != EVENT_KEY:
                continue
            event = decode_event(value)
            if event["id"] in self._seen:  # the same list rides on setup, call and teardown reports
                continue
            self._seen.add(event["id"])
            event = self.collector.ingest(event)
            if event["kind"] == "query":   # utilisation rows ride on query events only
                self.timeline.extend([event["alias"], *row] for row in event.get("timeline") or ())
            self._journal(event)

    def _journal(self, event: Event) -> None:
        try:
            self._append(event)
        except OSError as exc:   # a full or vanished results disk: keep measuring nothing more
            journal_full(self, event, exc)

    def _append(self, event: Event) -> None:
        if self.pending:       # once the journal failed, it stays behind: never append out of order
            raise OSError(self.journal_error or "journal unavailable")
        if self.journal is None:
            self.run_dir = storage.new_run_dir(self.settings.results_dir)
            self.journal = storage.Journal(self.run_dir / storage.JOURNAL)
            machine = machine_info()
            self.config.hook.pytest_slm_energy_update_machine_info(config=self.config, machine_info=machine)
            self.collector.machine = machine
            self.journal.append(self.collector.run_event())
        self.journal.append(event)

    @pytest.hookimpl
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run_dir is None:
            if self.pending:   # the run folder itself could not be made: save what was measured
                self.write_error = f"{self.journal_error}{save_pending(self)}"
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR if exitstatus == 0 else exitstatus
            return
        status = {0: "complete", 1: "complete", 2: "interrupted"}.get(int(exitstatus), "failed")
        runs = self.runs = self.collector.build_runs(status=status, finished_at=utc_now())
        if self.baseline is not None:
            self._apply_gate(session, runs)
        failed: list[str] = []   # models whose file could not be written: the others still are
        try:
            self.written = storage.write_model_runs(
                self.run_dir, runs,
                update=lambda data: self.config.hook.pytest_slm_energy_update_json(config=self.config, model_json=data),
                failed=failed)
            manifest = self.collector.manifest(
                runs, status=status, exit_status=int(exitstatus), wall_s=time.perf_counter() - self._started,
                args=list(self.config.invocation_params.args), gate=self.gate_lines)
            if self.sequential is not None:
                manifest["sequential"] = self.sequential.to_dict()
            storage.atomic_write_json(self.run_dir / storage.RUN_MANIFEST, manifest)
            if self.timeline:
                self.written.append(write_timeline(self.run_dir, self.timeline))
            if self.journal is not None:
                self.journal.close()
                if not failed:   # else the journal stays: recover --force rebuilds the missing files
                    (self.run_dir / storage.JOURNAL).unlink()
            if self.settings.html:
                self._write_html()
        except OSError as exc:
            # The journal stays: `slm-energy recover` rebuilds the files from it.
            self.write_error = f"could not write results to {self.run_dir} ({exc.strerror or exc})"
            self.write_error += save_pending(self)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR if exitstatus == 0 else exitstatus
        if failed and self.write_error is None:
            self.write_error = f"in {self.run_dir}: {'; '.join(failed)}; the journal is kept"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR if exitstatus == 0 else exitstatus

    def _write_html(self) -> None:
        """--energy-html: the run's HTML report beside its files; a failure is said, never raised."""
        assert self.run_dir is not None
        try:
            from ..render.html_report import write_report
            from ..results.metrics import DEFAULT_METRICS

            # The default metrics leave the report its own default (adds "correct" when answers were scored).
            chosen = None if tuple(self.settings.metrics) == tuple(DEFAULT_METRICS) else list(self.settings.metrics)
            self.written.append(write_report([self.run_dir], self.run_dir / "report.html", metrics=chosen))
        except Exception as exc:  # noqa: BLE001 - the measurements are written; a report must not lose them
            self.html_error = f"report.html not written: {type(exc).__name__}: {exc}"

    def _apply_gate(self, session: pytest.Session, runs: list[ModelRun]) -> None:
        from ..render import sequential_tables as seq
        from ..render.regression_gate import regression_gate
        from ..results.run_manifest import read_manifests
        from ..stats.gate import gate_failed, gate_lines, session_specs

        specs = session_specs(self.settings.compare_fail, self.settings.metrics)
        baseline = self.baseline or []
        # As `slm-energy compare` judges: a sequential run (this one, or the baseline) stopped on its data,
        # so its models get the always-valid verdict, not a fixed-n test at a data-chosen size.
        own = ([seq.session_run(self.collector.run_id, runs, self.sequential.to_dict())]
               if self.sequential is not None and self.sequential.monitor is not None else [])
        before = seq.sequential_runs(baseline, self.baseline_sources, read_manifests(self.baseline_sources))
        results = regression_gate(runs, own, baseline, before, specs, alpha=self.settings.alpha)
        self.gate_lines = [f"compared with {self.settings.compare}"] + gate_lines(results, specs)
        if gate_failed(results) and session.exitstatus == pytest.ExitCode.OK:
            # Failing through the session status: raising in a hook would break the run instead.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _sequential_lines(self, runs: list[ModelRun]) -> list[str] | None:
        if self.sequential is None or self.sequential.monitor is None:
            return None
        from ..render.sequential_lines import sequential_lines
        from ..results.records import combine_provenance

        return sequential_lines(self.sequential.to_dict(), combine_provenance(run.energy_provenance for run in runs))

    @pytest.hookimpl(trylast=True)  # last: the summary ends with our figures and file paths
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        runs = self.runs
        if not runs and self.write_error is None and not self.skipped_models and not self.skipped_code:
            return
        try:
            terminalreporter.section("slm-energy")
            for line in skipped_model_lines(self.skipped_models) + skipped_code_lines(self.skipped_code):
                terminalreporter.write_line(line)
            for run in runs:
                for warning in run.warnings:
                    terminalreporter.write_line(f"Warning: {run.alias}: {warning}", yellow=True)
            if self.journal_error and not self.write_error:
                terminalreporter.write_line(f"slm-energy: {self.journal_error}; the files above hold every "
                                            "record measured before it", red=True)
            if runs:
                render_summary(runs, terminalreporter, full=self.settings.report, metrics=self.settings.metrics,
                               alpha=self.settings.alpha, sequential=self._sequential_lines(runs))
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
                # Some model files written: recover rewrites them only when told to.
                force = " --force" if self.run_dir is not None and storage.model_files(self.run_dir) else ""
                terminalreporter.write_line(f"slm-energy: {self.write_error}; run `slm-energy recover "
                                            f"{self.run_dir}{force}` once the problem is fixed", red=True)
        except Exception as exc:  # noqa: BLE001 - a broken summary must not break the run's result
            terminalreporter.write_line(f"slm-energy: summary failed: {type(exc).__name__}: {exc}", red=True)
