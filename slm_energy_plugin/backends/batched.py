"""Many queries through one ``model.generate`` call: a batch, left-padded, timed per row.

Each row is accounted as :meth:`LoadedModel.generate` accounts a lone query (same rendered
prompt, same generate arguments, same :func:`.generation.build_generation`), with two
differences only a batch has:

- Padding. Prompts of different lengths are left-padded (the new tokens of every row then
  start in the same column) with an attention mask. The rows are padded here, from each
  prompt's own encoding, so the tokenizer is never changed (padding side, pad token) and a
  row's input tokens are exactly its ``prompt_tokens``.
- Filler. A row that is done (its end-of-sequence token, or a stop string) gets pad tokens
  while the others run on; with pad == eos (GPT-2 style) the filler looks like more eos
  tokens. A row's real tokens end at the first step that stopped it: its first eos
  (inclusive), or the first step at which transformers' own ``StopStringCriteria`` says the
  row is done (asked again here on the finished ids, so it is the same decision), else the
  token limit.

Times: ``generate`` hands the streamer the whole batch's tokens once per step, so the
prefill (time to first token) is shared, and a row's end is the step of its last real token.
A row's ``seconds`` is the whole call, what a caller of the batch waited.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .generation import Generation, TimingStreamer, build_generation, generate_kwargs, step_timing
from .sampling import Sampling, seed_generator
from .transformers_runtime import LoadedModel


@dataclass(frozen=True)
class BatchOutput:
    generations: list[Generation]   # one per query, in the order given
    started: float                  # time.perf_counter() just before model.generate
    ended: float                    # just after it returned (after a CUDA sync when on CUDA)
    row_ends: list[float]           # perf_counter when each row's last real token was produced


def generate_batch(model: LoadedModel, queries: Sequence[str], max_new_tokens: int,
                   min_new_tokens: int | None = None, *, sampling: Sampling | None = None,
                   stop: tuple[str, ...] = ()) -> BatchOutput:
    """Generate an answer to every query in one ``model.generate`` call (see the module docstring)."""
    import torch

    if not queries:
        raise ValueError("generate_batch needs at least one query")
    rendered = [model.render_prompt(query) for query in queries]
    prompts = [model._encode(text)["input_ids"][0] for text in rendered]
    for prompt in prompts:
        model.check_length(int(prompt.shape[0]), max_new_tokens)
    kwargs, stop = generate_kwargs(model, max_new_tokens, min_new_tokens, sampling, stop)
    input_ids, attention_mask = _left_pad(prompts, kwargs["pad_token_id"])
    padded_len = int(input_ids.shape[1])
    streamer = TimingStreamer()
    seed_generator(sampling)
    model._sync()
    started = time.perf_counter()
    with torch.inference_mode():
        output = model.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs,
                                      streamer=streamer)
    model._sync()
    ended = time.perf_counter()
    new_ids = output[:, padded_len:]
    lengths = _real_lengths(model, output, padded_len, stop)
    times = streamer.token_times
    generations, row_ends = [], []
    for row, (query, text, prompt, length) in enumerate(zip(queries, rendered, prompts, lengths)):
        row_end = times[length - 1] if length else started
        ttft, decode = step_timing(times, length, started)
        generations.append(build_generation(
            model, query, text, new_ids[row, :length].tolist(), tokens_input=int(prompt.shape[0]),
            max_new_tokens=max_new_tokens, sampling=sampling, stop=stop, seconds=ended - started,
            ttft_s=ttft, decode_s=decode,
            extra={"batch": {"size": len(queries), "row": row, "row_end_s": row_end - started,
                             "padded_input_tokens": padded_len}}))
        row_ends.append(row_end)
    return BatchOutput(generations=generations, started=started, ended=ended, row_ends=row_ends)


def _left_pad(prompts: list[Any], pad_id: int | None) -> tuple[Any, Any]:
    """(input ids, attention mask): each prompt right-aligned, pad ids (masked out) before it."""
    import torch

    width = max(int(prompt.shape[0]) for prompt in prompts)
    device = prompts[0].device
    # The filler is masked out, so its id is never read; 0 stands in when the model has no pad or eos id.
    input_ids = torch.full((len(prompts), width), pad_id if pad_id is not None else 0, dtype=prompts[0].dtype,
                           device=device)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long, device=device)
    for row, prompt in enumerate(prompts):
        input_ids[row, width - prompt.shape[0]:] = prompt
        attention_mask[row, width - prompt.shape[0]:] = 1
    return input_ids, attention_mask


def _real_lengths(model: LoadedModel, output: Any, prompt_width: int, stop: tuple[str, ...]) -> list[int]:
    """How many of each row's new tokens are real: up to the step that stopped the row, filler excluded."""
    new_ids = output[:, prompt_width:]
    rows, width = int(new_ids.shape[0]), int(new_ids.shape[1])
    if model.forced_length:   # eos suppressed and no stops: every row runs to the limit
        return [width] * rows
    ends = [width] * rows
    for row, ids in enumerate(new_ids.tolist()):
        first_eos = next((step for step, token in enumerate(ids) if token in model.eos_ids), None)
        if first_eos is not None:
            ends[row] = first_eos + 1
    if stop:
        from transformers import StopStringCriteria

        # The same check generate ran after each step, on the same (left-padded) ids.
        criteria = StopStringCriteria(tokenizer=model.tokenizer, stop_strings=list(stop))
        open_rows = set(range(rows))
        for step in range(1, width + 1):
            open_rows = {row for row in open_rows if ends[row] > step}
            if not open_rows:
                break
            done = criteria(output[:, :prompt_width + step], None).tolist()
            for row in [row for row in open_rows if done[row]]:
                ends[row] = step
                open_rows.discard(row)
    return ends
