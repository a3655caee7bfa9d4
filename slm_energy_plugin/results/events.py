"""The events that cross from the measuring role to the collecting role, and lines of the run's journal.

The measuring role (roles/measurer.py, roles/serving.py) builds them; they travel as JSON on test
reports (roles/events.py) and the collector (results/collector.py) turns them into records. Typed
here, in the data layer, so both sides name the same keys. Their parts are the records' own
``to_dict`` forms (checked against the results file's field table on the way in), kept as plain
dicts: JSON is what crosses xdist's wire and what the journal holds, and its bytes must not change.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from typing_extensions import NotRequired, TypedDict   # NotRequired keys before Python 3.11


class ModelEvent(TypedDict):
    """A model opened in one process: its load, and what ran and measured it."""

    kind: Literal["model"]
    alias: str
    worker: str                         # "main", or the xdist worker's id
    info: dict[str, Any]                # ModelInfo.to_dict()
    load: dict[str, Any]                # LoadRecord.to_dict(): the load's time, energy and memory
    idle: dict[str, Any] | None         # PowerBaseline.to_dict(); None: not measured or not this machine's
    meter: dict[str, Any]               # the meter's describe(), for a served model with its energy scope
    carbon: dict[str, Any]              # CarbonContext.to_dict()
    performance: dict[str, Any]         # device, memory and bandwidth (in-process) or the server's URL
    id: NotRequired[str]                # set by encode_event: the copies on setup/call/teardown reports are one


class QueryEvent(TypedDict):
    """One test's measurement of one model."""

    kind: Literal["query"]
    alias: str
    record: dict[str, Any]              # QueryRecord.to_dict()
    timeline: NotRequired[list[list[Any]]]   # utilisation rows (perf/sampler.py), when sampling is on
    id: NotRequired[str]


class RunEvent(TypedDict):
    """The journal's first line: what a recovery needs to rebuild the run's metadata."""

    kind: Literal["run"]
    run_id: str
    started_at: str
    machine: dict[str, Any]
    settings: dict[str, Any]


# What a test report carries and the collector ingests.
Event = Union[ModelEvent, QueryEvent]
