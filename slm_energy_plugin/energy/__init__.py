"""Energy meters behind one interface (see :mod:`.base`)."""

from __future__ import annotations

from .base import EnergyMeter
from .reading import EnergyReading, PowerBaseline


def build_meter(name: str, country_iso_code: str) -> EnergyMeter:
    """The meter chosen with ``--energy-meter``; heavy imports happen only for the one chosen."""
    if name == "codecarbon":
        from .codecarbon_meter import CodeCarbonMeter

        return CodeCarbonMeter(country_iso_code)
    if name == "rapl":
        from .rapl import RaplMeter

        return RaplMeter()
    if name == "null":
        from .null_meter import NullMeter

        return NullMeter()
    raise ValueError(f"unknown meter {name!r}")


__all__ = ["EnergyMeter", "EnergyReading", "PowerBaseline", "build_meter"]
