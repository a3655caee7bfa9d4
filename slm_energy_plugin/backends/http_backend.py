"""What every served backend shares: the HTTP client, the spec, the token counter and the parts of
the backend protocol that do not depend on the engine's API (see openai_backend, ollama_backend).
"""

from __future__ import annotations

from typing import Any

from ..http_limits import ResponseLimits, request_deadline_s
from ..results.records import ModelInfo
from .base import BackendError
from .http_stream import Timeouts, make_client
from .served import strip_credentials
from .spec import ModelSpec
from .stream_answer import StreamedAnswer
from .token_count import TokenCounter

# Servers send one piece per token or fewer (a piece holds at least one token's text); a little
# slack for a server that splits differently, then the stream is a runaway.
PIECE_SLACK = 16


class HttpBackend:
    """A model behind an HTTP serving engine; subclasses speak its API."""

    backend = "http"

    def __init__(self, spec: ModelSpec, timeouts: Timeouts | None = None, limits: ResponseLimits | None = None,
                 deadline_s: float | None = None) -> None:
        if not spec.base_url:
            raise ValueError(f"{spec.alias}: no base URL settled for a served model")
        self.spec = spec
        self.base_url = spec.base_url
        self.timeouts = timeouts or Timeouts()
        self.limits = limits or ResponseLimits()
        self.deadline_override_s = deadline_s      # --energy-request-deadline; None: from max_tokens
        self.client = make_client(self.base_url, spec.api_key_env, self.timeouts)
        self.counter = TokenCounter(spec.tokenizer)
        self.server_models: list[str] = []
        self.probe_error: str | None = None

    @property
    def alias(self) -> str:
        return self.spec.alias

    def render_prompt(self, query: str) -> str:
        return query if self.spec.prompt_style == "chat" else self.spec.prompt_template.format(query=query)

    def deadline_s(self, max_new_tokens: int) -> float:
        """The whole request's time limit (see :func:`~..http_limits.request_deadline_s`)."""
        return request_deadline_s(max_new_tokens, self.deadline_override_s)

    def check_token_limit(self, answer: StreamedAnswer, max_new_tokens: int, path: str) -> None:
        """Stop reading a stream that goes on past the tokens asked for (each piece is a token or more)."""
        if answer.pieces > max_new_tokens + PIECE_SLACK:
            raise BackendError(f"{strip_credentials(self.base_url + path)} kept streaming past max_tokens="
                               f"{max_new_tokens} ({answer.pieces} pieces); stopped reading (a runaway server)")

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
