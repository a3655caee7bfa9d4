"""The LLM-Perf leaderboard's measurement protocol, so figures compare with that leaderboard.

Batch 1, 256 input tokens (random ids, fixed seed), exactly 64 new tokens (min = max),
warm-up generations first, then two targets, each repeated until both a minimum time and a
minimum number of iterations have passed, inside one energy window per target:

- prefill: generate 1 new token (the forward pass over the prompt);
- generate: generate all 64 new tokens.

Per iteration, decode = generate - prefill (energy and time). Decode tokens are new tokens - 1
(the first new token comes out of the prefill pass, as in optimum-benchmark), and decode
efficiency is decode tokens per kWh of decode energy.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from ..energy import EnergyMeter, EnergyReading

INPUT_TOKENS = 256
NEW_TOKENS = 64
SEED = 20240917


@dataclass(frozen=True)
class ProtocolSettings:
    input_tokens: int = INPUT_TOKENS
    new_tokens: int = NEW_TOKENS
    batch_size: int = 1
    warmup: int = 10
    min_seconds: float = 10.0
    min_iterations: int = 10


@dataclass(frozen=True)
class TargetResult:
    """One target repeated in one energy window: totals and per-iteration figures."""

    name: str
    iterations: int
    seconds: float
    energy: EnergyReading
    iteration_seconds: tuple[float, ...] = ()

    @property
    def seconds_per_iteration(self) -> float:
        return self.seconds / self.iterations

    @property
    def kwh_per_iteration(self) -> float | None:
        total = self.energy.total_kwh
        return None if total is None else total / self.iterations

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "iterations": self.iterations, "seconds": self.seconds,
                "seconds_per_iteration": self.seconds_per_iteration, "kwh_per_iteration": self.kwh_per_iteration,
                "energy": self.energy.to_dict()}


def run_target(name: str, work: Callable[[], Any], meter: EnergyMeter, min_seconds: float,
               min_iterations: int) -> TargetResult:
    """Repeat ``work`` until both ``min_seconds`` and ``min_iterations`` have passed, in one window."""
    handle = meter.start()
    started = time.perf_counter()
    times: list[float] = []
    while len(times) < min_iterations or time.perf_counter() - started < min_seconds:
        begin = time.perf_counter()
        work()
        times.append(time.perf_counter() - begin)
    reading = meter.stop(handle)
    return TargetResult(name=name, iterations=len(times), seconds=time.perf_counter() - started, energy=reading,
                        iteration_seconds=tuple(times))


def protocol_figures(prefill: TargetResult, generate: TargetResult, settings: ProtocolSettings) -> dict[str, Any]:
    """The leaderboard's figures from the two targets (pure arithmetic, tested by hand)."""
    batch = settings.batch_size
    decode_tokens = batch * (settings.new_tokens - 1)
    prefill_s = prefill.seconds_per_iteration
    decode_s = generate.seconds_per_iteration - prefill_s
    prefill_kwh, generate_kwh = prefill.kwh_per_iteration, generate.kwh_per_iteration
    decode_kwh = None if prefill_kwh is None or generate_kwh is None else generate_kwh - prefill_kwh
    valid_decode = decode_kwh is not None and decode_kwh > 0
    return {
        "prefill_s": prefill_s,
        "generate_s": generate.seconds_per_iteration,
        "decode_s": decode_s,
        "prefill_tokens_per_s": batch * settings.input_tokens / prefill_s if prefill_s > 0 else None,
        "decode_tokens": decode_tokens,
        "decode_tokens_per_s": decode_tokens / decode_s if decode_s > 0 else None,
        "prefill_kwh": prefill_kwh,
        "generate_kwh": generate_kwh,
        "decode_kwh": decode_kwh,
        "decode_kwh_per_token": decode_kwh / decode_tokens if decode_kwh is not None and valid_decode else None,
        "decode_tokens_per_kwh": decode_tokens / decode_kwh if decode_kwh is not None and valid_decode else None,
        "note": None if valid_decode or decode_kwh is None else
        "decode energy came out <= 0 (generate window not above prefill): raise the protocol's minimums",
    }


def random_prompt(vocab_size: int, settings: ProtocolSettings, device: str) -> Any:
    """Random token ids with a fixed seed, as the leaderboard feeds random-weight models."""
    import torch

    generator = torch.Generator().manual_seed(SEED)
    ids = torch.randint(0, vocab_size, (settings.batch_size, settings.input_tokens), generator=generator)
    return ids.to(device)


def run_protocol(loaded: Any, meter: EnergyMeter, settings: ProtocolSettings) -> dict[str, Any]:
    """Run the protocol on a loaded model (:class:`~.models.runtime.LoadedModel`); a JSON-ready dict."""
    limit = loaded.max_positions
    if limit is not None and settings.input_tokens + settings.new_tokens > limit:
        return {"settings": asdict(settings), "skipped": f"{loaded.alias} has {limit} positions, fewer than "
                f"{settings.input_tokens} + {settings.new_tokens}"}
    vocab = int(loaded.model.get_input_embeddings().weight.shape[0])
    ids = random_prompt(vocab, settings, loaded.device)
    started = time.perf_counter()
    for _ in range(settings.warmup):
        loaded.generate_ids(ids, settings.new_tokens)
    warmup_s = time.perf_counter() - started
    prefill = run_target("prefill", lambda: loaded.generate_ids(ids, 1), meter,
                         settings.min_seconds, settings.min_iterations)
    generate = run_target("generate", lambda: loaded.generate_ids(ids, settings.new_tokens), meter,
                          settings.min_seconds, settings.min_iterations)
    return {
        "protocol": "LLM-Perf (optimum-benchmark): batch 1, random input ids, min = max new tokens; "
                    "decode = generate - prefill",
        "settings": asdict(settings),
        "warmup_s": warmup_s,
        "prefill": prefill.to_dict(),
        "generate": generate.to_dict(),
        **protocol_figures(prefill, generate, settings),
    }
