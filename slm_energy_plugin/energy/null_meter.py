"""A meter that measures nothing but time: for runs that only want latency and tokens."""

from __future__ import annotations

import time
from typing import Any

from .base import EnergyMeter
from .reading import EnergyReading
from .registry import MeterRequest

NOT_MEASURED = {"cpu": "not-measured", "gpu": "not-measured", "ram": "not-measured"}


class NullMeter(EnergyMeter):
    name = "null"

    def warm_up(self) -> None:
        pass

    def start(self) -> float:
        return time.perf_counter()

    def stop(self, handle: float) -> EnergyReading:
        return EnergyReading(duration_s=time.perf_counter() - handle, cpu_kwh=None, gpu_kwh=None, ram_kwh=None,
                             methods=dict(NOT_MEASURED), meter=self.name)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": None, "methods": dict(NOT_MEASURED), "provenance": "none",
                "description": "no energy measured (--energy-meter null): time and tokens only"}


def make_meter(request: MeterRequest) -> NullMeter:
    """Entry point of the ``slm_energy.meters`` group."""
    return NullMeter()

