"""One builder for the served backends the hostile-server tests talk to: an OpenAI-compatible or an
Ollama client pointed at a local test server, with the timeouts, response cap and deadline a test
makes small so that each fault ends in about a second."""

from __future__ import annotations

from slm_energy_plugin.backends.http_backend import HttpBackend
from slm_energy_plugin.backends.http_stream import Timeouts
from slm_energy_plugin.backends.ollama_backend import OllamaBackend
from slm_energy_plugin.backends.openai_backend import OpenAIBackend
from slm_energy_plugin.backends.spec import ModelSpec
from slm_energy_plugin.http_limits import ResponseLimits


def served_backend(kind: str, server_url: str, name: str, timeouts: Timeouts,
                   limits: ResponseLimits | None, deadline_s: float) -> HttpBackend:
    """``kind`` "openai" serves ``{name}-model`` under ``server_url/v1``; "ollama" serves ``name`` at
    ``server_url`` itself, as the two engines lay out their APIs."""
    if kind == "openai":
        spec = ModelSpec(alias=f"openai-{name}", source="served", backend="openai", served_name=f"{name}-model",
                         base_url=server_url + "/v1", prompt_style="chat")
        return OpenAIBackend(spec, timeouts, limits, deadline_s)
    spec = ModelSpec(alias=f"ollama-{name}", source="served", backend="ollama", served_name=name,
                     base_url=server_url, prompt_style="chat")
    return OllamaBackend(spec, timeouts, limits, deadline_s)
