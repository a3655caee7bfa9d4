"""Meters are found by name through the ``slm_energy.meters`` entry-point group.

A meter package registers ``name = "module:factory"``; the factory is called as
``factory(MeterRequest)`` and returns an :class:`~.base.EnergyMeter`. The project's own meters
(codecarbon, rapl, null) are registered the same way in its pyproject, so there is no
if-chain and no hard-coded list of choices. ``--energy-meter NAME[=ARGUMENT]`` passes the text
after ``=`` to the factory (e.g. a Prometheus URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Callable

from ..errors import ConfigError
from .base import EnergyMeter

METER_GROUP = "slm_energy.meters"


@dataclass(frozen=True)
class MeterRequest:
    """What a meter factory is given."""

    name: str
    argument: str | None      # the text after '=' in --energy-meter, if any
    country_iso_code: str     # for meters that estimate emissions themselves
    response_max_mb: float | None = None   # meters that read a server: --energy-response-max-mb
    request_deadline_s: float | None = None   # ... and --energy-request-deadline (None: the meter's own default)


MeterFactory = Callable[[MeterRequest], EnergyMeter]


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=METER_GROUP)}


_OWN_ORDER = ("codecarbon", "rapl", "null")  # the project's meters first, in the order the help explains them


def meter_names() -> tuple[str, ...]:
    """Every meter installed: the project's own first, then others by name."""
    return tuple(sorted(_entry_points(), key=lambda n: (_OWN_ORDER.index(n) if n in _OWN_ORDER else len(_OWN_ORDER), n)))


def parse_meter_spec(text: str) -> tuple[str, str | None]:
    """``name`` or ``name=argument`` -> (name, argument); a one-line error for unknown names."""
    name, sep, argument = text.strip().partition("=")
    name = name.strip().lower()
    if name not in _entry_points():
        raise ConfigError(f"unknown meter {name!r}: choose one of {', '.join(meter_names()) or '(none installed)'}")
    return name, (argument.strip() if sep else None)


def build_meter(spec: str, country_iso_code: str, response_max_mb: float | None = None,
                request_deadline_s: float | None = None) -> EnergyMeter:
    """The meter named by ``--energy-meter``; only the chosen meter's module is imported."""
    name, argument = parse_meter_spec(spec)
    factory: MeterFactory = _entry_points()[name].load()
    return factory(MeterRequest(name, argument, country_iso_code, response_max_mb, request_deadline_s))
