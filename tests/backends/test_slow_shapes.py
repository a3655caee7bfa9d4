"""Full-size shape-faithful models load and generate in bfloat16 (slow: SLM_ENERGY_SLOW=1).

phi2@random builds 2.78 B parameters (5.6 GB in bfloat16), deepseek-r1-1.5b@random 1.78 B
(3.6 GB); each is freed before the next. Timings of the last run are in BENCHMARKS.md.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

from slm_energy_plugin.backends.registry import load_registry, select_models
from slm_energy_plugin.backends.transformers_runtime import load_model

from .test_shapes import REAL_SHAPES


@pytest.mark.slow
@pytest.mark.parametrize("alias", ["phi2@random", "deepseek-r1-1.5b@random"])
def test_full_size_random_models_generate_in_bfloat16(alias: str) -> None:
    [spec] = select_models((alias,), load_registry(), Path.cwd(), 4, dtypes=((None, "bfloat16"),))
    started = time.perf_counter()
    loaded = load_model(spec, None)
    built = time.perf_counter() - started
    try:
        cls, params, _ = REAL_SHAPES[alias]
        assert type(loaded.model).__name__ == cls and loaded.parameters == params
        assert str(loaded.model.dtype) == "torch.bfloat16" and loaded.weight_bytes == 2 * params
        generation = loaded.generate("What is 7 + 5?", 4)
        assert generation.tokens_output == 4 and generation.decode_tokens_per_s
        print(f"{alias}: built in {built:.1f} s; 4 tokens in {generation.seconds:.1f} s "
              f"(TTFT {generation.ttft_s:.2f} s, decode {generation.decode_tokens_per_s:.2f} tokens/s)")
    finally:
        del loaded
        gc.collect()
