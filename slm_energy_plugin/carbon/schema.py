"""Validate raw configuration entries (already parsed YAML) into the formula dataclasses.

Pure: no I/O. Each raw field carries the file it came from, so an error names the file,
the key path and the bad value, e.g. ``my.yaml: hardware.a100.gpu_util.high: must be
between 0 and 1, got 1.5``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..errors import ConfigError
from .formulas import HARDWARE_QUANTITIES, Datacenter, Hardware, Region, Span, Workload

# A raw entry: field name -> (raw value, file it came from).
Fields = Mapping[str, tuple[Any, str]]

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$")
MAX_TOKENS = 10_000_000          # larger than any model's context window: absurd beyond this
MAX_COUNT = 10**15
MAX_BATCH = 4096


@dataclass(frozen=True)
class Bounds:
    minimum: float
    maximum: float
    exclusive_min: bool = False
    unit: str = ""

    def check(self, number: float) -> str | None:
        """The problem with ``number``, or None when it is in bounds."""
        low_ok = number > self.minimum if self.exclusive_min else number >= self.minimum
        if low_ok and number <= self.maximum:
            return None
        lower = f"greater than {self.minimum:g}" if self.exclusive_min else f"at least {self.minimum:g}"
        return f"must be {lower} and at most {self.maximum:g}{(' ' + self.unit) if self.unit else ''}"


BOUNDS: dict[str, Bounds] = {
    "gpu_power_w": Bounds(0, 5000, unit="W"),
    "gpu_util": Bounds(0, 1),
    "cpu_power_w": Bounds(0, 5000, unit="W"),
    "cpu_util": Bounds(0, 1),
    "ram_power_w": Bounds(0, 5000, unit="W"),
    "prefill_tokens_per_s": Bounds(0, 1e7, exclusive_min=True, unit="tokens/s"),
    "decode_tokens_per_s": Bounds(0, 1e6, exclusive_min=True, unit="tokens/s"),
    "pue": Bounds(1, 5),
    "wue_l_per_kwh": Bounds(0, 20, unit="L/kWh"),
    "intensity_g_per_kwh": Bounds(0, 2000, unit="g CO2e/kWh"),
    "tokens_in": Bounds(0, MAX_TOKENS, unit="tokens"),
    "tokens_out": Bounds(0, MAX_TOKENS, unit="tokens"),
}

SPAN_KEYS = ("value", "low", "high", "source")


def fail(origin: str, where: str, problem: str, value: Any = ...) -> ConfigError:
    got = "" if value is ... else f", got {_short(value)}"
    return ConfigError(f"{origin}: {where}: {problem}{got}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(value: Any, origin: str, where: str, bounds: Bounds) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise fail(origin, where, "must be a number", value)
    problem = bounds.check(float(value))
    if problem:
        raise fail(origin, where, problem, value)
    return float(value)


def integer(value: Any, origin: str, where: str, minimum: int, maximum: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise fail(origin, where, "must be a whole number", value)
    if not minimum <= value <= maximum:
        raise fail(origin, where, f"must be between {minimum} and {maximum}", value)
    return value


def text(value: Any, origin: str, where: str, max_len: int = 500) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise fail(origin, where, f"must be text of at most {max_len} characters", value)
    return value


def span(value: Any, origin: str, where: str, name: str, default_source: str) -> Span:
    """A number, or a mapping {value, low?, high?, source?}; low/high default to value."""
    bounds = BOUNDS[name]
    if _is_number(value):
        return Span.point(number(value, origin, where, bounds), default_source)
    if not isinstance(value, Mapping):
        raise fail(origin, where, "must be a number or a mapping with value, low, high, source", value)
    unknown = sorted(str(k) for k in value if k not in SPAN_KEYS)
    if unknown:
        raise fail(origin, f"{where}.{unknown[0]}", f"unknown key (expected one of {', '.join(SPAN_KEYS)})")
    if "value" not in value:
        raise fail(origin, where, "missing key 'value'")
    point = number(value["value"], origin, f"{where}.value", bounds)
    low = number(value.get("low", point), origin, f"{where}.low", bounds)
    high = number(value.get("high", point), origin, f"{where}.high", bounds)
    if not low <= point <= high:
        raise fail(origin, where, f"needs low <= value <= high (low={low:g}, value={point:g}, high={high:g})")
    source = text(value.get("source", default_source), origin, f"{where}.source")
    return Span(point, low, high, source)


def check_key(key: Any, origin: str, where: str) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise fail(origin, where, "names must be 1-64 letters, digits or . _ : + - "
                   "(starting with a letter or digit)", key)
    return key.lower()


def _check_fields(section: str, key: str, fields: Fields, allowed: tuple[str, ...]) -> None:
    for name, (_, origin) in fields.items():
        if name not in allowed:
            raise fail(origin, f"{section}.{key}.{name}", f"unknown key (expected one of {', '.join(allowed)})")


def _require(section: str, key: str, fields: Fields, name: str, origin: str) -> tuple[Any, str]:
    if name not in fields:
        raise fail(origin, f"{section}.{key}", f"missing key {name!r}")
    return fields[name]


HARDWARE_KEYS = ("name", "notes", "source", "gpu_count", "datacenter", "base", *HARDWARE_QUANTITIES)
DATACENTER_KEYS = ("name", "pue", "wue_l_per_kwh", "source", "base")
PROFILE_KEYS = ("description", "tokens_in", "tokens_out", "count", "batch_size", "base")
REGION_KEYS = ("name", "country", "cloud", "world", "intensity_g_per_kwh", "source", "year", "datacenter")


def _source_default(fields: Fields, where: str) -> str:
    if "source" in fields:
        raw, origin = fields["source"]
        return text(raw, origin, f"{where}.source")
    return "assumed"


def build_hardware(key: str, fields: Fields, origin: str) -> Hardware:
    """``origin`` is the file that defines the entry (fields may come from a ``base``)."""
    _check_fields("hardware", key, fields, HARDWARE_KEYS)
    where = f"hardware.{key}"
    default_source = _source_default(fields, where)
    quantities = {}
    for name in HARDWARE_QUANTITIES:
        raw, field_origin = _require("hardware", key, fields, name, origin)
        quantities[name] = span(raw, field_origin, f"{where}.{name}", name, default_source)
    count_raw, count_origin = fields.get("gpu_count", (1, ""))
    name_raw, name_origin = fields.get("name", (key, ""))
    notes_raw, notes_origin = fields.get("notes", ("", ""))
    dc_raw, dc_origin = fields.get("datacenter", (None, ""))
    return Hardware(
        datacenter=None if dc_raw is None else check_key(dc_raw, dc_origin, f"{where}.datacenter"),
        key=key, name=text(name_raw, name_origin, f"{where}.name"),
        gpu_count=integer(count_raw, count_origin, f"{where}.gpu_count", 0, 1024),
        notes=text(notes_raw, notes_origin, f"{where}.notes", 2000), **quantities,
    )


def build_datacenter(key: str, fields: Fields, origin: str) -> Datacenter:
    _check_fields("datacenters", key, fields, DATACENTER_KEYS)
    where = f"datacenters.{key}"
    default_source = _source_default(fields, where)
    pue_raw, pue_origin = _require("datacenters", key, fields, "pue", origin)
    wue = None
    if "wue_l_per_kwh" in fields and fields["wue_l_per_kwh"][0] is not None:
        raw, wue_origin = fields["wue_l_per_kwh"]
        wue = span(raw, wue_origin, f"{where}.wue_l_per_kwh", "wue_l_per_kwh", default_source)
    name_raw, name_origin = fields.get("name", (key, ""))
    return Datacenter(key=key, name=text(name_raw, name_origin, f"{where}.name"),
                      pue=span(pue_raw, pue_origin, f"{where}.pue", "pue", default_source),
                      wue_l_per_kwh=wue, source=default_source)


def build_profile(key: str, fields: Fields, origin: str) -> Workload:
    _check_fields("profiles", key, fields, PROFILE_KEYS)
    where = f"profiles.{key}"
    tokens = {}
    for name in ("tokens_in", "tokens_out"):
        raw, field_origin = _require("profiles", key, fields, name, origin)
        tokens[name] = span(raw, field_origin, f"{where}.{name}", name, "assumed")
    count_raw, count_origin = fields.get("count", (1, ""))
    batch_raw, batch_origin = fields.get("batch_size", (1, ""))
    desc_raw, desc_origin = fields.get("description", ("", ""))
    return Workload(
        tokens_in=tokens["tokens_in"], tokens_out=tokens["tokens_out"],
        count=integer(count_raw, count_origin, f"{where}.count", 1, MAX_COUNT),
        batch_size=integer(batch_raw, batch_origin, f"{where}.batch_size", 1, MAX_BATCH),
        profile=key, description=text(desc_raw, desc_origin, f"{where}.description", 2000),
    )


# How a region entry that points at shipped data is resolved: (kind, argument) -> Region.
RegionResolver = Callable[[str, str, str], Region]


def build_region(key: str, fields: Fields, origin: str, resolve: RegionResolver) -> Region:
    """A region is one of: ``country: ISO3``, ``cloud: provider:region``, ``world: true``
    (all resolved from CodeCarbon's data), or an explicit ``intensity_g_per_kwh`` with source."""
    _check_fields("regions", key, fields, REGION_KEYS)
    where = f"regions.{key}"
    kinds = [k for k in ("country", "cloud", "world", "intensity_g_per_kwh") if k in fields]
    if len(kinds) != 1:
        raise fail(origin, where, "needs exactly one of country, cloud, world or intensity_g_per_kwh",
                   kinds or None)
    kind = kinds[0]
    raw, kind_origin = fields[kind]
    name_raw, name_origin = fields.get("name", (None, ""))
    name = None if name_raw is None else text(name_raw, name_origin, f"{where}.name")
    dc_raw, dc_origin = fields.get("datacenter", (None, ""))
    datacenter = None if dc_raw is None else check_key(dc_raw, dc_origin, f"{where}.datacenter")
    if kind == "intensity_g_per_kwh":
        source = _source_default(fields, where)
        if source == "assumed" and "source" not in fields:
            raise fail(kind_origin, where, "an explicit intensity needs a 'source' (say 'assumed' if it is)")
        year_raw, year_origin = fields.get("year", (None, ""))
        year = None if year_raw is None else integer(year_raw, year_origin, f"{where}.year", 1900, 2100)
        intensity = span(raw, kind_origin, f"{where}.intensity_g_per_kwh", "intensity_g_per_kwh", source)
        return Region(key=key, name=name or key, intensity_g_per_kwh=intensity, source=source, year=year,
                      datacenter=datacenter)
    if kind == "world":
        if raw is not True:
            raise fail(kind_origin, f"{where}.world", "must be true", raw)
        argument = "world"
    else:
        argument = text(raw, kind_origin, f"{where}.{kind}", 100)
    try:
        region = resolve(kind, argument, key)
    except ConfigError as exc:
        raise fail(kind_origin, f"{where}.{kind}", str(exc)) from None
    return Region(region.key, name or region.name, region.intensity_g_per_kwh, region.source, region.year,
                  region.iso_code, datacenter)
