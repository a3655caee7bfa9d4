"""The carbon calculator this estimator replaces: its payload, its time formula, its answer's keys.

Pure: no I/O. The seed calculator (CLI ``--in_tok/--out_tok/--region``, FastAPI
``POST /calculate-raw``, notebook) computed one request as

    T (s)        = (input² + output) / throughput                       <- the seed's time formula
    E (J)        = (power_gpu x (1 - eta_cpu) + power_cpu x eta_cpu) x T x PUE
    CO2 (g)      = E / 3.6e6 x carbon_intensity (g CO2e/kWh)

Its power and carbon steps are this project's formulas (:mod:`.formulas`) with GPU
utilisation ``1 - eta_cpu``, CPU utilisation ``eta_cpu`` and no RAM term, so both formulas
below share them; only the time differs. By default the time is this project's
prefill/decode physics; ``"formula": "seed"`` reproduces the old numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .formulas import Datacenter, Hardware, Region, Span, Workload, carbon_g, energy_kwh, estimate, it_power_w

PHYSICS = "prefill-decode"
SEED = "seed"
FORMULAS = (PHYSICS, SEED)

# The seed gives one throughput (its "generation speed"); prefill needs its own. Input tokens
# are processed in parallel: the built-in A100, T4 and RTX 4090 profiles (data/estimator/hardware.yaml)
# prefill 90-95x faster than they decode, and the seed's own commented-out alternative was
# input / 100. So the default prefill throughput is 100 x the given throughput, stated in the answer.
PREFILL_PER_DECODE = 100.0

TIME_FORMULAS = {
    PHYSICS: "input_size / prefill_throughput + output_size / throughput",
    SEED: "(input_size² + output_size) / throughput",
}
WHY_DEFAULT_DIFFERS = (
    "The seed formula adds input² to output tokens and divides by tokens per second, so its result has no "
    "consistent unit, and doubling the prompt quadruples the time on any hardware (at 2,000 input and 500 output "
    "tokens the square is 8,000 times the output term). Real serving processes prompt tokens in parallel "
    "(prefill) and generates output tokens one at a time (decode), so an output token costs far more than an "
    "input token; attention's quadratic term only matters at contexts of tens of thousands of tokens. "
    "Send \"formula\": \"seed\" to reproduce the old numbers.")
PROVENANCE = ("estimated: computed from the given power, CPU share, throughput, PUE and grid intensity; "
              "nothing was measured")


def seed_time_s(input_size: float, output_size: float, throughput: float) -> float:
    """The seed's T = input²/throughput + output/throughput (kept only to reconcile old numbers)."""
    return (input_size * input_size + output_size) / throughput


@dataclass(frozen=True)
class SeedRequest:
    """The seed's ``/calculate-raw`` fields (its names), plus the two this project adds."""

    pue: float
    carbon_intensity: float          # g CO2e/kWh, as the seed documented
    power_gpu: float                 # W
    power_cpu: float                 # W
    eta_cpu: float                   # CPU share of the power, 0..1; the GPU gets 1 - eta_cpu
    name: str
    input_size: int
    output_size: int
    throughput: float                # tokens/s
    count: int
    formula: str = PHYSICS
    prefill_throughput: float | None = None
    defaults_used: tuple[str, ...] = ()

    def prefill_tokens_per_s(self) -> tuple[float, str]:
        if self.prefill_throughput is not None:
            return self.prefill_throughput, "given (profile.prefill_throughput)"
        return (self.throughput * PREFILL_PER_DECODE,
                f"assumed: {PREFILL_PER_DECODE:g} x throughput (built-in GPU profiles prefill 90-95x faster than "
                "they decode; the seed's own commented alternative was input / 100); set profile.prefill_throughput")


