"""Checks made once, when collection finishes, so a broken setup is one usage error, not one
traceback per test: the energy meter can be built (``--energy-meter rapl`` without counters) and
the cache folder can be written (a read-only HOME)."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ..errors import ConfigError
from ..paths import CACHE_ENV, cache_dir


def check_cache_writable() -> None:
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"cache folder {str(folder)!r} is not writable ({exc.strerror or exc}); the tiny models "
                          f"and bandwidth figures are built there: set {CACHE_ENV} to a folder you can write to"
                          ) from None


def preflight(measurer: Any) -> None:
    """Raise one :class:`ConfigError` for the first thing that would fail every test."""
    check_cache_writable()
    measurer.meter   # built now (and warmed up, as it would be before the first model)
