"""Realistic model runs and seed-format files for the statistics, gate and compare tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.energy.units import J_PER_KWH  # noqa: F401 - the tests that use this factory take it from here
from slm_energy_plugin.results.records import ModelInfo, ModelRun, QueryRecord

ESTIMATED = {"cpu": "cpu-load-estimate", "ram": "ram-constant-estimate", "gpu": "absent"}
MEASURED = {"cpu": "rapl", "ram": "rapl", "gpu": "absent"}


def make_run(alias: str, energy_j: Sequence[float], *, methods=ESTIMATED, seconds_per_joule: float = 0.02,
             tokens: Sequence[int] | None = None, correct: Sequence[bool] | None = None,
             run_id: str = "20250101T120000Z-abc123", texts: Sequence[str] | None = None,
             query_ids: Sequence[str] | None = None, intensity_g_per_kwh: float = 384.0) -> ModelRun:
    """One model's run: per query an energy reading (CPU 80% / RAM 20%), a duration that
    follows the energy, output tokens, emissions at the given grid intensity, scores."""
    records = []
    for i, joules in enumerate(energy_j):
        kwh = joules / J_PER_KWH
        duration = joules * seconds_per_joule
        reading = EnergyReading(duration_s=duration, cpu_kwh=0.8 * kwh, gpu_kwh=None, ram_kwh=0.2 * kwh,
                                methods=dict(methods), meter="codecarbon")
        qid = query_ids[i] if query_ids else f"q{i + 1:03d}"
        records.append(QueryRecord(
            model=alias, query_id=qid, query=texts[i] if texts else f"What is {i} + {i}?",
            response=f"The answer is {2 * i}.", tokens_input=12 + i % 5,
            tokens_output=int(tokens[i]) if tokens is not None else 32, duration_s=duration, sequence=i,
            energy=reading, emissions_kg=kwh * intensity_g_per_kwh / 1000.0, ttft_s=duration / 10,
            scores={} if correct is None else {"correct": bool(correct[i])}, test_id=f"test_q[{alias}-{qid}]",
        ))
    info = ModelInfo(alias=alias, model_id=f"org/{alias}", parameters=124_000_000)
    return ModelRun(info=info, records=tuple(records), run_id=run_id, meter={"name": "codecarbon"})


def lognormal_energies(median_j: float, n: int, seed: int, sigma: float = 0.3) -> list[float]:
    return list(np.random.default_rng(seed).lognormal(np.log(median_j), sigma, n))


def three_models(n: int = 40, methods=ESTIMATED, **kwargs) -> list[ModelRun]:
    """gpt2 < deepseek-r1-1.5b < phi2 in energy, with per-query difficulty shared by all."""
    difficulty = np.random.default_rng(1).lognormal(0, 0.5, n)
    noise = np.random.default_rng(2)
    runs = []
    for alias, scale in (("gpt2", 1.0), ("deepseek-r1-1.5b", 2.6), ("phi2", 4.1)):
        energies = 5.0 * scale * difficulty * noise.lognormal(0, 0.1, n)
        runs.append(make_run(alias, energies, methods=methods, **kwargs))
    return runs


def seed_model_dict(model: str, emissions_kg: Sequence[float], durations: Sequence[float],
                    queries: Sequence[str] | None = None) -> dict[str, Any]:
    """One model's results with only the original SLM Green Benchmark fields."""
    history = [
        {"query": queries[i] if queries else f"What is {i} + {i}?", "response": f"{2 * i}",
         "emissions": e, "duration_s": d, "tokens_input": 10, "tokens_output": 20, "timestamp": i}
        for i, (e, d) in enumerate(zip(emissions_kg, durations))
    ]
    return {"model": model, "device": "cpu", "total_emissions": sum(emissions_kg),
            "total_queries": len(history), "avg_emissions_per_query": sum(emissions_kg) / len(history),
            "total_time_s": sum(durations), "avg_time_s_per_query": sum(durations) / len(history),
            "query_history": history}


def write_seed_file(path: Path, model: str, emissions_kg: Sequence[float], durations: Sequence[float],
                    queries: Sequence[str] | None = None) -> Path:
    """A file with only the original SLM Green Benchmark fields."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(seed_model_dict(model, emissions_kg, durations, queries), indent=2),
                    encoding="utf-8")
    return path
