"""What every served backend shares: the HTTP client, the spec, the token counter and the parts of
the backend protocol that do not depend on the engine's API (see openai_backend, ollama_backend).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from ..http_limits import ResponseLimits, request_deadline_s
from ..results.records import ModelInfo
from .base import BackendError
from .http_stream import Timeouts, make_client
from .sampling import Sampling
from .served import strip_credentials
from .spec import ModelSpec
from .stream_answer import StreamedAnswer
from .token_count import SERVER_USAGE, TokenCounter
from .transformers_runtime import Generation

# Servers send one piece per token or fewer (a piece holds at least one token's text); a little
# slack for a server that splits differently, then the stream is a runaway.
PIECE_SLACK = 16
LOGLIKELIHOOD_SKIP = ("{alias}: log-likelihood scoring is not available from a served model's chat/completions "
                      "API; multiple-choice tests need the model in-process (name its folder or registry alias)")


class HttpBackend:
    """A model behind an HTTP serving engine; subclasses speak its API."""

    backend = "http"
    # A chat/completions API gives no log-likelihoods of given continuations: multiple-choice tests skip.
    scores_loglikelihoods = False

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
        # The server's process when it runs on this machine (roles/serving.py finds it by its port):
        # utilisation windows sample its CPU and RSS instead of this client's.
        self.server_pid: int | None = None

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

    def generate(self, query: str, max_new_tokens: int, min_new_tokens: int | None = None, *,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = ()) -> Generation:
        raise NotImplementedError   # each engine's API: openai_backend, ollama_backend

    def load_token_counters(self) -> Iterator[tuple[Callable[[str], int], str]]:
        """Ways to count a load prompt's tokens, best first (see workload/loads.py): the named
        tokenizer, then the server's ``prompt_tokens`` for a 1-token request of the text."""
        if self.counter.name:
            yield self.prompt_tokens, self.counter.source
        try:
            probe = self.generate(self.render_prompt("Hello"), 1)
        except BackendError:
            return
        if str(probe.extra.get("token_source", "")).startswith(SERVER_USAGE) and probe.tokens_input > 0:
            yield (lambda text: self.generate(text, 1).tokens_input,
                   "server-usage (prompt_tokens of a 1-token request)")

    def loglikelihoods(self, context: str, continuations: list[str]) -> list[float]:
        raise NotImplementedError(LOGLIKELIHOOD_SKIP.format(alias=self.alias))

    def _info(self, generation: dict[str, Any], server: dict[str, Any]) -> ModelInfo:
        server = {"base_url": strip_credentials(self.base_url), **server, "probe_error": self.probe_error}
        return ModelInfo(alias=self.alias, model_id=self.spec.model_id, device="server", dtype="unknown",
                         weights="served", prompt_style=self.spec.prompt_style, generation=generation,
                         backend=self.backend, server=server)

    def close(self) -> None:
        self.client.close()
