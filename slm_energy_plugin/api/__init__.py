"""The footprint estimator as a web API (FastAPI; optional extra ``[api]``).

Serve it with ``slm-energy serve`` (see :mod:`slm_energy_plugin.commands.serve`) or, as the
seed calculator was served, ``uvicorn slm_energy_plugin.api:app``; build an app around a
given configuration with :func:`slm_energy_plugin.api.application.create_app`.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # ``app`` is built on first access, so importing the schemas does not load the configuration.
    if name == "app":
        from .application import default_app

        return default_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
