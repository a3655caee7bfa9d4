"""``openai:<model>``: any OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama's /v1,
LM Studio, ``transformers serve``), streamed so TTFT and decode time are taken at the client.

Chat and reasoning prompt styles use ``/chat/completions``; plain prompts use ``/completions``
with the registry's template. Tokens come from the server's ``usage`` (asked for with
``stream_options.include_usage``); when a server sends none they are counted with the named
tokenizer, else from the stream's pieces, and ``token_source`` says which. ``reasoning_content``
deltas (vLLM, transformers serve) are the model's thinking: counted as reasoning tokens.
"""

from __future__ import annotations

import time
from typing import Any

from ..results.records import ModelInfo
from .base import BackendError
from .http_backend import HttpBackend
from .http_stream import explain, get_json, parse_event, stream_lines
from .backend_registry import Backend, BackendRequest
from .served import openai_url, strip_credentials
from .sampling import Sampling
from .stream_answer import StreamedAnswer
from .token_count import SERVER_USAGE
from .transformers_runtime import Generation

REASONING_BY_PIECES = "server-usage shared by stream pieces (reasoning vs answer)"


def parse_sse_line(line: str) -> dict[str, Any] | None:
    """One SSE line → its JSON event; None for comments, blank lines and ``[DONE]``'s caller check."""
    line = line.strip()
    if not line.startswith("data:"):
        return None   # blank separators, ": keep-alive" comments, "event:" lines
    data = line[5:].strip()
    if data == "[DONE]":
        return {"__done__": True}
    return parse_event(data, "check that the URL is an OpenAI-compatible API")


