"""What the measurer hands the ``slm_model`` fixture: a model opened in this process.

A leaf of the roles room, so the in-process and served paths can both build one without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..results.events import ModelEvent

WARMUP_PROMPT = "Warm-up: what is 1 + 1?"


@dataclass
class OpenModel:
    loaded: Any                  # a LoadedModel, or a served backend with the same interface
    event: ModelEvent            # the "model" event (info, load, idle, meter, carbon)
    meter: Any = None            # this model's meter when not the process's (a remote server: time only)
