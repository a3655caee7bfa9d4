"""The measuring role: runs in every process that runs tests (xdist workers included).

It parametrizes tests over the selected models and queries, opens each model once per process,
and brackets each test's *call* with the measurement the ``slm`` fixture makes: the energy
window opens and closes around the model's own work inside the test (``slm.ask`` and friends),
never around fixture setup, scoring or pytest's bookkeeping. The finished record goes onto the
test's report as an event (see :mod:`.events`); the role never writes files.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from ..backends.spec import ModelSpec
from ..errors import SlmEnergyError
from ..results import storage
from ..settings import Settings
from ..workload.cases import Case, load_cases
from ..workload.queries import Query, load_queries
from ..workload.run_case import case_params, resolve_case
from .events import EVENT_KEY, encode_event
from .opened import OpenModel
from .preflight import preflight
from .measurer import (Measurer, ModelLoadFailed, ModelUnavailable, benchmark_extra_info, query_event,
                       selected_specs)
from .slm import SLM
from ..timestamps import utc_now

QUERY_FIXTURE = "math_query"
CASE_FIXTURE = "slm_case"
LM_EVAL_FIXTURE = "lm_eval_doc"
LM_EVAL_NOT_REQUESTED = ("lm-eval tasks run only when named: --energy-lm-eval TASKS (e.g. gsm8k,mmlu); "
                         "see docs/lm-eval.md")


def _uses_slm(item: pytest.Item) -> bool:
    return "slm" in getattr(item, "fixturenames", ())


class MeasuringRole:
    """Parametrizes, loads models, and brackets each test call with one energy window."""

    def __init__(self, settings: Settings, measurer: Measurer) -> None:
        self.settings = settings
        self.measurer = measurer
        self._specs: list[ModelSpec] | None = None
        self._queries: list[Query] | None = None
        self._cases: list[Case] | None = None
        self._case_specs: list[ModelSpec] | None = None   # the selection + served models the cases name
        self._lm_eval_params: list[Any] | None = None
        self._errors: list[str] = []
        self._index: dict[str, int] = {}
        self._placements: dict[str, dict[str, object]] = {}   # nodeid -> extra.order

    # -- collection ---------------------------------------------------------------------------

    def specs(self) -> list[ModelSpec]:
        if self._specs is None:
            self._specs = selected_specs(self.settings)
        return self._specs

    def spec(self, alias: str) -> ModelSpec:
        known: list[ModelSpec] = [*self.specs(), *(self._case_specs or ())]
        return next(spec for spec in known if spec.alias == alias)

    def case_specs(self) -> list[ModelSpec]:
        """The models the cases run on: the selection, plus the served models cases name (workload.run_case).
        With --energy-cases-backend and no --energy-models, only the models the cases name (the seed's
        files say which model each case is for; the registry's default selection is not loaded for them)."""
        if self._case_specs is None:
            from ..backends.served import with_base_urls
            from ..workload.run_case import case_model_specs

            s = self.settings
            cases = self.cases()
            base = [] if s.cases_backend and not s.models and any(c.model for c in cases) else self.specs()
            named = with_base_urls(case_model_specs(cases, base, s.cases_backend), s.base_url)
            taken = {spec.alias for spec in base}
            clash = next((spec.alias for spec in named if spec.alias in taken), None)
            if clash is not None:
                raise SlmEnergyError(f"a case's served model would be called {clash!r} like a selected model; "
                                     "select it under another alias (data/models.json)")
            self._case_specs = [*base, *named]
        return self._case_specs

    def queries(self) -> list[Query]:
        if self._queries is None:
            self._queries = load_queries(self.settings.queries, self.settings.answers)
        return self._queries

    def cases(self) -> list[Case]:
        if self._cases is None:
            s = self.settings
            self._cases = [resolve_case(case, s.temperature, s.top_p, s.seed) for case in load_cases(s.cases)]
        return self._cases

    def _parametrize_cases(self, metafunc: pytest.Metafunc) -> None:
        """(model, case) pairs: a case naming a model runs on that model only (see workload.run_case)."""
        params = [pytest.param(p.alias, p.case, id=p.id) for p in case_params(self.cases(), self.case_specs())]
        metafunc.parametrize(("slm_model", CASE_FIXTURE), params, indirect=["slm_model"], scope="session")

    def _parametrize_lm_eval(self, metafunc: pytest.Metafunc) -> None:
        """(model, lm-eval document) pairs; lm-eval is imported only when tasks are named (issue 22)."""
        if self._lm_eval_params is None:
            if not self.settings.lm_eval:
                self._lm_eval_params = [pytest.param(None, None, id="not-requested",
                                                     marks=[pytest.mark.skip(reason=LM_EVAL_NOT_REQUESTED)])]
            else:
                from .lm_eval_params import lm_eval_params

                self._lm_eval_params = lm_eval_params(self.settings, self.specs())
        metafunc.parametrize(("slm_model", LM_EVAL_FIXTURE), self._lm_eval_params, indirect=["slm_model"],
                             scope="session")

    @pytest.hookimpl
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        try:
            if LM_EVAL_FIXTURE in metafunc.fixturenames and "slm_model" in metafunc.fixturenames:
                self._parametrize_lm_eval(metafunc)
            elif CASE_FIXTURE in metafunc.fixturenames and "slm_model" in metafunc.fixturenames:
                self._parametrize_cases(metafunc)
            elif "slm_model" in metafunc.fixturenames:
                aliases = [spec.alias for spec in self.specs()]
                metafunc.parametrize("slm_model", aliases, indirect=True, scope="session", ids=aliases)
            if QUERY_FIXTURE in metafunc.fixturenames:
                queries = self.queries()
                metafunc.parametrize(QUERY_FIXTURE, queries, ids=[q.id for q in queries])
        except SlmEnergyError as exc:
            # Reported once, cleanly, when collection finishes (a raise here prints a traceback).
            if str(exc) not in self._errors:
                self._errors.append(str(exc))

    @pytest.hookimpl(trylast=True)   # after pytest's own fixture grouping, -k and --lf selection
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from .run_order import apply_order

        shuffle = self.settings.seed if self.settings.until == "decided" else None
        self._placements = apply_order(items, self.settings.order, shuffle)
        if not self._errors and any(spec.load_level > 1 for spec in self.specs()):
            from .load_plan import planned_asks, planned_chunks

            self.measurer.plans = planned_asks(items, self.specs(), self.settings)
            if self.settings.until == "decided":   # made lazily, a chunk at a time (roles/load_chunks.py)
                self.measurer.chunks = planned_chunks(items, self.specs(), self.settings)

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self._errors:
            raise pytest.UsageError(self._errors[0])
        measured = [item for item in session.items if _uses_slm(item)]
        self._index = {item.nodeid: i for i, item in enumerate(session.items)}
        if measured:
            try:
                storage.check_writable(self.settings.results_dir)
                if not session.config.option.collectonly:
                    preflight(self.measurer)   # meter and cache: one usage error, not one per test
            except SlmEnergyError as exc:
                raise pytest.UsageError(str(exc)) from None

    # -- setup and call -----------------------------------------------------------------------

    def model_fixture(self, alias: str) -> Iterator[OpenModel]:
        try:
            opened = self.measurer.held_model(self.spec(alias))
        except ModelUnavailable as exc:
            pytest.skip(f"{alias}: not available: {exc}")
        except ModelLoadFailed as exc:
            pytest.fail(f"{alias}: {exc}", pytrace=False)
        yield opened
        if self.settings.order == "grouped":
            self.measurer.release(alias)   # its block is over: give the memory back, as before

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        try:
            return (yield)
        finally:
            # A model loaded during this setup reports its load and idle figures on this test's reports.
            for event in self.measurer.take_pending_events():
                item.user_properties.append((EVENT_KEY, encode_event(event)))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        slm = getattr(item, "funcargs", {}).get("slm")
        if not isinstance(slm, SLM):
            return (yield)
        make_for_test = getattr(slm.model, "make_for_test", None)
        if make_for_test is not None:   # --energy-until decided at a load level: its chunk, outside the test's window
            make_for_test(item.nodeid)
        started_at, started = utc_now(), time.perf_counter()
        error: BaseException | None = None
        try:
            return (yield)
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(item, slm, error, started_at, time.perf_counter() - started)
            # A chunk of a load level made during this call re-sends its model's event (load_chunks.py).
            for event in self.measurer.take_pending_events():
                item.user_properties.append((EVENT_KEY, encode_event(event)))

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
            started_at=started_at, call_s=call_s, collection_index=self._index.get(item.nodeid, 0),
            order=self._placements.get(item.nodeid))
        item.user_properties.append((EVENT_KEY, encode_event(query_event(record, obs.samples))))
        if slm.benchmark is not None:
            slm.benchmark.extra_info.update(benchmark_extra_info(record))

    def close(self) -> None:
        """Called by the plugin's pytest_unconfigure: loaded models and the meter are released."""
        self.measurer.close()
