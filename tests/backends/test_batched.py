"""Batched generation on the tiny models: rows counted and timed like lone queries, filler never counted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slm_energy_plugin.backends.batched import BatchOutput, generate_batch
from slm_energy_plugin.backends.registry import load_registry, select_models
from slm_energy_plugin.backends.sampling import Sampling
from slm_energy_plugin.backends.tiny import ensure_tiny
from slm_energy_plugin.backends.transformers_runtime import LoadedModel, PromptTooLong, load_model

# Four prompts of different lengths, so every row but the longest is left-padded.
QUERIES = ["What is 7 + 5?", "Tell me a story about a canal and the boats that pass along it at night.", "Hi",
           "What is 9 times 8, and why?"]
NEW_TOKENS = 20


def _load(alias: str, tiny_cache: Path) -> LoadedModel:
    spec = load_registry().specs[alias]
    return load_model(spec, ensure_tiny(spec.alias, str(spec.tiny), root=tiny_cache / "tiny"))


@pytest.fixture(scope="module", params=["tiny-gpt2", "tiny-phi", "tiny-qwen2"])
def model(request: pytest.FixtureRequest, tiny_cache: Path) -> LoadedModel:
    return _load(request.param, tiny_cache)


def _rows(batch: BatchOutput) -> list[tuple[str, int, bool]]:
    return [(g.response, g.tokens_output, g.hit_eos) for g in batch.generations]


def test_a_greedy_batch_answers_as_the_queries_one_at_a_time(model: LoadedModel) -> None:
    batch = generate_batch(model, QUERIES, NEW_TOKENS)
    alone = [model.generate(query, NEW_TOKENS) for query in QUERIES]
    # Left padding is masked out exactly enough on this CPU (float32): for all three tiny models every
    # row's greedy tokens equal the lone query's. (tiny-gpt2's untrained weights answer every prompt
    # with ':' repeated, so for it this says little; tiny-phi and tiny-qwen2 give varied text.)
    assert _rows(batch) == [(g.response, g.tokens_output, g.hit_eos) for g in alone]
    padded = max(g.tokens_input for g in alone)
    for row, (query, generation) in enumerate(zip(QUERIES, batch.generations)):
        assert generation.tokens_input == model.prompt_tokens(query)
        assert generation.prompt == query and generation.rendered_prompt == model.render_prompt(query)
        assert generation.extra["batch"] == {"size": 4, "row": row, "padded_input_tokens": padded,
                                             "row_end_s": batch.row_ends[row] - batch.started}
        assert generation.extra["stop_reason"] == "length" and generation.extra["sampling"]["decoding"] == "greedy"
        assert (generation.reasoning_tokens is None) == (not model.spec.reasoning)
    assert len({g.tokens_input for g in batch.generations}) > 1


def test_a_seeded_sampled_batch_repeats_exactly(model: LoadedModel) -> None:
    first = generate_batch(model, QUERIES, NEW_TOKENS, sampling=Sampling(1.0, None, 11))
    again = generate_batch(model, QUERIES, NEW_TOKENS, sampling=Sampling(1.0, None, 11))
    other = generate_batch(model, QUERIES, NEW_TOKENS, sampling=Sampling(1.0, None, 12))
    assert _rows(first) == _rows(again)
    assert _rows(other) != _rows(first)
    assert first.generations[0].extra["sampling"] == {"decoding": "sampling", "temperature": 1.0, "top_p": None,
                                                      "seed": 11}


def _stop_pair(model: LoadedModel) -> tuple[list[str], str]:
    """Two queries and a word that the first one's greedy answer says early and the second's never does."""
    free = generate_batch(model, QUERIES, NEW_TOKENS).generations
    for first in free:
        for second in free:
            for word in re.findall(r"[A-Za-z]{3,}", first.response):
                at = first.response.find(word)
                if 0 < at < len(first.response) // 2 and word not in second.response:
                    return [first.prompt, second.prompt], word
    raise AssertionError("no pair of answers to stop one early")


@pytest.mark.parametrize("alias", ["tiny-phi", "tiny-qwen2"])   # tiny-gpt2 answers ':' to every prompt
def test_a_row_that_stops_early_counts_no_filler(alias: str, tiny_cache: Path) -> None:
    model = _load(alias, tiny_cache)
    queries, stop = _stop_pair(model)
    batch = generate_batch(model, queries, NEW_TOKENS, stop=(stop,))
    stopped, running = batch.generations
    assert stopped.extra["stop_reason"] == "stop" and stopped.extra["stop_matched"] == stop
    assert stop not in stopped.response and stopped.tokens_output < NEW_TOKENS
    assert stopped.extra["tokens_unused"] == NEW_TOKENS - stopped.tokens_output
    assert running.tokens_output == NEW_TOKENS and running.extra["stop_reason"] == "length"
    # The stopped row's pad filler (pad == eos here) is not counted: it is the lone query's generation.
    alone = model.generate(queries[0], NEW_TOKENS, stop=(stop,))
    assert (stopped.response, stopped.tokens_output, stopped.hit_eos) == (alone.response, alone.tokens_output,
                                                                         alone.hit_eos)
    # Timing: one shared prefill; each row ends at its last real token, inside the call.
    first_token = batch.started + stopped.ttft_s
    assert stopped.ttft_s == running.ttft_s and stopped.seconds == running.seconds == batch.ended - batch.started
    assert first_token <= batch.row_ends[0] < batch.row_ends[1] <= batch.ended
    assert stopped.decode_s == pytest.approx(batch.row_ends[0] - first_token)
    assert running.decode_s == pytest.approx(batch.row_ends[1] - first_token)


def test_a_row_ending_with_eos_when_pad_is_eos(tiny_cache: Path) -> None:
    import torch

    model = _load("tiny-phi", tiny_cache)
    ended, running = QUERIES[0], QUERIES[1]

    def greedy_ids(query: str) -> list[int]:
        encoded = model._encode(model.render_prompt(query))
        with torch.inference_mode():
            output = model.model.generate(**encoded, max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0)
        ids: list[int] = output[0, encoded["input_ids"].shape[1]:].tolist()
        return ids

    ended_ids, running_ids = greedy_ids(ended), greedy_ids(running)
    # A token the first answer says early (first time at step > 1) and the second never: made the model's
    # end-of-sequence token and its pad token, GPT-2 style, it ends the first row there.
    step = next(i for i, token in enumerate(ended_ids)
                if i > 1 and token not in ended_ids[:i] and token not in running_ids)
    eos = ended_ids[step]
    model.model.generation_config.eos_token_id = eos
    model.tokenizer.pad_token = model.tokenizer.convert_ids_to_tokens(eos)
    model.eos_ids = model._eos_ids()
    batch = generate_batch(model, [ended, running], NEW_TOKENS)
    first, second = batch.generations
    assert (first.tokens_output, first.hit_eos, first.extra["stop_reason"]) == (step + 1, True, "eos")
    assert (second.tokens_output, second.hit_eos) == (NEW_TOKENS, False)
    alone = model.generate(ended, NEW_TOKENS)
    assert (first.response, first.tokens_output) == (alone.response, alone.tokens_output)
    assert batch.row_ends[0] < batch.row_ends[1]


def test_a_tokenizer_without_pad_token_is_padded_with_eos_and_left_unchanged(tiny_cache: Path) -> None:
    model = _load("tiny-qwen2", tiny_cache)
    model.tokenizer.pad_token = None
    side = model.tokenizer.padding_side
    batch = generate_batch(model, QUERIES, 6)
    assert [g.tokens_output for g in batch.generations] == [6] * 4
    assert model.tokenizer.pad_token is None and model.tokenizer.padding_side == side


def test_random_models_generate_exactly_max_new_tokens_per_row(tiny_cache: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
    [spec] = select_models(("tiny-qwen2@random",), load_registry(), Path.cwd(), 7)
    model = load_model(spec, None)
    assert model.forced_length
    batch = generate_batch(model, QUERIES, 7, stop=("a", "e"))
    for query, generation in zip(QUERIES, batch.generations):
        assert (generation.tokens_output, generation.hit_eos) == (7, False)
        assert generation.extra["stop"] == [] and generation.extra["stop_reason"] == "length"
        assert generation.tokens_input == model.prompt_tokens(query)
    assert len(set(batch.row_ends)) == 1


def test_a_too_long_prompt_in_the_batch_is_one_line(tiny_cache: Path) -> None:
    model = _load("tiny-gpt2", tiny_cache)
    long_query = "canal " * 2100
    with pytest.raises(PromptTooLong, match=r"^prompt of \d+ tokens \+ 4 new tokens exceeds tiny-gpt2's 2048 ") as info:
        generate_batch(model, ["Hi", long_query], 4)
    assert "\n" not in str(info.value)
