"""``ollama:<model>``: Ollama's native API (``OLLAMA_HOST``, default http://127.0.0.1:11434).

``/api/generate`` for plain prompts, ``/api/chat`` for chat ones, streamed as NDJSON (one JSON
object a line). The final object (``done: true``) carries the server's own accounting —
``prompt_eval_count``/``_duration``, ``eval_count``/``_duration``, ``load_duration``,
``total_duration`` (nanoseconds, per docs.ollama.com/api/usage) — recorded in seconds beside
the client's TTFT and decode time; the token counts come from there. ``thinking`` text (models
run with ``think``) is counted as reasoning.
"""

from __future__ import annotations

import re
import time
from typing import Any

from dataclasses import replace

from ..results.records import ModelInfo
from .base import BackendError
from .http_backend import HttpBackend
from ..http_limits import ResponseLimits
from .http_stream import Timeouts, explain, get_json, parse_event, stream_lines
from .backend_registry import Backend, BackendRequest
from .served import ollama_url, strip_credentials
from .sampling import Sampling
from .spec import ModelSpec
from .stream_answer import StreamedAnswer
from .transformers_runtime import Generation

NS_PER_S = 1e9
SERVER_TIMINGS = ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration")
SERVER_COUNTS = ("prompt_eval_count", "eval_count")
OLLAMA_USAGE = "server-usage (ollama prompt_eval_count/eval_count)"


def parse_ndjson_line(line: str) -> dict[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    return parse_event(line, "check that OLLAMA_HOST points at Ollama")


def apply_ollama_event(answer: StreamedAnswer, event: dict[str, Any], final: dict[str, Any]) -> None:
    """Fold one NDJSON object into the answer; the ``done`` object's counters go into ``final``."""
    if "error" in event:
        raise BackendError(f"ollama reported an error: {str(event['error'])[:200]}")
    answer.server_model = event.get("model") or answer.server_model
    message = event.get("message")
    if isinstance(message, dict):          # /api/chat
        answer.add(message.get("content"), message.get("thinking"))
    else:                                  # /api/generate
        answer.add(event.get("response"), event.get("thinking"))
    if event.get("done"):
        answer.finished = True
        answer.finish_reason = str(event.get("done_reason") or "stop")
        final.update({key: event[key] for key in (*SERVER_TIMINGS, *SERVER_COUNTS) if key in event})


def server_timings(final: dict[str, Any]) -> dict[str, Any]:
    """The done object's figures, durations in seconds (Ollama gives nanoseconds)."""
    found: dict[str, Any] = {}
    for key in SERVER_TIMINGS:
        if isinstance(final.get(key), (int, float)):
            found[key.replace("_duration", "_s")] = final[key] / NS_PER_S
    for key in SERVER_COUNTS:
        if isinstance(final.get(key), int):
            found[key] = final[key]
    if found.get("eval_count") and found.get("eval_s"):
        found["server_decode_tokens_per_s"] = found["eval_count"] / found["eval_s"]
    return found


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMBT])\s*$", re.IGNORECASE)
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


def parameters_from_size(text: Any) -> int | None:
    """Ollama's ``details.parameter_size`` ("3.2B", "135M") as a count; None when it is not that shape."""
    match = _SIZE.match(str(text)) if isinstance(text, str) else None
    return None if match is None else int(round(float(match.group(1)) * _SCALE[match.group(2).upper()]))


def show_details(body: Any) -> dict[str, Any]:
    """The model facts of a ``POST /api/show`` answer: ``details`` (format, family, parameter_size,
    quantization_level) and the exact ``model_info["general.parameter_count"]`` when given."""
    if not isinstance(body, dict):
        return {}
    raw_details, raw_info = body.get("details"), body.get("model_info")
    details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    found: dict[str, Any] = {key: details[key] for key in ("format", "family", "parameter_size",
                                                             "quantization_level") if isinstance(details.get(key), str)}
    count = info.get("general.parameter_count")
    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        found["parameter_count"] = count
    return found


