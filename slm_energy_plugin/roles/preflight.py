"""Checks made once, when collection finishes, so a broken setup is one usage error, not one
traceback per test: the energy meter can be built (``--energy-meter rapl`` without counters) and
the cache folder can be written (a read-only HOME)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..paths import CACHE_ENV, cache_dir, unwritable_reason


def check_cache_writable() -> None:
    folder = cache_dir()
    reason = unwritable_reason(folder)
    if reason is not None:
        raise ConfigError(f"cache folder {str(folder)!r} is not writable ({reason}); the tiny models "
                          f"and bandwidth figures are built there: set {CACHE_ENV} to a folder you can write to")


def preflight(measurer: Any) -> None:
    """Raise one :class:`ConfigError` for the first thing that would fail every test."""
    check_cache_writable()
    measurer.meter   # built now (and warmed up, as it would be before the first model)