def apply_event(answer: StreamedAnswer, event: dict[str, Any]) -> None:
    """Fold one chunk (chat or completion) into the answer."""
    if event.get("__done__"):
        answer.finished = True
        return
    if "error" in event:
        error = event["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise BackendError(f"server reported an error mid-stream: {str(message)[:200]}")
    answer.server_model = event.get("model") or answer.server_model
    if isinstance(event.get("usage"), dict):
        answer.usage = event["usage"]
    for choice in event.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if isinstance(delta, dict):      # chat completion chunk
            answer.add(delta.get("content"), delta.get("reasoning_content") or delta.get("reasoning"))
        else:                            # completion chunk
            answer.add(choice.get("text"))
        if choice.get("finish_reason"):
            answer.finish_reason = str(choice["finish_reason"])


class OpenAIBackend(HttpBackend):
    """A model behind an OpenAI-compatible HTTP API."""

    backend = "openai"

    # -- opening ------------------------------------------------------------------------------

    def probe(self) -> None:
        """GET /models: is the server there, and which ids does it serve? A failure is kept, not raised:
        each query then fails on its own, with its own record."""
        try:
            data = get_json(self.client, "/models", self.limits, self.deadline_s(0)).get("data") or []
            self.server_models = [str(m.get("id")) for m in data if isinstance(m, dict) and m.get("id")]
        except Exception as exc:  # noqa: BLE001 - kept as one line for the record (see explain)
            self.probe_error = str(explain(exc, self.base_url + "/models", self.timeouts, self.spec.api_key_env))

    # -- answering ----------------------------------------------------------------------------

    def _request(self, query: str, max_new_tokens: int, sampling: Sampling | None = None,
                 stop: tuple[str, ...] = ()) -> tuple[str, dict[str, Any]]:
        common: dict[str, Any] = {"model": self.spec.served_name, "max_tokens": max_new_tokens,
                                  "temperature": 0, "stream": True,
                                  "stream_options": {"include_usage": True}}
        if sampling is not None and not sampling.greedy:   # the round's recorded seed, as in-process
            common.update(temperature=sampling.temperature, seed=sampling.seed)
            if sampling.top_p is not None:
                common["top_p"] = sampling.top_p
        if stop:
            common["stop"] = list(stop[:4])   # the OpenAI API takes at most four stop strings
        if self.spec.prompt_style == "chat":
            return "/chat/completions", {**common, "messages": [{"role": "user", "content": query}]}
        return "/completions", {**common, "prompt": self.render_prompt(query)}

    def generate(self, query: str, max_new_tokens: int, min_new_tokens: int | None = None, *,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = ()) -> Generation:
        path, payload = self._request(query, max_new_tokens, sampling, stop)
        answer = StreamedAnswer()
        try:
            for line in stream_lines(self.client, path, payload, self.limits, self.deadline_s(max_new_tokens)):
                event = parse_sse_line(line)
                if event is not None:
                    apply_event(answer, event)
                    self.check_token_limit(answer, max_new_tokens, path)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line that says what to check
            raise explain(exc, self.base_url + path, self.timeouts, self.spec.api_key_env, answer.pieces) from None
        end = time.perf_counter()
        if not answer.finished and answer.finish_reason is None:
            raise BackendError(f"truncated stream from {strip_credentials(self.base_url + path)}: it ended "
                               f"after {answer.pieces} pieces without a finish reason or [DONE]; check the "
                               "server's log")
        return self._generation(query, answer, end, max_new_tokens, sampling)

    def _generation(self, query: str, answer: StreamedAnswer, end: float, max_new_tokens: int,
                    sampling: Sampling | None = None) -> Generation:
        usage = answer.usage or {}
        details = usage.get("completion_tokens_details") or {}
        rendered = self.render_prompt(query)
        if isinstance(usage.get("completion_tokens"), int):
            source = SERVER_USAGE
            tokens_out = int(usage["completion_tokens"])
            tokens_in = int(usage.get("prompt_tokens") or 0)
        else:
            source = self.counter.source
            tokens_out = self.counter.count(answer.reasoning_text + answer.text, answer.pieces)
            tokens_in = self.counter.count(rendered, 0) if self.counter.name else 0
        reasoning: int | None = None
        reasoning_source = None
        if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int) and details["reasoning_tokens"]:
            reasoning, reasoning_source = int(details["reasoning_tokens"]), SERVER_USAGE
        elif answer.reasoning and source == SERVER_USAGE:
            # Re-tokenizing decoded text does not give back the model's tokens (11 for 8 here, seen
            # with transformers serve): share the server's count by stream pieces, ~one token each.
            reasoning = round(tokens_out * len(answer.reasoning) / answer.pieces)
            reasoning_source = REASONING_BY_PIECES
        elif answer.reasoning:
            reasoning = self.counter.count(answer.reasoning_text, len(answer.reasoning))
            reasoning_source = self.counter.source
        extra: dict[str, Any] = {
            "backend": self.backend,
            "server_model": answer.server_model,
            "finish_reason": answer.finish_reason,
            "token_source": source,
            "stream_pieces": answer.pieces,
            "sampling": (sampling or Sampling()).to_dict(),   # what was sent, as in-process models record it
        }
        if reasoning_source:
            extra["reasoning_token_source"] = reasoning_source
        if not tokens_in:
            extra["tokens_input_note"] = "the server reported no prompt tokens and no tokenizer is named"
        return Generation(
            prompt=query, rendered_prompt=rendered,
            response=answer.text.strip(),
            tokens_input=tokens_in, tokens_output=tokens_out,
            seconds=end - answer.started, ttft_s=answer.ttft_s, decode_s=answer.decode_s,
            hit_eos=answer.finish_reason == "stop",
            max_new_tokens=max_new_tokens, reasoning_tokens=reasoning, extra=extra,
        )

    def info(self, generation: dict[str, Any]) -> ModelInfo:
        return self._info(generation, {
            "served_name": self.spec.served_name,
            "model_id": self.spec.served_name if self.spec.served_name in self.server_models
            else (self.server_models[0] if len(self.server_models) == 1 else None),
            "models_listed": self.server_models[:20],
            "api_key_env": self.spec.api_key_env,
        })



def _open(request: BackendRequest) -> OpenAIBackend:
    return OpenAIBackend(request.spec, limits=request.limits, deadline_s=request.deadline_s)


# The ``openai`` entry point of the ``slm_energy.backends`` group (pyproject.toml). A typed openai:
# name sends $OPENAI_API_KEY when it is set (the openai client's convention).
BACKEND = Backend(open=_open, default_url=openai_url, api_key_env="OPENAI_API_KEY")
