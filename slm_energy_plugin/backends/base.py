"""The one interface every backend implements: what the ``slm`` fixture and the measurer call.

The in-process :class:`~.transformers_runtime.LoadedModel` satisfies it as it is; the served
backends (:mod:`.openai_backend`, :mod:`.ollama_backend`) implement it over HTTP. A structural
``Protocol``, so a backend needs no base class, only these members.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..results.records import ModelInfo
from ..safety import safe_message
from .sampling import Sampling
from .spec import ModelSpec
from .transformers_runtime import Generation


@runtime_checkable
class ModelBackend(Protocol):
    """A model that answers prompts and accounts for every token and second."""

    spec: ModelSpec

    @property
    def alias(self) -> str: ...

    def generate(self, query: str, max_new_tokens: int, min_new_tokens: int | None = None, *,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = ()) -> Generation:
        """Answer one query; raises with a one-line reason when the model or its server fails."""

    def prompt_tokens(self, query: str) -> int:
        """Input tokens of a query after its template."""

    def loglikelihoods(self, context: str, continuations: list[str]) -> list[float]:
        """Log-likelihood of each continuation (backends that cannot score raise NotImplementedError)."""

    def info(self, generation: dict[str, Any]) -> ModelInfo:
        """What runs the model, for the record."""

    def close(self) -> None:
        """Release connections or memory; the backend is not used afterwards."""


class BackendError(RuntimeError):
    """A served model failed one request; the message is one line that says what to check.

    The line quotes the server (its error body): secrets it echoes and terminal control are removed
    here, once, so neither a record's ``error`` nor the terminal ever shows them.
    """

    def __init__(self, message: Any = "", *args: Any) -> None:
        super().__init__(safe_message(str(message), one_line=True), *args)
