"""The seed carbon calculator's YAML files (config/config.yaml, config/config_model.yaml), read by ``--config``.

Pure: parsed YAML in, this project's configuration sections out (:mod:`.config` validates them like
any other file), with one note per mapping that is not one-to-one, so the output can say how each
file was read.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .seed import PREFILL_PER_DECODE

CHARS_PER_TOKEN = 4.0          # the seed's own ratio (Requete.nb_tokens: characters / 4)
DEFAULT_THROUGHPUT = 60.0      # the seed's fallback generation speed, tokens/s
SEED_GPU = {"power_w": 700.0, "eta": 0.85}     # the seed's fallbacks when a part is missing
SEED_CPU = {"power_w": 70.0, "eta": 0.15}
SEED_HARDWARE_KEY = "seed"
_SEED_REGION_KEYS = {"pue", "carbon_intensity_g_per_kwh", "carbon_intensity"}
_SEED_PROFILE_KEYS = {"throughput_tokens_per_s", "input_characters", "output_characters", "utilization_rate"}


class ConvertedDocument(dict[str, Any]):
    """A seed file rewritten in this project's format, with notes saying what was mapped how."""

    def __init__(self, data: dict[str, Any], notes: list[str]) -> None:
        super().__init__(data)
        self.notes = notes


def _entries(data: Any, section: str) -> dict[Any, Any]:
    body = data.get(section) if isinstance(data, dict) else None
    return body if isinstance(body, dict) else {}


def is_seed_document(data: Any) -> bool:
    """True for the seed calculator's config.yaml / config_model.yaml shapes."""
    if not isinstance(data, dict):
        return False
    if "paths" in data or "default_region" in data:
        return True
    regions = _entries(data, "regions").values()
    hardware = _entries(data, "hardware")
    profiles = _entries(data, "profiles").values()
    return (any(isinstance(r, dict) and _SEED_REGION_KEYS & set(r) for r in regions)
            or any(isinstance(hardware.get(p), dict) and "power_w" in hardware[p] for p in ("gpu", "cpu"))
            or any(isinstance(p, dict) and _SEED_PROFILE_KEYS & set(p) for p in profiles))


