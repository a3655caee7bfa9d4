"""The footprint estimator as a web API (FastAPI; optional extra ``[api]``).

Start it with ``slm-energy serve`` (see :mod:`slm_energy_plugin.commands.serve`) or build the
ASGI app with :func:`slm_energy_plugin.api.app.create_app`.
"""
