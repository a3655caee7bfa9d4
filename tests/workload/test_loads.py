"""Load prompts: exact token counts at or just under each target, and the long load fits the tiny models."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.backends.registry import load_registry
from slm_energy_plugin.backends.tiny import ensure_tiny
from slm_energy_plugin.backends.transformers_runtime import load_model
from slm_energy_plugin.workload.loads import LOADS, build_load_prompt, source_words


@pytest.mark.parametrize("alias", ["tiny-gpt2", "tiny-phi", "tiny-qwen2"])
def test_load_prompts_hit_their_targets_and_fit(alias: str, tiny_cache: Path):
    spec = load_registry().specs[alias]
    model = load_model(spec, ensure_tiny(alias, str(spec.tiny), root=tiny_cache / "tiny"))
    assert model.max_positions is not None and model.max_positions >= 2048
    counts = []
    for load in LOADS:
        built = build_load_prompt(load, model.prompt_tokens)
        assert built.tokens == model.prompt_tokens(built.prompt) <= load.target_tokens
        # Maximal to the word: one more word would pass the target.
        assert model.prompt_tokens(built.prompt + " " + source_words()[built.words % len(source_words())]) \
            > load.target_tokens or built.tokens >= load.target_tokens - 1
        assert built.tokens >= 0.9 * load.target_tokens
        counts.append(built.tokens)
    assert counts == sorted(counts)
    long_prompt = build_load_prompt(LOADS[-1], model.prompt_tokens).prompt
    generated = model.generate(long_prompt, 16)
    assert generated.tokens_input == counts[-1] and generated.tokens_output >= 1


def test_a_2048_token_prompt_fits_the_tiny_models(tiny_cache: Path):
    spec = load_registry().specs["tiny-gpt2"]
    model = load_model(spec, ensure_tiny("tiny-gpt2", "gpt2", root=tiny_cache / "tiny"))
    from slm_energy_plugin.workload.loads import Load

    built = build_load_prompt(Load("max", 2040), model.prompt_tokens)
    assert built.text_passes >= 1
    generated = model.generate(built.prompt, 8)
    assert generated.tokens_input + generated.tokens_output <= 2048
