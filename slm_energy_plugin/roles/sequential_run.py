"""Sequential verdicts in a session (``--energy-until decided``): look after each query block, stop
measuring once every pair of models is decided. Runs beside the collecting role (controller or
plain run only; the plugin refuses xdist for it).

Why ``pytest_runtest_protocol`` and not ``session.shouldstop``: ``shouldstop`` ends the whole
session, so tests that are not model x query tests (and anything after them) would not run and
pytest would say "Interrupted". Here the protocol of each remaining model x query item is taken
over (returning True, as xdist does for items it sends elsewhere) without running it, and the
items are announced once through ``pytest_deselected``: pytest's own line then reads
"N passed, M deselected", never skipped or failed, and other tests still run.

The decision is made between blocks: when the first item of a new block is about to run, the
blocks before it are complete; their records (already rebuilt by the collecting role from the
reports) are looked at in order. The stopping rule only reads values measured before it.
"""

from __future__ import annotations

import math
from typing import Any, Hashable

import pytest

from ..energy.units import J_PER_KWH
from ..results.records import COUNTED_OUTCOMES, QueryRecord
from ..settings import Settings
from ..results.metrics import METRICS
from ..stats.sequential import FUTILE_REASON, MAX_REACHED, NO_VALUES, RAN_OUT, Monitor
from .collecting import CollectingRole
from .run_order import order_key


