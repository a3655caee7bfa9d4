"""Seeded sampling repeats exactly; stop strings stop generation on the tiny models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slm_energy_plugin.backends.registry import load_registry
from slm_energy_plugin.backends.sampling import Sampling
from slm_energy_plugin.backends.stopping import finish, stops_for, style_stops
from slm_energy_plugin.backends.tiny import ensure_tiny
from slm_energy_plugin.backends.transformers_runtime import LoadedModel, load_model

PROMPT = "Tell me a story about a canal."


@pytest.fixture(scope="module", params=["tiny-gpt2", "tiny-phi", "tiny-qwen2"])
def model(request: pytest.FixtureRequest, tiny_cache: Path) -> LoadedModel:
    spec = load_registry().specs[request.param]
    return load_model(spec, ensure_tiny(spec.alias, str(spec.tiny), root=tiny_cache / "tiny"))


def test_same_seed_same_text_other_seed_other_text(model: LoadedModel):
    first = model.generate(PROMPT, 24, sampling=Sampling(1.0, None, 11))
    again = model.generate(PROMPT, 24, sampling=Sampling(1.0, None, 11))
    other = model.generate(PROMPT, 24, sampling=Sampling(1.0, None, 12))
    assert first.response == again.response and first.tokens_output == again.tokens_output
    assert other.response != first.response
    assert first.extra["sampling"] == {"decoding": "sampling", "temperature": 1.0, "top_p": None, "seed": 11}


def test_temperature_zero_is_greedy(model: LoadedModel):
    a = model.generate(PROMPT, 12, sampling=Sampling(0.0, None, 1))
    b = model.generate(PROMPT, 12, sampling=Sampling(0.0, None, 2))
    assert a.response == b.response and a.extra["sampling"]["decoding"] == "greedy"


def test_a_stop_string_stops_generation(model: LoadedModel):
    sampling = Sampling(1.0, None, 5)
    free = model.generate(PROMPT, 32, sampling=sampling)
    assert free.extra["stop_reason"] == "length" and free.tokens_output == 32
    words = [m.group(0) for m in re.finditer(r"[A-Za-z]{4,}", free.response) if m.start() > 5]
    assert words, free.response
    stop = words[0]
    stopped = model.generate(PROMPT, 32, sampling=sampling, stop=(stop,))
    assert stopped.tokens_output < free.tokens_output
    assert stopped.extra["stop_reason"] == "stop" and stopped.extra["stop_matched"] == stop
    assert stop not in stopped.response and free.response.startswith(stopped.response)
    assert stopped.extra["tokens_unused"] == 32 - stopped.tokens_output


def test_stops_per_prompt_style_and_task():
    assert style_stops("plain", "Question: {query}\nAnswer:") == ("\nQuestion:",)
    assert style_stops("plain", "Instruct: {query}\nOutput:") == ("\nInstruct:",)
    assert style_stops("chat", "{query}") == () and style_stops("plain", "{query}") == ()
    assert stops_for("plain", "Question: {query}\nAnswer:", "math") == ("\nQuestion:", "\n\n")
    assert stops_for("plain", "Question: {query}\nAnswer:", "creative", ("END",)) == ("\nQuestion:", "END")


def test_finish_cuts_at_the_earliest_stop():
    out = finish("85\nQuestion: 10 + 10?\n\nAnswer: 20", ("\n\n", "\nQuestion:"), hit_eos=False,
                 tokens_output=12, max_new_tokens=64)
    assert (out.text, out.reason, out.matched, out.tokens_unused) == ("85", "stop", "\nQuestion:", 52)
    assert finish("x", (), hit_eos=True, tokens_output=3, max_new_tokens=8).reason == "eos"
    assert finish("x", (), hit_eos=False, tokens_output=8, max_new_tokens=8).reason == "length"
