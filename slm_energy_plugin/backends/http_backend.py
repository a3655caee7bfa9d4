"""What every served backend shares: the HTTP client, the spec, the token counter and the parts of
the backend protocol that do not depend on the engine's API (see openai_backend, ollama_backend).
"""

from __future__ import annotations

from typing import Any

from ..results.records import ModelInfo
from .http_stream import Timeouts, make_client
from .served import strip_credentials
from .spec import ModelSpec
from .token_count import TokenCounter


class HttpBackend:
    """A model behind an HTTP serving engine; subclasses speak its API."""

    backend = "http"

    def __init__(self, spec: ModelSpec, timeouts: Timeouts | None = None) -> None:
        if not spec.base_url:
            raise ValueError(f"{spec.alias}: no base URL settled for a served model")
        self.spec = spec
        self.base_url = spec.base_url
        self.timeouts = timeouts or Timeouts()
        self.client = make_client(self.base_url, spec.api_key_env, self.timeouts)
        self.counter = TokenCounter(spec.tokenizer)
        self.server_models: list[str] = []
        self.probe_error: str | None = None
        # The server's process when it runs on this machine (roles/serving.py finds it by its port):
        # utilisation windows sample its CPU and RSS instead of this client's.
        self.server_pid: int | None = None

    @property
    def alias(self) -> str:
        return self.spec.alias

    def render_prompt(self, query: str) -> str:
        return query if self.spec.prompt_style == "chat" else self.spec.prompt_template.format(query=query)

    def prompt_tokens(self, query: str) -> int:
        return self.counter.count(self.render_prompt(query), 0)

    def loglikelihoods(self, context: str, continuations: list[str]) -> list[float]:
        raise NotImplementedError(f"{self.alias}: log-likelihood scoring needs the model in-process; "
                                  "served models answer generation tests only")

    def _info(self, generation: dict[str, Any], server: dict[str, Any]) -> ModelInfo:
        server = {"base_url": strip_credentials(self.base_url), **server, "probe_error": self.probe_error}
        return ModelInfo(alias=self.alias, model_id=self.spec.model_id, device="server", dtype="unknown",
                         weights="served", prompt_style=self.spec.prompt_style, generation=generation,
                         backend=self.backend, server=server)

    def close(self) -> None:
        self.client.close()
