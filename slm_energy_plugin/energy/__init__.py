"""Energy meters behind one interface (see :mod:`.base`), found by entry point (see :mod:`.registry`)."""

from __future__ import annotations

from .base import EnergyMeter
from .reading import EnergyReading, PowerBaseline
from .registry import MeterRequest, build_meter, meter_names

__all__ = ["EnergyMeter", "EnergyReading", "MeterRequest", "PowerBaseline", "build_meter", "meter_names"]
