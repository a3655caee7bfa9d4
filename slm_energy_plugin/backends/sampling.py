"""Decoding settings: greedy, or seeded sampling that a later run can repeat exactly.

Greedy when the temperature is 0 (the default for the math queries). With a temperature
above 0 each round samples with its own recorded seed, ``base seed + round index``, so the
round's text can be regenerated: same seed, same model, same machine -> same tokens.
``top_k`` is switched off (transformers' generation config defaults it to 50): temperature
and ``top_p`` alone shape the distribution, as in OpenAI-style APIs and the seed runner.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

DEFAULT_SEED = 0


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0
    top_p: float | None = None
    seed: int = DEFAULT_SEED          # the base seed; round r samples with seed + r

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def for_round(self, round_index: int) -> "Sampling":
        return replace(self, seed=self.seed + round_index)

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``model.generate``."""
        if self.greedy:
            return {"do_sample": False}
        return {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p or 1.0, "top_k": 0}

    def to_dict(self) -> dict[str, Any]:
        if self.greedy:
            return {"decoding": "greedy", "temperature": 0.0, "top_p": None, "seed": None}
        return {"decoding": "sampling", "temperature": self.temperature, "top_p": self.top_p, "seed": self.seed}


def seed_generator(sampling: Sampling | None) -> None:
    """Seed torch's generators (CPU and every GPU) for one sampled round; greedy needs none."""
    if sampling is None or sampling.greedy:
        return
    import torch

    torch.manual_seed(sampling.seed)   # also seeds CUDA devices (torch >= 1.x)
