"""The one interface every energy meter implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from .reading import EnergyReading


class EnergyMeter(ABC):
    """Measures windows of time, one at a time: ``stop(start())`` is one window.

    Windows do not nest; the plugin opens exactly one per test call, per model load and
    for the idle baseline.
    """

    name: str = "meter"

    def warm_up(self) -> None:
        """Pay one-off costs (hardware detection) outside any measured window."""
        self.stop(self.start())

    @abstractmethod
    def start(self) -> Any:
        """Open a window; returns a handle for :meth:`stop`."""

    @abstractmethod
    def stop(self, handle: Any) -> EnergyReading:
        """Close the window opened by ``handle`` and return what it used."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Name, version, component methods and a sentence on what the figures are."""

    def close(self) -> None:
        """Release threads or files; the meter is not used afterwards."""