class OllamaBackend(HttpBackend):
    """A model served by Ollama's native API."""

    backend = "ollama"

    def __init__(self, spec: ModelSpec, timeouts: Timeouts | None = None, limits: ResponseLimits | None = None,
                 deadline_s: float | None = None) -> None:
        super().__init__(spec, timeouts, limits, deadline_s)
        self.server_version: str | None = None
        self.details: dict[str, Any] = {}
        self.show_error: str | None = None

    def probe(self) -> None:
        """GET /api/version and /api/tags (the models pulled), POST /api/show (parameters and
        quantisation); a failure is kept for the record."""
        try:
            deadline = self.deadline_s(0)
            self.server_version = str(get_json(self.client, "/api/version", self.limits, deadline).get("version"))
            tags = get_json(self.client, "/api/tags", self.limits, deadline)
            self.server_models = [str(m.get("name")) for m in tags.get("models") or []
                                  if isinstance(m, dict) and m.get("name")]
        except Exception as exc:  # noqa: BLE001 - kept as one line for the record (see explain)
            self.probe_error = str(explain(exc, self.base_url + "/api/version", self.timeouts))
            return
        try:
            shown = get_json(self.client, "/api/show", self.limits, self.deadline_s(0),
                             post={"model": self.spec.served_name})
            self.details = show_details(shown)
        except Exception as exc:  # noqa: BLE001 - an old server or a model not pulled: no details
            self.show_error = str(explain(exc, self.base_url + "/api/show", self.timeouts))

    def _request(self, query: str, max_new_tokens: int, sampling: Sampling | None = None,
                 stop: tuple[str, ...] = ()) -> tuple[str, dict[str, Any]]:
        # Greedy by default (temperature 0, a fixed seed), as the in-process backend decodes;
        # a sampled round sends its recorded seed.
        options: dict[str, Any] = {"num_predict": max_new_tokens, "temperature": 0, "seed": 0}
        if sampling is not None and not sampling.greedy:
            options.update(temperature=sampling.temperature, seed=sampling.seed)
            if sampling.top_p is not None:
                options["top_p"] = sampling.top_p
        if stop:
            options["stop"] = list(stop)
        common: dict[str, Any] = {"model": self.spec.served_name, "stream": True, "options": options}
        if self.spec.prompt_style == "chat":
            return "/api/chat", {**common, "messages": [{"role": "user", "content": query}]}
        return "/api/generate", {**common, "prompt": self.render_prompt(query)}

    def generate(self, query: str, max_new_tokens: int, min_new_tokens: int | None = None, *,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = ()) -> Generation:
        path, payload = self._request(query, max_new_tokens, sampling, stop)
        answer = StreamedAnswer()
        final: dict[str, Any] = {}
        try:
            for line in stream_lines(self.client, path, payload, self.limits, self.deadline_s(max_new_tokens)):
                event = parse_ndjson_line(line)
                if event is not None:
                    apply_ollama_event(answer, event, final)
                    self.check_token_limit(answer, max_new_tokens, path)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line that says what to check
            raise explain(exc, self.base_url + path, self.timeouts, pieces=answer.pieces) from None
        end = time.perf_counter()
        if not answer.finished:
            raise BackendError(f"truncated stream from {strip_credentials(self.base_url + path)}: it ended "
                               f"after {answer.pieces} pieces without done: true; check the server's log")
        timings = server_timings(final)
        if "eval_count" in timings:
            source, tokens_out = OLLAMA_USAGE, int(timings["eval_count"])
            tokens_in = int(timings.get("prompt_eval_count") or 0)
        else:
            source = self.counter.source
            tokens_out = self.counter.count(answer.reasoning_text + answer.text, answer.pieces)
            tokens_in = self.counter.count(self.render_prompt(query), 0) if self.counter.name else 0
        reasoning = None
        if answer.reasoning:
            reasoning = self.counter.count(answer.reasoning_text, len(answer.reasoning))
        extra: dict[str, Any] = {"backend": self.backend, "server_model": answer.server_model,
                                 "finish_reason": answer.finish_reason, "token_source": source,
                                 "stream_pieces": answer.pieces, "server": timings,
                                 # What was sent (options.temperature/seed/top_p), as in-process models record it.
                                 "sampling": (sampling or Sampling()).to_dict()}
        if reasoning is not None:
            extra["reasoning_token_source"] = self.counter.source
        return Generation(
            prompt=query, rendered_prompt=self.render_prompt(query), response=answer.text.strip(),
            tokens_input=tokens_in, tokens_output=tokens_out, seconds=end - answer.started,
            ttft_s=answer.ttft_s, decode_s=answer.decode_s, hit_eos=answer.finish_reason == "stop",
            max_new_tokens=max_new_tokens, reasoning_tokens=reasoning, extra=extra,
        )

    def info(self, generation: dict[str, Any]) -> ModelInfo:
        name = str(self.spec.served_name)
        listed = name in self.server_models or f"{name}:latest" in self.server_models
        info = self._info(generation, {"served_name": name, "model_id": name if listed else None,
                                       "models_listed": self.server_models[:20],
                                       "server_version": self.server_version, "details": dict(self.details),
                                       "show_error": self.show_error})
        # Parameters: /api/show's exact count, else its rounded parameter_size ("3.2B"); the weights'
        # format is Ollama's quantisation level (Q4_K_M...), which is what "dtype" means for a GGUF model.
        parameters = self.details.get("parameter_count") or parameters_from_size(self.details.get("parameter_size"))
        quantization = self.details.get("quantization_level")
        return replace(info, parameters=parameters, dtype=str(quantization) if quantization else info.dtype)



def _open(request: BackendRequest) -> OllamaBackend:
    return OllamaBackend(request.spec, limits=request.limits, deadline_s=request.deadline_s)


# The ``ollama`` entry point of the ``slm_energy.backends`` group (pyproject.toml).
BACKEND = Backend(open=_open, default_url=ollama_url)
