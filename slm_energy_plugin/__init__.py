"""slm-energy: measure what it costs small language models to answer queries.

The pytest plugin lives in :mod:`slm_energy_plugin.plugin` and is activated by the
``pytest11`` entry point; everything else is importable without pytest.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_results"]


def __getattr__(name: str) -> object:
    # Lazy: pandas loads on first use, never when pytest loads the plugin.
    if name == "load_results":
        from .results.frame import load_results

        return load_results
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