class SequentialRole:
    """Builds the blocks from the collected items, looks after each, and deselects what is left."""

    def __init__(self, settings: Settings, config: pytest.Config, collecting: CollectingRole) -> None:
        self.settings = settings
        self.config = config
        self.collecting = collecting
        self.block_of: dict[str, int] = {}           # node id -> block number, in run order
        self.model_of: dict[str, str] = {}           # node id -> the model it runs
        self.models_done: dict[str, int] = {}        # model -> the block it stopped before (all its pairs decided)
        self.block_items: list[list[str]] = []       # block number -> its node ids
        self.monitor: Monitor | None = None
        self.next_look = 0                           # the first block not looked at yet
        self.deselected: set[str] = set()
        self.stopped_before: int | None = None       # the block the session stopped before
        self.stop_reason: str | None = None
        # Load levels: a model at level N makes its answers N query blocks at a time (load_chunks.py), so
        # decisions stop models only every `stride` blocks, where every level's chunk ends.
        self.stride = math.lcm(*settings.batch_size, *settings.concurrency)

    # -- collection ---------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        keys: dict[Hashable, int] = {}
        models: list[str] = []
        for item in session.items:
            key = order_key(item)
            if key.model is None or item.get_closest_marker("skip") is not None:
                continue
            block = keys.setdefault(key.block, len(keys))
            if block == len(self.block_items):
                self.block_items.append([])
            self.block_items[block].append(item.nodeid)
            self.block_of[item.nodeid] = block
            self.model_of[item.nodeid] = key.model
            if key.model not in models:
                models.append(key.model)
        planned = len(self.block_items) if self.settings.max_queries is None \
            else min(len(self.block_items), self.settings.max_queries)
        self.monitor = Monitor(models, self.settings.metrics, self.settings.alpha, self.settings.equivalence,
                               planned_queries=planned, futility=self.settings.futility)

    # -- running ------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        if item.nodeid in self.deselected:
            return True
        block = self.block_of.get(item.nodeid)
        if block is None or block < self.next_look or self.stopped_before is not None:
            return None
        self._look_until(block)
        reason = self._stop_reason(block)
        if reason is not None:
            self._deselect_from(item, block, reason)
            return True
        self._stop_decided_models(item, block)
        return True if item.nodeid in self.deselected else None

    def _look_until(self, block: int) -> None:
        """Look at every complete block before ``block``, in order."""
        assert self.monitor is not None
        while self.next_look < block and not (self.monitor.decided and self.next_look % self.stride == 0):
            self.monitor.look(self._block_values(self.next_look), self._answered(self.next_look))
            self.next_look += 1

    def _stop_reason(self, block: int) -> str | None:
        assert self.monitor is not None
        if self.monitor.decided and block % self.stride == 0:
            # Futile pairs and pairs without values end undecided: the stop line says so rather than "decided".
            reasons = {state.reason for state in self.monitor.states}
            return "verdicts decided" + "".join(f" or {reason}" for reason in (FUTILE_REASON, NO_VALUES)
                                                if reason in reasons)
        limit = self.settings.max_queries
        if limit is not None and block >= limit:
            return f"--energy-max-queries {limit} reached"
        return None

    def _deselect_from(self, item: pytest.Item, block: int, reason: str, models: set[str] | None = None) -> None:
        """Deselect the model x query items from ``item`` on (of ``models`` only, when given)."""
        session = item.session
        start = session.items.index(item)
        left = [other for other in session.items[start:] if other.nodeid in self.block_of
                and other.nodeid not in self.deselected
                and (models is None or self.model_of[other.nodeid] in models)]
        self.deselected.update(other.nodeid for other in left)
        if models is None:
            self.stopped_before, self.stop_reason = block, reason
        if left:
            self.config.hook.pytest_deselected(items=left)

    def _stop_decided_models(self, item: pytest.Item, block: int) -> None:
        """A model whose every pair is decided stops here; the others go on among themselves."""
        assert self.monitor is not None
        newly = self.monitor.done_models() - set(self.models_done)
        if newly and block % self.stride == 0:   # its answers up to here were made in one chunk
            self.models_done.update(dict.fromkeys(newly, block))
            self._deselect_from(item, block, "its pairs decided, futile or without values", newly)

    def _records(self) -> dict[str, list[QueryRecord]]:
        return {alias: list(records) for alias, records in self.collecting.collector.records.items()}

    def _block_values(self, block: int) -> dict[str, dict[str, float]]:
        """metric -> model -> the block's value (averaged when a model has several in one block)."""
        wanted = set(self.block_items[block])
        found: dict[str, dict[str, list[float]]] = {}
        for alias, records in self._records().items():
            for record in records:
                if record.test_id not in wanted or record.outcome not in COUNTED_OUTCOMES:
                    continue
                for name in self.settings.metrics:
                    value = METRICS[name].extract(record)
                    if value is not None and math.isfinite(value):
                        found.setdefault(name, {}).setdefault(alias, []).append(float(value))
        return {name: {alias: sum(vs) / len(vs) for alias, vs in per.items()} for name, per in found.items()}

    def _answered(self, block: int) -> dict[str, bool]:
        """model -> whether any of its queries in the block had a counted outcome (absent: it did not run)."""
        wanted = set(self.block_items[block])
        answered: dict[str, bool] = {}
        for alias, records in self._records().items():
            for record in records:
                if record.test_id in wanted:
                    answered[alias] = answered.get(alias, False) or record.outcome in COUNTED_OUTCOMES
        return answered

    @pytest.hookimpl(tryfirst=True)   # before the collecting role writes run.json (it runs last)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.monitor is None:
            return
        if self.stopped_before is None:   # ran to the end of the queries (or was interrupted)
            self._look_until(len(self.block_items))
        capped = self.stop_reason is not None and self.stop_reason.startswith("--energy-max-queries")
        self.monitor.finish(MAX_REACHED if capped else RAN_OUT)

    # -- what it cost, for run.json and the summary ------------------------------------------

    def _energy_j(self, blocks: int, aliases: set[str] | None = None) -> float | None:
        """Measured query energy (J) of the first ``blocks`` blocks, for ``aliases`` (None: all)."""
        total, seen = 0.0, False
        for alias, records in self._records().items():
            if aliases is not None and alias not in aliases:
                continue
            for record in records:
                block = self.block_of.get(record.test_id)
                if block is None or block >= blocks or record.energy_kwh is None:
                    continue
                total, seen = total + record.energy_kwh * J_PER_KWH, True
        return total if seen else None

    def to_dict(self) -> dict[str, Any]:
        assert self.monitor is not None
        looked = self.monitor.looks
        data = self.monitor.to_dict()
        for entry, state in zip(data["pairs"], self.monitor.states):   # type: ignore[call-overload]
            entry["energy_j"] = self._energy_j(state.after_queries or 0, {state.first, state.second})
        data.update(
            queries_planned=len(self.block_items), queries_run=looked,
            max_queries=self.settings.max_queries, seed=self.settings.seed,
            tests_deselected=len(self.deselected), stop_reason=self.stop_reason or "queries ran out",
            models_stopped={model: block for model, block in self.models_done.items()},
            energy_j=self._energy_j(looked), energy_j_all_models_per_query=self._per_query_energy(looked))
        from .sequential_load import load_fields   # load levels: stops at chunk ends, answers no test took

        data.update(load_fields(self.stride, self.monitor, self._records(), self.block_of,
                                self.collecting.collector.model_events))
        return data

    def _per_query_energy(self, looked: int) -> float | None:
        energy = self._energy_j(looked)
        return None if energy is None or looked == 0 else energy / looked

