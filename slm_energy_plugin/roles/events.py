"""Events: what the measuring role puts on test reports and the collecting role reads back.

Report properties cross xdist's wire (execnet) and land in junit XML: primitives only, so each
event travels as one JSON string under :data:`EVENT_KEY`, with a unique id so the copies that
ride on the setup, call and teardown reports are ingested once.
"""

from __future__ import annotations

import json
import uuid
from typing import cast

from ..results.events import Event

EVENT_KEY = "slm_energy.event"


def encode_event(event: Event) -> str:
    return json.dumps({"id": uuid.uuid4().hex, **event}, default=str)


def decode_event(text: str) -> Event:
    # Our own measuring role wrote it (encode_event); the collector makes it writable and bounds its
    # numbers by the field table before anything is journaled (results/collector.py).
    return cast(Event, json.loads(text))
