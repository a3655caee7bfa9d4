"""Events: what the measuring role puts on test reports and the collecting role reads back.

Report properties cross xdist's wire (execnet) and land in junit XML: primitives only, so each
event travels as one JSON string under :data:`EVENT_KEY`, with a unique id so the copies that
ride on the setup, call and teardown reports are ingested once.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

EVENT_KEY = "slm_energy.event"


def encode_event(event: dict[str, Any]) -> str:
    return json.dumps({"id": uuid.uuid4().hex, **event}, default=str)


def decode_event(text: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(text)
    return event
