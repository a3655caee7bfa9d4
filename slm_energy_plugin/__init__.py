"""slm-energy: measure what it costs small language models to answer queries.

The pytest plugin lives in :mod:`slm_energy_plugin.plugin` and is activated by the
``pytest11`` entry point; everything else is importable without pytest.
"""

__version__ = "0.1.0"
