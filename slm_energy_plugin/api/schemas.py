"""Request bodies of the web API (pydantic).

Types and coarse limits live here so the interactive docs show them; the physical bounds of
each quantity (PUE >= 1, utilisation <= 1, ...) are checked by the same validator as the YAML
files (:mod:`slm_energy_plugin.carbon.schema`), so the API and the files accept the same values.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from ..carbon.schema import MAX_BATCH, MAX_COUNT, MAX_TOKENS

Number = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=64, description="a configured name (see the GET listings)")]
Text = Annotated[str, Field(max_length=500)]
Int = Annotated[int, Field(strict=True)]   # a JSON integer: true, 2.5 or "5" are refused, not coerced


class Quantity(BaseModel):
    """A figure with an optional range: low <= value <= high (a range, not a confidence interval)."""

    model_config = ConfigDict(extra="forbid")
    value: Number
    low: Number | None = None
    high: Number | None = None
    source: Text | None = None


QuantityIn = Union[Number, Quantity]


def raw(value: Any) -> Any:
    """The YAML-equivalent form of a number-or-Quantity field."""
    return value.model_dump(exclude_none=True) if isinstance(value, BaseModel) else value


class EstimateRequest(BaseModel):
    """An estimate from configured profiles: anything left out takes the profile's or the default."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"tokens_in": 2000, "tokens_out": 500, "region": "usa", "hardware": "a100", "count": 1000000}]})
    tokens_in: Int | None = Field(None, ge=0, le=MAX_TOKENS, description="input tokens per request")
    tokens_out: Int | None = Field(None, ge=0, le=MAX_TOKENS, description="output tokens per request")
    profile: Name | None = Field(None, description="usage profile (GET /profiles)")
    count: Int | None = Field(None, ge=1, le=MAX_COUNT, description="number of requests")
    batch_size: Int | None = Field(None, ge=1, le=MAX_BATCH)
    region: Name | None = Field(None, description="named region, ISO 3166 alpha-3 code or gcp:REGION (GET /regions)")
    hardware: Name | None = Field(None, description="hardware profile (GET /hardware)")
    datacenter: Name | None = Field(None, description="facility profile (GET /datacenters)")
    pue: float | None = Field(None, ge=1.0, le=5.0, allow_inf_nan=False, description="override the facility's PUE")


class RegionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=200)] = "inline region"
    intensity_g_per_kwh: QuantityIn = Field(description="grid carbon intensity, g CO2e per kWh (0-2000)")
    source: Annotated[str, Field(min_length=1, max_length=500)]
    year: Int | None = Field(None, ge=1900, le=2100)


class HardwareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=200)] = "inline hardware"
    gpu_count: Int = Field(1, ge=0, le=1024)
    gpu_power_w: QuantityIn = Field(description="W per GPU (0-5000)")
    gpu_util: QuantityIn = Field(description="0-1")
    cpu_power_w: QuantityIn = Field(description="W (0-5000)")
    cpu_util: QuantityIn = Field(description="0-1")
    ram_power_w: QuantityIn = Field(description="W (0-5000)")
    prefill_tokens_per_s: QuantityIn = Field(description="input tokens/s per stream (> 0)")
    decode_tokens_per_s: QuantityIn = Field(description="output tokens/s per stream (> 0)")
    source: Text | None = None


class DatacenterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=200)] = "inline datacenter"
    pue: QuantityIn = Field(1.0, description="facility energy / IT energy (1-5)")
    wue_l_per_kwh: QuantityIn | None = Field(None, description="litres of water per kWh of IT energy (0-20)")
    source: Text | None = None


class RawEstimateRequest(BaseModel):
    """An estimate with region, hardware, facility and workload all given inline."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "tokens_in": {"value": 2000, "low": 1000, "high": 4000}, "tokens_out": 500, "count": 1000,
        "region": {"name": "my grid", "intensity_g_per_kwh": 250, "source": "utility report 2024"},
        "hardware": {"gpu_power_w": 300, "gpu_util": {"value": 0.6, "low": 0.4, "high": 0.9}, "cpu_power_w": 50,
                     "cpu_util": 0.2, "ram_power_w": 20, "prefill_tokens_per_s": 5000, "decode_tokens_per_s": 60},
        "datacenter": {"pue": 1.2, "wue_l_per_kwh": 0.5}}]})
    tokens_in: QuantityIn = Field(description="input tokens per request (0-10,000,000)")
    tokens_out: QuantityIn = Field(description="output tokens per request (0-10,000,000)")
    count: Int = Field(1, ge=1, le=MAX_COUNT)
    batch_size: Int = Field(1, ge=1, le=MAX_BATCH)
    region: RegionIn
    hardware: HardwareIn
    datacenter: DatacenterIn | None = Field(None, description="default: PUE 1.0 and no water figure")


# ---------------------------------------------------------------------------------------------
# The seed calculator's POST /calculate-raw, with its field names and its defaults.

class SeedRegion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pue: float = Field(1.3, ge=1.0, le=5.0, allow_inf_nan=False, description="facility energy / IT energy")
    carbon_intensity: float = Field(60.0, ge=0, le=2000, allow_inf_nan=False, description="grid, g CO2e/kWh")


class SeedHardware(BaseModel):
    model_config = ConfigDict(extra="forbid")
    power_gpu: float = Field(700.0, ge=0, le=5000, allow_inf_nan=False, description="GPU power, W")
    power_cpu: float = Field(70.0, ge=0, le=5000, allow_inf_nan=False, description="CPU power, W")
    eta_cpu: float = Field(0.15, ge=0, le=1, allow_inf_nan=False,
                           description="CPU share of the draw (0-1); the GPU draws 1 - eta_cpu of its power")


class SeedProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=200)] = "custom_request"
    input_size: Int = Field(1000, ge=0, le=MAX_TOKENS, description="input tokens per request")
    output_size: Int = Field(500, ge=0, le=MAX_TOKENS, description="output tokens per request")
    throughput: float = Field(60.0, ge=1e-3, le=1e6, allow_inf_nan=False, description="generation speed, tokens/s")
    count: Int = Field(1, ge=1, le=MAX_COUNT, description="number of requests")
    prefill_throughput: float | None = Field(
        None, ge=1e-3, le=1e7, allow_inf_nan=False,
        description="input tokens/s (prefill-decode formula only). Default: 100 x throughput")


class CalculateRawRequest(BaseModel):
    """The seed calculator's payload; ``formula`` picks the time formula (default: prefill-decode)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "region": {"pue": 1.3, "carbon_intensity": 380},
        "hardware": {"power_gpu": 700, "power_cpu": 70, "eta_cpu": 0.15},
        "profile": {"name": "chatbot", "input_size": 2000, "output_size": 500, "throughput": 60, "count": 1000}}]})
    region: SeedRegion
    hardware: SeedHardware
    profile: SeedProfile
    formula: Literal["prefill-decode", "seed"] = Field(
        "prefill-decode", description="prefill-decode (default) or seed: T = (input² + output) / throughput")

    def defaults_used(self) -> tuple[str, ...]:
        """Fields the body left out, which took the seed calculator's defaults."""
        used = []
        for part in ("region", "hardware", "profile"):
            model = getattr(self, part)
            for name in type(model).model_fields:
                if name not in model.model_fields_set and name != "prefill_throughput":
                    used.append(f"{part}.{name}={getattr(model, name)!r}")
        return tuple(used)
