"""What one energy measurement produced, and how each figure was obtained.

Pure data: no pytest, no I/O. Every component figure carries a method label so a
reader can tell a hardware counter from an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Mapping
from .units import J_PER_KWH
from ..bulk import frozen_instance

COMPONENTS = ("cpu", "gpu", "ram")

# Labels whose figures come from an energy counter in hardware or firmware.
MEASURED_METHODS = frozenset({"rapl", "nvml", "amdsmi", "windows-emi", "pmic"})
# Labels that mean "no figure": the component is absent or the meter does not measure it.
NO_FIGURE_METHODS = frozenset({"absent", "not-measured"})


def is_measured(method: str) -> bool:
    # "prometheus:<counter>": a hardware counter read through an exporter on the serving host.
    return method in MEASURED_METHODS or method.startswith("prometheus:")


def provenance(methods: Mapping[str, str]) -> str:
    """Summarise component methods as 'measured', 'estimated', 'mixed' or 'none'."""
    # Every record of a run carries the same few labels: the answer is looked up, not recomputed
    # (it depends only on which labels occur, so the set of them is the key).
    return _provenance_of_labels(frozenset(methods.values()))


@lru_cache(maxsize=256)
def _provenance_of_labels(labels: frozenset[str]) -> str:
    relevant = [m for m in labels if m not in NO_FIGURE_METHODS]
    if not relevant:
        return "none"
    if all(is_measured(m) for m in relevant):
        return "measured"
    if not any(is_measured(m) for m in relevant):
        return "estimated"
    return "mixed"


def _total_kwh(cpu: float | None, gpu: float | None, ram: float | None) -> float | None:
    """The sum of the components that have a figure; None when none has.

    Spelled out rather than ``sum`` over a comprehension: it runs once per record read (10,000 per
    file), and the comprehension's call was most of its cost. Added from 0 in component order, as
    ``sum`` does, so every total is the same float."""
    if cpu is None and gpu is None and ram is None:
        return None
    total: float = 0
    if cpu is not None:
        total = total + cpu
    if gpu is not None:
        total = total + gpu
    if ram is not None:
        total = total + ram
    return total


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one measured window, per component, in kWh (None = no figure)."""

    duration_s: float
    cpu_kwh: float | None
    gpu_kwh: float | None
    ram_kwh: float | None
    methods: Mapping[str, str]
    meter: str
    # Problems the meter noticed (window shorter than its resolution, zero result...).
    warnings: tuple[str, ...] = field(default_factory=tuple)

    # Cached: plots, reports and statistics ask each record for these many times (the dataclass is
    # frozen, so the figures cannot change under the cache).
    @cached_property
    def total_kwh(self) -> float | None:
        return _total_kwh(self.cpu_kwh, self.gpu_kwh, self.ram_kwh)

    @cached_property
    def provenance(self) -> str:
        return provenance(self.methods)

    def component_kwh(self, component: str) -> float | None:
        return {"cpu": self.cpu_kwh, "gpu": self.gpu_kwh, "ram": self.ram_kwh}[component]

    def scaled(self, factor: float) -> "EnergyReading":
        """The same reading divided into equal parts (e.g. per round of N repeats)."""
        def scale(v: float | None) -> float | None:
            return None if v is None else v * factor
        return EnergyReading(
            duration_s=self.duration_s * factor,
            cpu_kwh=scale(self.cpu_kwh),
            gpu_kwh=scale(self.gpu_kwh),
            ram_kwh=scale(self.ram_kwh),
            methods=dict(self.methods),
            meter=self.meter,
            warnings=self.warnings,
        )

    @classmethod
    def combine(cls, readings: "list[EnergyReading]") -> "EnergyReading":
        """Several windows of one meter (e.g. two asks in one test) as one reading."""
        if len(readings) == 1:
            return readings[0]

        def total(component: str) -> float | None:
            values = [r.component_kwh(component) for r in readings]
            present = [v for v in values if v is not None]
            return sum(present) if present else None
        warnings = tuple(dict.fromkeys(w for r in readings for w in r.warnings))
        return cls(duration_s=sum(r.duration_s for r in readings), cpu_kwh=total("cpu"), gpu_kwh=total("gpu"),
                   ram_kwh=total("ram"), methods=dict(readings[0].methods), meter=readings[0].meter,
                   warnings=warnings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_kwh": self.total_kwh,
            "cpu_kwh": self.cpu_kwh,
            "gpu_kwh": self.gpu_kwh,
            "ram_kwh": self.ram_kwh,
            "window_s": self.duration_s,
            "methods": dict(self.methods),
            "provenance": self.provenance,
            "meter": self.meter,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, adopt: bool = False) -> "EnergyReading":
        """``adopt``: keep ``data``'s ``methods`` dict rather than a copy (validated data nothing
        else holds, see ``QueryRecord.from_dict``)."""
        get = data.get
        cpu, gpu, ram = get("cpu_kwh"), get("gpu_kwh"), get("ram_kwh")
        methods = get("methods", {})
        if not adopt:
            methods = dict(methods)
        # Without __init__ (see bulk.frozen_instance): a file of 10,000 queries holds 10,000 readings.
        return frozen_instance(cls, {
            "duration_s": float(data["window_s"]),
            "cpu_kwh": cpu,
            "gpu_kwh": gpu,
            "ram_kwh": ram,
            "methods": methods,
            "meter": str(get("meter", "unknown")),
            "warnings": tuple(get("warnings", ())),
            # The cached figures filled now, by their own functions: every reader asks for them, and
            # the cache's first look-up (a lock, in Python) cost more than the figures themselves.
            "total_kwh": _total_kwh(cpu, gpu, ram),
            "provenance": provenance(methods),
        })


@dataclass(frozen=True)
class PowerBaseline:
    """Idle power per component in watts, measured before the model answers anything."""

    cpu_w: float | None
    gpu_w: float | None
    ram_w: float | None
    window_s: float
    methods: Mapping[str, str]

    @classmethod
    def from_reading(cls, reading: EnergyReading) -> "PowerBaseline":
        def watts(kwh: float | None) -> float | None:
            if kwh is None or reading.duration_s <= 0:
                return None
            return kwh * J_PER_KWH / reading.duration_s
        return cls(watts(reading.cpu_kwh), watts(reading.gpu_kwh), watts(reading.ram_kwh),
                   reading.duration_s, dict(reading.methods))

    @property
    def total_w(self) -> float | None:
        parts = [v for v in (self.cpu_w, self.gpu_w, self.ram_w) if v is not None]
        return sum(parts) if parts else None

    def idle_kwh(self, seconds: float) -> float | None:
        total = self.total_w
        return None if total is None else total * seconds / J_PER_KWH

    def to_dict(self) -> dict[str, Any]:
        return {"cpu_w": self.cpu_w, "gpu_w": self.gpu_w, "ram_w": self.ram_w,
                "total_w": self.total_w, "window_s": self.window_s, "methods": dict(self.methods)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PowerBaseline":
        return cls(data.get("cpu_w"), data.get("gpu_w"), data.get("ram_w"),
                   float(data.get("window_s", 0.0)), dict(data.get("methods", {})))
