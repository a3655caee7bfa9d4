"""What a workload adds to a record's ``extra``: sampling used, stops, load, utilisation.

Pure: reads the test's observation (generations and sampler rows) and returns primitives.
"""

from __future__ import annotations

from typing import Any

from ..perf.sampler import summarise


def workload_extra(observation: Any) -> dict[str, Any]:
    out: dict[str, Any] = dict(observation.extra)
    generations = observation.generations
    if generations:
        last = generations[-1]
        sampling = dict(last.extra.get("sampling") or {})
        if sampling.get("decoding") == "sampling":
            # "seed" is the base seed (round 0's); round r sampled with seed + r.
            sampling["round_seeds"] = [g.extra.get("sampling", {}).get("seed") for g in generations]
            sampling["seed"] = sampling["round_seeds"][0]
        out["sampling"] = sampling
        out["max_tokens"] = last.max_new_tokens
        if "stop_reason" in last.extra:
            out["stop"] = last.extra.get("stop") or []
            out["stop_reason"] = last.extra["stop_reason"]
            out["stop_reasons"] = [g.extra.get("stop_reason") for g in generations]
            out["tokens_unused"] = last.extra.get("tokens_unused")
    if observation.samples:
        out["utilisation"] = summarise(observation.samples)
    return out
