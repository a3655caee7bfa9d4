"""What one generation is, and the parts every way of calling ``model.generate`` shares.

:meth:`LoadedModel.generate` (one query) and :func:`.batched.generate_batch` (many queries in one
call) build the same ``generate`` keyword arguments and turn a row's new token ids into a
:class:`Generation` the same way, here, so a batch row and a lone query can only differ in the
tokens the model produced, never in how they are counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from .sampling import Sampling
from .spec import ModelSpec
from .stopping import finish, stop_kwargs


class GeneratingModel(Protocol):
    """What the shared accounting reads of a loaded model (LoadedModel has it); a protocol, so
    this module does not import the runtime that imports it."""

    spec: ModelSpec
    tokenizer: Any
    eos_ids: set[int]
    forced_length: bool

    def decode(self, ids: list[int]) -> str: ...

THINK_END = "</think>"


@dataclass(frozen=True)
class Generation:
    """One generation, timed from the first forward pass to the last token."""

    prompt: str                 # the query as asked
    rendered_prompt: str        # after the prompt template or chat template
    response: str
    tokens_input: int
    tokens_output: int
    seconds: float              # whole generate() call
    ttft_s: float | None        # prefill: until the first new token exists
    decode_s: float | None      # from the first to the last new token
    hit_eos: bool               # stopped by an end-of-sequence token, not by the token limit
    max_new_tokens: int = 0     # the limit this generation ran under
    reasoning_tokens: int | None = None   # reasoning models: tokens up to and including </think>
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def decode_tokens_per_s(self) -> float | None:
        if not self.decode_s or self.tokens_output < 2:
            return None
        return (self.tokens_output - 1) / self.decode_s


class TimingStreamer:
    """Records when generate() hands over the prompt and each new token (one time per step, all rows)."""

    def __init__(self) -> None:
        self.token_times: list[float] = []
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        now = time.perf_counter()
        if not self._prompt_seen:  # the first call carries the prompt ids
            self._prompt_seen = True
            return
        self.token_times.append(now)

    def end(self) -> None:
        pass


def step_timing(token_times: list[float], tokens: int, started: float) -> tuple[float | None, float | None]:
    """(time to first token, decode time) of a row whose ``tokens`` new tokens came at the first steps."""
    times = token_times[:tokens]
    ttft = times[0] - started if times else None
    decode = (times[-1] - times[0]) if len(times) >= 2 else None
    return ttft, decode


def generate_kwargs(model: GeneratingModel, max_new_tokens: int, min_new_tokens: int | None,
                    sampling: Sampling | None, stop: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``model.generate`` keyword arguments (streamer aside) and the stops that actually apply."""
    pad_id = model.tokenizer.pad_token_id
    if pad_id is None:
        pad_id = next(iter(model.eos_ids), None)
    kwargs: dict[str, Any] = dict(max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad_id)
    if model.forced_length:
        min_new_tokens = max_new_tokens
    if min_new_tokens:
        kwargs["min_new_tokens"] = min_new_tokens
    # Workloads (issue 13): sampling per round with a recorded seed; stop strings.
    stop = () if model.forced_length else stop
    kwargs.update((sampling or Sampling()).generate_kwargs())
    kwargs.update(stop_kwargs(stop, model.tokenizer))
    return kwargs, stop


def build_generation(model: GeneratingModel, query: str, rendered: str, new_ids: list[int], *, tokens_input: int,
                     max_new_tokens: int, sampling: Sampling | None, stop: tuple[str, ...], seconds: float,
                     ttft_s: float | None, decode_s: float | None,
                     extra: dict[str, Any] | None = None) -> Generation:
    """The Generation of one prompt whose real new tokens (no padding after its end) are ``new_ids``."""
    response = model.decode(new_ids)
    reasoning = reasoning_tokens(model.tokenizer, new_ids) if model.spec.reasoning else None
    hit_eos = not model.forced_length and bool(new_ids) and new_ids[-1] in model.eos_ids
    stopped = finish(response, stop, hit_eos=hit_eos, tokens_output=len(new_ids), max_new_tokens=max_new_tokens)
    return Generation(
        prompt=query,
        rendered_prompt=rendered,
        response=stopped.text.strip(),
        tokens_input=tokens_input,
        tokens_output=len(new_ids),
        seconds=seconds,
        ttft_s=ttft_s,
        decode_s=decode_s,
        hit_eos=hit_eos,
        max_new_tokens=max_new_tokens,
        reasoning_tokens=reasoning,
        extra={"sampling": (sampling or Sampling()).to_dict(), "stop": list(stop), **stopped.to_dict(),
               **(extra or {})},
    )


def reasoning_tokens(tokenizer: Any, new_ids: list[int]) -> int:
    """Tokens spent thinking: up to and including the closing </think>; all of them if it never came."""
    think_end = tokenizer.convert_tokens_to_ids(THINK_END)
    if isinstance(think_end, int) and think_end != tokenizer.unk_token_id and think_end in new_ids:
        return new_ids.index(think_end) + 1
    text = ""
    for i, token_id in enumerate(new_ids):
        text += tokenizer.decode([token_id])
        if THINK_END in text:
            return i + 1
    return len(new_ids)  # still thinking when the token limit hit: every token was reasoning