def seed_hardware(key: str, name: str, power_gpu: float, power_cpu: float, eta_cpu: float,
                  decode_tps: float, prefill_tps: float, source: str, prefill_source: str) -> Hardware:
    """The seed's machine as an estimator hardware profile (GPU share 1 - eta_cpu, no RAM term)."""
    def point(value: float, why: str = source) -> Span:
        return Span.point(float(value), why)
    return Hardware(
        key=key, name=name, gpu_power_w=point(power_gpu), gpu_util=point(1.0 - eta_cpu, f"1 - eta_cpu ({source})"),
        cpu_power_w=point(power_cpu), cpu_util=point(eta_cpu, f"eta_cpu ({source})"),
        ram_power_w=point(0.0, "the seed calculator has no RAM term"),
        prefill_tokens_per_s=point(prefill_tps, prefill_source), decode_tokens_per_s=point(decode_tps),
        gpu_count=1, notes="from the seed calculator's configuration")


def calculate(request: SeedRequest) -> dict[str, Any]:
    """The answer to ``POST /calculate-raw``: per request and for ``count``, saying which formula ran."""
    source = "request body (seed calculator payload)"
    prefill, prefill_source = request.prefill_tokens_per_s()
    hardware = seed_hardware("calculate-raw", request.name, request.power_gpu, request.power_cpu, request.eta_cpu,
                             request.throughput, prefill, source, prefill_source)
    region = Region("calculate-raw", "request region", Span.point(request.carbon_intensity, source), source)
    datacenter = Datacenter("calculate-raw", "request facility", Span.point(request.pue, source), None, source)
    workload = Workload(Span.point(request.input_size, source), Span.point(request.output_size, source),
                        request.count, 1, request.name)
    physics = estimate(workload, hardware, region, datacenter)
    power = it_power_w(request.power_gpu, 1.0 - request.eta_cpu, request.power_cpu, request.eta_cpu, 0.0)
    figures = {
        PHYSICS: _figures(physics.time_s.value, physics.energy_kwh.value, physics.carbon_g.value, request.count),
        SEED: _seed_figures(request, power),
    }
    chosen = figures[request.formula]
    other = SEED if request.formula == PHYSICS else PHYSICS
    per, total = chosen["per_request"], chosen["total"]
    return {
        "formula": {
            "name": request.formula, "time_per_request": TIME_FORMULAS[request.formula],
            "energy": "(power_gpu x (1 - eta_cpu) + power_cpu x eta_cpu) x time x pue / 3.6e6 (kWh)",
            "carbon": "energy_kwh x carbon_intensity (g CO2e/kWh)",
            "why_default_differs": WHY_DEFAULT_DIFFERS,
        },
        "energy_provenance": PROVENANCE,
        "per_request": per,
        "total": total,
        "inputs": {
            "profile": request.name, "volume": request.count, "region_carbon": request.carbon_intensity,
            "pue": request.pue, "power_gpu": request.power_gpu, "power_cpu": request.power_cpu,
            "eta_cpu": request.eta_cpu, "input_size": request.input_size, "output_size": request.output_size,
            "throughput": request.throughput,
            **({"prefill_throughput": prefill, "prefill_throughput_source": prefill_source}
               if request.formula == PHYSICS else {}),
            "power_w": power,
            "defaults_used": list(request.defaults_used),
        },
        # The seed's own answer keys, so its clients keep reading them (unrounded here).
        "performance": {"time_per_request_sec": per["time_s"], "formula_used": request.formula},
        "results": {"unit_kWh": per["energy_kwh"], "unit_gCO2e": per["carbon_gco2e"],
                    "total_kWh": total["energy_kwh"], "total_gCO2e": total["carbon_gco2e"],
                    "total_kgCO2e": total["carbon_gco2e"] / 1000.0},
        "other_formula": {"name": other, "time_per_request": TIME_FORMULAS[other], **figures[other]},
    }


def _figures(time_s: float, kwh: float, grams: float, count: int) -> dict[str, Any]:
    return {"per_request": {"time_s": time_s, "energy_kwh": kwh, "carbon_gco2e": grams},
            "total": {"count": count, "energy_kwh": kwh * count, "carbon_gco2e": grams * count,
                      "time_s": time_s * count}}


def _seed_figures(request: SeedRequest, power: float) -> dict[str, Any]:
    time = seed_time_s(request.input_size, request.output_size, request.throughput)
    kwh = energy_kwh(power, time, request.pue)
    return _figures(time, kwh, carbon_g(kwh, request.carbon_intensity), request.count)

