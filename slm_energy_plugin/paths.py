"""Where the project's data lives, from a source checkout, an editable or a wheel install."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError

DATA_ENV = "SLM_ENERGY_DATA_DIR"
CACHE_ENV = "SLM_ENERGY_CACHE_DIR"
_MARKER = "models.json"


@lru_cache(maxsize=1)
def data_dir() -> Path:
    """The ``data/`` folder: $SLM_ENERGY_DATA_DIR, else the checkout's, else the wheel's copy."""
    override = os.environ.get(DATA_ENV)
    if override:
        path = Path(override)
        if not (path / _MARKER).is_file():
            raise ConfigError(f"{DATA_ENV}={override!r} does not hold {_MARKER}; unset it or point it at a data folder")
        return path
    checkout = Path(__file__).resolve().parent.parent / "data"
    if (checkout / _MARKER).is_file():
        return checkout
    # A wheel maps data/ to the package slm_energy_plugin._data (see pyproject.toml).
    packaged = Path(__file__).resolve().parent / "_data"
    if (packaged / _MARKER).is_file():
        return packaged
    raise ConfigError(f"cannot find the slm-energy data folder (looked in {checkout} and {packaged}); "
                      f"reinstall the package or set {DATA_ENV}")


def cache_dir() -> Path:
    """Where built artefacts (tiny models, bandwidth figures) are cached per machine."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "slm-energy"


def unwritable_reason(folder: Path) -> str | None:
    """Why files cannot be written into ``folder`` (created if missing), or None when they can.

    A real file is made and removed: permission bits alone miss read-only mounts and full quotas."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__
    return None