def _number(value: Any, origin: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{origin}: {where}: must be a number, got {value!r}")
    return float(value)


def convert_document(data: dict[str, Any], origin: str) -> ConvertedDocument:
    """The seed's keys as this project's sections; every mapping that is not one-to-one is noted."""
    source = f"seed calculator config {origin}"
    notes: list[str] = []
    out: dict[str, Any] = {}
    unknown = sorted(str(k) for k in data if k not in ("paths", "regions", "default_region", "hardware", "profiles"))
    if unknown:
        raise ConfigError(f"{origin}: {unknown[0]}: unknown key in a seed calculator config (expected paths, "
                          "regions, default_region, hardware, profiles)")
    if "paths" in data:
        notes.append(f"{origin}: paths ignored (the seed's analytics file: use --usage-log FILE)")
    regions: dict[str, Any] = {}
    datacenters: dict[str, Any] = {}
    for key, entry in _entries(data, "regions").items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{origin}: regions.{key}: must be a mapping of pue and carbon_intensity_g_per_kwh")
        field = next((f for f in ("carbon_intensity_g_per_kwh", "carbon_intensity") if f in entry), None)
        if field is None:
            regions[key] = entry       # this project's own region form
            continue
        region: dict[str, Any] = {"name": f"{key} (seed calculator figure)", "source": f"{source} (regions.{key}.{field})",
                                  "intensity_g_per_kwh": _number(entry[field], origin, f"regions.{key}.{field}")}
        if "pue" in entry:
            datacenters[key] = {"name": f"{key} (seed calculator PUE)", "source": f"{source} (regions.{key}.pue)",
                                "pue": _number(entry["pue"], origin, f"regions.{key}.pue")}
            region["datacenter"] = key
        regions[key] = region
    if regions:
        out["regions"] = regions
        notes.append(f"{origin}: seed regions {', '.join(map(str, regions))} read with their own grid intensity "
                     "(g CO2e/kWh) and PUE (used unless --datacenter or --pue is given)")
    if datacenters:
        out["datacenters"] = datacenters
    if "default_region" in data:
        out["defaults"] = {"region": data["default_region"]}
    hardware, profiles = _hardware_and_profiles(data, origin, source, notes)
    if hardware:
        out["hardware"] = hardware
        out.setdefault("defaults", {})["hardware"] = SEED_HARDWARE_KEY
    if profiles:
        out["profiles"] = profiles
    return ConvertedDocument(out, notes)


def _hardware_and_profiles(data: dict[str, Any], origin: str, source: str,
                           notes: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    raw_hardware = _entries(data, "hardware")
    profiles: dict[str, Any] = {}
    throughputs: dict[str, float] = {}
    for key, entry in _entries(data, "profiles").items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{origin}: profiles.{key}: must be a mapping")
        if not _SEED_PROFILE_KEYS & set(entry) and "tokens_in" in entry:
            profiles[key] = entry      # this project's own profile form
            continue
        rate = entry.get("utilization_rate", 1.0)
        if _number(rate, origin, f"profiles.{key}.utilization_rate") != 1.0:
            raise ConfigError(f"{origin}: profiles.{key}.utilization_rate: only 1.0 is supported (fold another "
                              f"rate into the PUE), got {rate!r}")
        if "throughput_tokens_per_s" in entry:
            throughputs[str(key)] = _number(entry["throughput_tokens_per_s"], origin,
                                            f"profiles.{key}.throughput_tokens_per_s")
        if "input_characters" not in entry or "output_characters" not in entry:
            notes.append(f"{origin}: profiles.{key} has no input/output_characters (the seed took sizes from its "
                         f"analytics): the built-in {key!r} profile's token sizes are used, if there is one")
            continue
        profiles[key] = {
            "description": str(entry.get("description", "")),
            **{ours: {"value": _number(entry[theirs], origin, f"profiles.{key}.{theirs}") / CHARS_PER_TOKEN,
                      "source": f"{source}: {theirs} / {CHARS_PER_TOKEN:g} (the seed's characters per token)"}
               for ours, theirs in (("tokens_in", "input_characters"), ("tokens_out", "output_characters"))},
        }
    if not any(p in raw_hardware for p in ("gpu", "cpu")):
        if raw_hardware:
            return dict(raw_hardware), profiles
        return {}, profiles
    parts = {}
    for part, fallback in (("gpu", SEED_GPU), ("cpu", SEED_CPU)):
        entry = raw_hardware.get(part)
        if not isinstance(entry, dict):
            notes.append(f"{origin}: hardware.{part} missing: the seed's fallback {fallback} is used")
            entry = fallback
        parts[part] = {f: _number(entry.get(f, fallback[f]), origin, f"hardware.{part}.{f}") for f in fallback}
    eta_cpu = parts["cpu"]["eta"]
    if abs(parts["gpu"]["eta"] - (1.0 - eta_cpu)) > 1e-9:
        notes.append(f"{origin}: hardware.gpu.eta {parts['gpu']['eta']:g} not used: the seed calculator draws "
                     f"1 - cpu.eta = {1 - eta_cpu:g} of the GPU's power")
    default_tps = throughputs.get("chatbot", next(iter(throughputs.values()), DEFAULT_THROUGHPUT))
    if not throughputs:
        notes.append(f"{origin}: no throughput_tokens_per_s: the seed's {DEFAULT_THROUGHPUT:g} tokens/s is used")
    hardware: dict[str, Any] = {}
    variants = {SEED_HARDWARE_KEY: default_tps}
    variants.update({f"{SEED_HARDWARE_KEY}-{k}": v for k, v in throughputs.items() if v != default_tps})
    for key, tps in variants.items():
        hardware[key] = {
            "name": f"seed calculator machine ({tps:g} tokens/s)", "source": source,
            "notes": "GPU and CPU power from the seed calculator's hardware.gpu / hardware.cpu; no RAM term",
            "gpu_count": 1, "gpu_power_w": parts["gpu"]["power_w"], "gpu_util": 1.0 - eta_cpu,
            "cpu_power_w": parts["cpu"]["power_w"], "cpu_util": eta_cpu, "ram_power_w": 0.0,
            "decode_tokens_per_s": {"value": tps, "source": f"{source}: throughput_tokens_per_s"},
            "prefill_tokens_per_s": {"value": tps * PREFILL_PER_DECODE, "source":
                                     f"assumed: {PREFILL_PER_DECODE:g} x the seed's throughput (the seed had one speed)"},
        }
    others = [k for k in variants if k != SEED_HARDWARE_KEY]
    notes.append(f"{origin}: seed hardware read as --hardware {SEED_HARDWARE_KEY} (now the default; decode "
                 f"{default_tps:g} tokens/s, prefill assumed {PREFILL_PER_DECODE:g}x that)"
                 + (f"; profiles with their own throughput: --hardware {', '.join(others)}" if others else ""))
    return hardware, profiles
