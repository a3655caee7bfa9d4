"""Synthetic measured runs with known throughputs and power, for estimator tests."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from slm_energy_plugin.energy.intensity import CarbonContext, carbon_context
from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.results.records import ModelInfo, ModelRun, QueryRecord
from slm_energy_plugin.results.storage import new_run_dir, write_model_runs

from ..run_factory import ESTIMATED

MEASURED = {"cpu": "rapl", "gpu": "nvml", "ram": "rapl"}


def synthetic_run(alias: str = "toy", prefill: float = 800.0, decode: float = 25.0,
                  power: Mapping[str, float] | None = None, methods: Mapping[str, str] = ESTIMATED,
                  n: int = 60, noise: float = 0.01, seed: int = 0, max_in: int = 2000,
                  carbon: CarbonContext | None = None) -> ModelRun:
    """Queries whose duration is tokens_in/prefill + tokens_out/decode and whose energy per
    component is power x duration, each with ``noise`` relative Gaussian jitter."""
    power = dict(power or {"cpu": 35.0, "ram": 5.0})
    carbon = carbon or carbon_context("USA")
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        tokens_in = int(rng.integers(50, max_in))
        tokens_out = int(rng.integers(8, 128))
        ttft = tokens_in / prefill + 1 / decode          # the first token comes with the prefill
        decode_s = (tokens_out - 1) / decode
        duration = (ttft + decode_s) * (1 + noise * rng.standard_normal())
        kwh = {c: power[c] * duration * (1 + noise * rng.standard_normal()) / 3.6e6 if c in power else None
               for c in ("cpu", "gpu", "ram")}
        reading = EnergyReading(duration_s=duration, cpu_kwh=kwh["cpu"], gpu_kwh=kwh["gpu"], ram_kwh=kwh["ram"],
                                methods=dict(methods), meter="synthetic")
        records.append(QueryRecord(
            model=alias, query_id=f"q{i + 1:03d}", query=f"question {i}", response="answer",
            tokens_input=tokens_in, tokens_output=tokens_out, duration_s=duration, sequence=i,
            energy=reading, emissions_kg=carbon.emissions_kg(reading.total_kwh), ttft_s=ttft, decode_s=decode_s,
        ))
    return ModelRun(info=ModelInfo(alias=alias, model_id=f"synthetic/{alias}"), records=tuple(records),
                    carbon=carbon, run_id="synthetic-run")


def write_run(tmp_path: Path, *runs: ModelRun) -> Path:
    """A real run folder on disk, as the plugin writes it."""
    run_dir = new_run_dir(tmp_path / "results")
    write_model_runs(run_dir, runs)
    return run_dir
