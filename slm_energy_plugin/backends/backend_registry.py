"""Backends are found by name through the ``slm_energy.backends`` entry-point group, as meters are.

A backend package registers ``name = "module:attribute"``, the attribute being a :class:`Backend`.
The project's own (transformers, openai, ollama) are registered the same way in its pyproject, so a
new engine needs no edit here, in ``served.py`` or in the measuring role. The name is what users
type before the colon (``NAME:model``) and what a registry entry's ``backend`` says; only the
chosen backend's module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping

from ..errors import ConfigError
from .spec import ModelSpec

if TYPE_CHECKING:
    from ..http_limits import ResponseLimits
    from .base import ModelBackend

BACKEND_GROUP = "slm_energy.backends"
IN_PROCESS = "transformers"     # the project's own in-process backend (weights loaded by the measurer)


@dataclass(frozen=True)
class BackendRequest:
    """What a backend's ``open`` is given."""

    spec: ModelSpec
    limits: ResponseLimits           # --energy-response-max-mb: the bound on one answer
    deadline_s: float | None         # --energy-request-deadline; None: from the tokens asked for
    local_path: Path | None = None   # in-process: the weights folder the availability check found


@dataclass(frozen=True)
class Backend:
    """One engine: how to open a model on it, and where its server listens by default.

    ``open`` returns a :class:`~.base.ModelBackend`; a served one also has ``probe()``,
    ``probe_error`` and ``server_pid`` (as :class:`~.http_backend.HttpBackend` gives them), because
    the measurer times the first contact with the server as the model's load.
    """

    open: Callable[[BackendRequest], ModelBackend]
    served: bool = True
    # (--energy-base-url, environment) -> the server's URL when a registry entry names none.
    default_url: Callable[[str | None, Mapping[str, str]], str] | None = None
    api_key_env: str | None = None   # a typed NAME:model sends this variable's key when it is set


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=BACKEND_GROUP)}


_OWN_ORDER = (IN_PROCESS, "openai", "ollama")   # the project's own first, as the docs explain them


def backend_names() -> tuple[str, ...]:
    """Every backend installed: the project's own first, then others by name."""
    return tuple(sorted(_entry_points(), key=lambda n: (_OWN_ORDER.index(n) if n in _OWN_ORDER else len(_OWN_ORDER), n)))


def served_backend_names() -> tuple[str, ...]:
    """The installed backends that run models behind a server, in :func:`backend_names` order.

    Each one's module is imported to ask (``Backend.served``); one that does not load is left out
    here, and naming it says why (:func:`get_backend`).
    """
    def served(name: str) -> bool:
        try:
            return get_backend(name).served
        except (ConfigError, ImportError):
            return False
    return tuple(name for name in backend_names() if served(name))


def is_backend_name(name: str) -> bool:
    """Whether ``name`` is installed (no module is imported to answer)."""
    return name in _entry_points()


def unknown_backend(name: str, where: str) -> ConfigError:
    """The one line for a backend nobody installed."""
    if not _entry_points():   # metadata older than this group: the package was installed before it existed
        return ConfigError(f"{where}: no backends are installed in the {BACKEND_GROUP} entry-point group: "
                           "reinstall slm-energy-plugin (pip install -e . in its checkout)")
    return ConfigError(f"{where}: unknown backend {name!r}: choose one of {', '.join(backend_names())} "
                       f"(others are installed as {BACKEND_GROUP} entry points)")


@lru_cache(maxsize=None)
def get_backend(name: str, where: str = "model") -> Backend:
    """The backend registered as ``name``; its module is imported now, once."""
    if name not in _entry_points():
        raise unknown_backend(name, where)
    found = _entry_points()[name].load()
    if not isinstance(found, Backend):
        raise ConfigError(f"{BACKEND_GROUP} entry point {name!r} names {type(found).__name__}, not a "
                          "slm_energy_plugin.backends.backend_registry.Backend")
    return found
