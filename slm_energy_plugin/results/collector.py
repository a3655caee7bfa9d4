"""Events from test reports -> one ModelRun per model (used by the collecting role and by recover).

Pure: it holds events in memory and builds records; the plugin
decides when to journal and write. The same builder rebuilds an interrupted run from
its journal (``slm-energy recover``), so both paths give identical files.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Mapping, cast

from ..energy.intensity import CarbonContext
from ..energy.reading import PowerBaseline
from .performance import model_performance
from ..results.events import Event, ModelEvent, RunEvent
from ..results.records import LoadRecord, ModelInfo, ModelRun, QueryRecord
from ..encodable import encodable_tree
from ..results.schema import (MEASURED_TEXT, OUT_OF_RANGE_FLAG, TEXT_REPLACED_FLAG, check_fields, finite_or_null,
                              out_of_range_replaced)
from ..safety import redact_argv, redact_tree

# Everything but the measured text (MEASURED_TEXT: errors, warnings, server and meter descriptions,
# settings) is redacted on the way in, so the journal, the model files, run.json and every reader
# of them (report, export, terminal) see no secret and no terminal control. Files written before
# this was done are redacted again where they are read (storage.load_model_file).


class RunCollector:
    def __init__(self, run_id: str, started_at: str, machine: Mapping[str, Any],
                 settings: Mapping[str, Any]) -> None:
        self.run_id = run_id
        self.started_at = started_at
        self.machine = dict(machine)
        self.settings: dict[str, Any] = redact_tree(dict(settings))
        self.model_events: dict[str, list[ModelEvent]] = {}
        self.records: dict[str, list[QueryRecord]] = {}
        self.order: list[str] = []   # aliases in the order they first reported
        self.warnings: dict[str, list[str]] = {}   # per alias: values changed on the way in
        self.skipped: list[str] = []                 # journal entries that could not be read

    def run_event(self) -> RunEvent:
        """The journal's first line: what a recovery needs to rebuild the run's metadata."""
        return {"kind": "run", "run_id": self.run_id, "started_at": self.started_at,
                "machine": self.machine, "settings": self.settings}

    @classmethod
    def from_journal(cls, events: Iterable[Mapping[str, Any]]) -> "RunCollector":
        events = list(events)
        head = next((e for e in events if e.get("kind") == "run"), {})
        collector = cls(run_id=str(head.get("run_id", "")), started_at=str(head.get("started_at", "")),
                        machine=_object(head.get("machine")), settings=_object(head.get("settings")))
        collector.ingest_all(events)
        return collector

    def manifest(self, runs: list[ModelRun], *, status: str, exit_status: int, wall_s: float,
                 args: list[str], gate: list[str]) -> dict[str, Any]:
        """``run.json``: what ran, how it ended, where, and the gate's verdict."""
        return {
            "run_id": self.run_id, "started_at": self.started_at, "finished_at": runs[0].finished_at if runs else "",
            "status": status, "exit_status": exit_status, "wall_s": wall_s,
            "models": [run.alias for run in runs], "settings": self.settings, "args": redact_argv(args),
            "machine": self.machine, "gate": gate,
        }

    def ingest(self, event: Event) -> Event:
        """Take one event; return it as it will be journaled (made writable: see :func:`writable_event`)."""
        cleaned, warnings = writable_event(event)
        return self._take(cast(Event, cleaned), warnings)   # the same keys, values made writable

    def _take(self, event: Event, warnings: list[str]) -> Event:
        alias = str(event["alias"])
        if warnings:
            self.warnings.setdefault(alias, []).extend(warnings)
        if alias not in self.order:
            self.order.append(alias)
        if event["kind"] == "model":
            self.model_events.setdefault(alias, []).append(event.copy())
        elif event["kind"] == "query":
            record = QueryRecord.from_dict(event["record"], model=alias, position=0)
            self.records.setdefault(alias, []).append(record)
        return event

    def ingest_all(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Journal entries; one that does not fit the field table is skipped and said in ``skipped``."""
        for number, event in enumerate(events, start=1):
            if event.get("kind") not in {"model", "query"}:
                continue
            # Made writable first: a line an older version journaled with a lone surrogate or a
            # server's 1e30 is kept, flagged, not dropped by the field table's check.
            cleaned, warnings = writable_event(event)
            problems = event_problems(cleaned)
            if problems:
                self.skipped.append(f"entry {number}: {problems[0]}")
                continue
            self._take(cast(Event, cleaned), warnings)   # a model or query entry the field table accepts

    @property
    def record_count(self) -> int:
        return sum(len(v) for v in self.records.values())

    def build_runs(self, status: str, finished_at: str) -> list[ModelRun]:
        runs = []
        for alias in self.order:
            events = self.model_events.get(alias, [])
            records = self.records.get(alias, [])
            if not events and not records:
                continue
            runs.append(self._build_run(alias, events, records, status, finished_at))
        return runs

    def _build_run(self, alias: str, events: list[ModelEvent], records: list[QueryRecord],
                   status: str, finished_at: str) -> ModelRun:
        # .get throughout: a journal an older version wrote may lack a part.
        first: Mapping[str, Any] = events[0] if events else {}
        info = ModelInfo.from_dict(first["info"]) if first.get("info") else ModelInfo(alias=alias, model_id=alias)
        # Order by collection position: a parallel run then lists records exactly as a serial one.
        ordered = sorted(records, key=lambda r: (int(r.extra.get("collection_index", 0)), r.query_id))
        numbered = tuple(replace(r, sequence=i) for i, r in enumerate(ordered, start=1))
        idle = next((e["idle"] for e in events if e.get("idle")), None)
        carbon = first.get("carbon")
        workers = sorted({str(e.get("worker", "main")) for e in events})
        return ModelRun(
            info=info,
            records=numbered,
            loads=tuple(LoadRecord.from_dict(e["load"]) for e in events if e.get("load")),
            carbon=CarbonContext.from_dict(carbon) if carbon else None,
            idle=PowerBaseline.from_dict(idle) if idle else None,
            meter=dict(first.get("meter") or {}),
            machine=self.machine,
            run_id=self.run_id,
            started_at=self.started_at,
            finished_at=finished_at,
            status=status,
            extra={"settings": self.settings, "workers": workers},
            performance=model_performance(_latest_performance(events, first), numbered),
            warnings=tuple(self.warnings.get(alias, ())),
        )


def _latest_performance(events: list[ModelEvent], first: Mapping[str, Any]) -> Any:
    """The model's performance block: the first event's, or the latest re-sent one's (an event with an
    empty ``load``: a load level made lazily under --energy-until decided re-sends it after each chunk)."""
    updates = [e for e in events if e.get("load") == {} and e.get("performance")]
    return updates[-1]["performance"] if updates else first.get("performance")


# Where each part of an event lands in a model file, so the file's field table checks it.
_EVENT_PARTS = {"record": "query_history[]", "info": "model_info", "load": "loads[]", "carbon": "carbon",
                "idle": "idle_power"}


def event_problems(event: Mapping[str, Any]) -> list[str]:
    """Why a journal entry cannot be used (checked against the results file's field table)."""
    if not isinstance(event.get("alias"), str) or not event["alias"]:
        return ["no model alias"]
    if event["kind"] == "query" and not isinstance(event.get("record"), dict):
        return ["a query entry without a record"]
    for key, part in _EVENT_PARTS.items():
        value = event.get(key)
        if value is not None and value != {}:
            problems = check_fields(value, part)
            if problems:
                return problems
    return []


def writable_event(event: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The event as every file can hold it, and a warning for each change.

    Text UTF-8 cannot encode (lone surrogates: a served answer's ``\\ud800``, a failure reason
    carrying ``chr(0xD800)``) is replaced by U+FFFD; NaN and infinities become null (JSON has
    none); a number outside its field's bounds in the field table becomes null (or 0 where the
    field may not be null). A changed query record says so in ``extra.flags``
    (:data:`TEXT_REPLACED_FLAG`, :data:`OUT_OF_RANGE_FLAG`): one bad value must never cost the run
    its files, nor sit in them as if measured. Secrets and terminal control in anything but the
    measured text are masked here too (see :mod:`..safety`), for live runs and ``recover`` alike.
    """
    cleaned, replaced = encodable_tree(dict(event))
    cleaned = redact_tree(cleaned, MEASURED_TEXT)
    cleaned, non_finite = finite_or_null(cleaned)
    event = dict(cleaned)
    out_of_range: list[str] = []
    for key, part in _EVENT_PARTS.items():
        if isinstance(event.get(key), dict):
            event[key], found = out_of_range_replaced(event[key], part)
            out_of_range.extend(f"{key}.{f}" for f in found)
    record = event.get("record")
    where = (record.get("query_id") if isinstance(record, dict) else None) or event.get("kind", "event")
    warnings = [f"{where}: {f}, stored as null" for f in non_finite]
    warnings += [f"{where}: {f} held text UTF-8 cannot encode (lone surrogates): replaced by U+FFFD "
                 f"({TEXT_REPLACED_FLAG})" for f in replaced]
    warnings += [f"{where}: {f} ({OUT_OF_RANGE_FLAG})" for f in out_of_range]
    flags = [flag for flag, hit in ((TEXT_REPLACED_FLAG, replaced), (OUT_OF_RANGE_FLAG, out_of_range)) if hit]
    if flags and isinstance(record, dict):
        extra = record.get("extra")
        extra = dict(extra) if isinstance(extra, dict) else {}
        old = extra.get("flags")
        extra["flags"] = list(dict.fromkeys([*(old if isinstance(old, list) else []), *flags]))
        event["record"] = {**record, "extra": extra}
    return event, warnings


def _object(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}
