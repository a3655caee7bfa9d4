"""The footprint of LLM requests from physics: time, energy, carbon and water, with ranges.

Pure: no I/O, no pytest. The model of one request:

    time (s)      = input tokens / prefill throughput + output tokens / decode throughput
    power (W)     = GPU power x GPUs x GPU utilisation + CPU power x CPU utilisation + RAM power
    energy (kWh)  = power x time x PUE / 3.6e6 / batch size
    carbon (g)    = energy x grid intensity (g CO2e/kWh)
    water (L)     = IT energy (energy / PUE) x WUE (L/kWh), when a WUE is known

Every input is a :class:`Span` (value, low, high). Each output is monotone in each input,
so evaluating the formulas at the all-low and all-high corners gives the exact lowest and
highest outputs the input ranges allow. That is a *range* (interval bounds), not a
confidence interval: nothing here is a probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..energy.units import J_PER_KWH

RANGE_NOTE = ("low/high are the lowest and highest values the input ranges allow "
              "(interval bounds), not a confidence interval")


@dataclass(frozen=True)
class Span:
    """A quantity with its plausible range and where the figure comes from."""

    value: float
    low: float
    high: float
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("value", "low", "high"):
            number = getattr(self, name)
            if not isinstance(number, (int, float)) or isinstance(number, bool) or not math.isfinite(number):
                raise ConfigError(f"{name} must be a finite number, got {number!r}")
        if not self.low <= self.value <= self.high:
            raise ConfigError(f"range must satisfy low <= value <= high, got low={self.low!r}, "
                              f"value={self.value!r}, high={self.high!r}")

    @classmethod
    def point(cls, value: float, source: str = "") -> "Span":
        return cls(value, value, value, source)

    @property
    def is_point(self) -> bool:
        return self.low == self.high

    def scaled(self, factor: float) -> "Span":
        """This span times a non-negative factor (e.g. a request count)."""
        return Span(self.value * factor, self.low * factor, self.high * factor, self.source)

    def __add__(self, other: "Span") -> "Span":
        # Bounds of a sum of monotone quantities are the sums of the bounds.
        return Span(self.value + other.value, self.low + other.low, self.high + other.high, self.source)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value, "low": self.low, "high": self.high}
        if self.source:
            data["source"] = self.source
        return data


@dataclass(frozen=True)
class Hardware:
    """A serving machine: power draw and per-stream throughputs for a given model class."""

    key: str
    name: str
    gpu_power_w: Span           # per GPU at full load
    gpu_util: Span              # 0..1, average over a request
    cpu_power_w: Span
    cpu_util: Span
    ram_power_w: Span
    prefill_tokens_per_s: Span  # input tokens processed per second (per stream)
    decode_tokens_per_s: Span   # output tokens generated per second (per stream)
    gpu_count: int = 1
    notes: str = ""
    datacenter: str | None = None   # the facility this machine usually sits in (a datacenter key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "gpu_count": self.gpu_count, "notes": self.notes,
            "datacenter": self.datacenter,
            **{name: getattr(self, name).to_dict() for name in HARDWARE_QUANTITIES},
        }


HARDWARE_QUANTITIES = ("gpu_power_w", "gpu_util", "cpu_power_w", "cpu_util", "ram_power_w",
                       "prefill_tokens_per_s", "decode_tokens_per_s")


@dataclass(frozen=True)
class Region:
    """An electricity grid: its carbon intensity and where the figure comes from."""

    key: str
    name: str
    intensity_g_per_kwh: Span
    source: str
    year: int | None = None
    iso_code: str | None = None
    datacenter: str | None = None   # a facility that comes with this grid's figure (the seed's regions carry a PUE)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "intensity_g_per_kwh": self.intensity_g_per_kwh.to_dict(),
                "source": self.source, "year": self.year, "iso_code": self.iso_code, "datacenter": self.datacenter}


@dataclass(frozen=True)
class Datacenter:
    """Facility overheads: PUE (facility energy / IT energy) and WUE (litres / IT kWh)."""

    key: str
    name: str
    pue: Span
    wue_l_per_kwh: Span | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "pue": self.pue.to_dict(),
                "wue_l_per_kwh": None if self.wue_l_per_kwh is None else self.wue_l_per_kwh.to_dict(),
                "source": self.source}


@dataclass(frozen=True)
class Workload:
    """What is asked: tokens per request (with ranges), how many requests, batch size."""

    tokens_in: Span
    tokens_out: Span
    count: int = 1
    batch_size: int = 1
    profile: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"tokens_in": self.tokens_in.to_dict(), "tokens_out": self.tokens_out.to_dict(),
                "count": self.count, "batch_size": self.batch_size, "profile": self.profile,
                "description": self.description}


# ---------------------------------------------------------------------------------------------
# The formulas, on plain numbers.

def request_time_s(tokens_in: float, tokens_out: float, prefill_tps: float, decode_tps: float) -> float:
    """Seconds for one request: prefill of the input plus token-by-token decoding of the output."""
    return tokens_in / prefill_tps + tokens_out / decode_tps


def it_power_w(gpu_power_w: float, gpu_util: float, cpu_power_w: float, cpu_util: float,
               ram_power_w: float, gpu_count: int = 1) -> float:
    """Average electrical power of the IT equipment while serving (W)."""
    return gpu_power_w * gpu_count * gpu_util + cpu_power_w * cpu_util + ram_power_w


def energy_kwh(power_w: float, time_s: float, pue: float, batch_size: int = 1) -> float:
    """Facility energy of one request; a batch of B concurrent requests shares the machine."""
    return power_w * time_s * pue / J_PER_KWH / batch_size


def carbon_g(energy_kwh_: float, intensity_g_per_kwh: float) -> float:
    return energy_kwh_ * intensity_g_per_kwh


def water_l(energy_kwh_: float, pue: float, wue_l_per_kwh: float) -> float:
    """On-site cooling water: WUE is defined per kWh of IT energy, so PUE is taken out first."""
    return energy_kwh_ / pue * wue_l_per_kwh


# ---------------------------------------------------------------------------------------------
# The estimate, with ranges.

@dataclass(frozen=True)
class Estimate:
    workload: Workload
    hardware: Hardware
    region: Region
    datacenter: Datacenter
    time_s: Span            # wall time of one request
    power_w: Span           # IT power while serving
    energy_kwh: Span        # per request, facility energy (PUE included)
    carbon_g: Span          # per request
    water_l: Span | None    # per request, None when no WUE is known
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def count(self) -> int:
        return self.workload.count

    def total(self, name: str) -> Span | None:
        """Totals over ``count`` requests; 'time_s' becomes machine-occupancy time."""
        if name == "time_s":
            return self.time_s.scaled(self.count / self.workload.batch_size)
        span = getattr(self, name)
        return None if span is None else span.scaled(self.count)

    def to_dict(self) -> dict[str, Any]:
        def spans(names: tuple[str, ...], total: bool) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name in names:
                span = self.total(name) if total else getattr(self, name)
                out[name] = None if span is None else span.to_dict()
            return out
        names = ("time_s", "energy_kwh", "carbon_g", "water_l")
        return {
            "per_request": {**spans(names, total=False), "power_w": self.power_w.to_dict()},
            "total": {**spans(names, total=True), "count": self.count,
                      "time_s_meaning": "machine occupancy: per-request time x count / batch size"},
            "range_note": RANGE_NOTE,
            "workload": self.workload.to_dict(),
            "hardware": self.hardware.to_dict(),
            "region": self.region.to_dict(),
            "datacenter": self.datacenter.to_dict(),
            "method": METHOD,
            "notes": list(self.notes),
        }


METHOD = {
    "time_s": "tokens_in / prefill_tokens_per_s + tokens_out / decode_tokens_per_s",
    "power_w": "gpu_power_w x gpu_count x gpu_util + cpu_power_w x cpu_util + ram_power_w",
    "energy_kwh": "power_w x time_s x pue / 3.6e6 / batch_size",
    "carbon_g": "energy_kwh x intensity_g_per_kwh",
    "water_l": "energy_kwh / pue x wue_l_per_kwh",
}


def _corner(workload: Workload, hw: Hardware, region: Region, dc: Datacenter, which: str) -> dict[str, float | None]:
    """Evaluate every formula with each input at one end of its range.

    Outputs grow with tokens, power, utilisation, PUE, intensity and WUE and shrink with
    throughput, so the 'high' corner takes throughputs at their low end and vice versa.
    """
    up = {"low": "low", "value": "value", "high": "high"}[which]
    down = {"low": "high", "value": "value", "high": "low"}[which]

    def g(span: Span, side: str) -> float:
        return float(getattr(span, side))

    time = request_time_s(g(workload.tokens_in, up), g(workload.tokens_out, up),
                          g(hw.prefill_tokens_per_s, down), g(hw.decode_tokens_per_s, down))
    power = it_power_w(g(hw.gpu_power_w, up), g(hw.gpu_util, up), g(hw.cpu_power_w, up),
                       g(hw.cpu_util, up), g(hw.ram_power_w, up), hw.gpu_count)
    pue = g(dc.pue, up)
    energy = energy_kwh(power, time, pue, workload.batch_size)
    carbon = carbon_g(energy, g(region.intensity_g_per_kwh, up))
    water = None if dc.wue_l_per_kwh is None else water_l(energy, pue, g(dc.wue_l_per_kwh, up))
    return {"time_s": time, "power_w": power, "energy_kwh": energy, "carbon_g": carbon, "water_l": water}


def estimate(workload: Workload, hardware: Hardware, region: Region, datacenter: Datacenter,
             notes: tuple[str, ...] = ()) -> Estimate:
    """Per-request time, power, energy, carbon and water, each as value with low/high range."""
    if hardware.prefill_tokens_per_s.low <= 0 or hardware.decode_tokens_per_s.low <= 0:
        raise ConfigError(f"hardware {hardware.key!r}: throughputs must be > 0 tokens/s")
    if workload.batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {workload.batch_size!r}")
    corners = {which: _corner(workload, hardware, region, datacenter, which) for which in ("low", "value", "high")}

    def span(name: str) -> Span:
        return Span(corners["value"][name], corners["low"][name], corners["high"][name], "computed")  # type: ignore[arg-type]

    return Estimate(
        workload=workload, hardware=hardware, region=region, datacenter=datacenter,
        time_s=span("time_s"), power_w=span("power_w"), energy_kwh=span("energy_kwh"),
        carbon_g=span("carbon_g"),
        water_l=None if datacenter.wue_l_per_kwh is None else span("water_l"),
        notes=tuple(notes),
    )

