"""Estimator configuration: built-in YAML in data/estimator/, overridden by user files.

Files are read with ``yaml.safe_load`` (no object construction) and validated by
:mod:`.schema`. Later files win entry by entry: a user file that defines ``hardware.a100``
replaces the built-in one, and ``base: a100`` inherits every field it does not set (so
``a100: {base: a100, gpu_util: 0.5}`` tweaks one figure). Grid intensities come from the
per-country table CodeCarbon ships (read by :mod:`slm_energy_plugin.energy.intensity`) and
its cloud-region table, so the built-in files only name regions, never copy numbers.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from ..energy.intensity import SOURCE as COUNTRY_SOURCE
from ..energy.intensity import carbon_context, country_table
from ..errors import ConfigError
from ..textfile import load_yaml, read_text
from ..paths import data_dir
from . import schema, seed_config
from .formulas import Datacenter, Hardware, Region, Span, Workload

SECTIONS = ("regions", "datacenters", "hardware", "profiles", "defaults")
DEFAULT_KEYS = ("region", "datacenter", "hardware", "profile")
CONFIG_ENV = "SLM_ENERGY_ESTIMATOR_CONFIG"   # extra YAML files, separated by os.pathsep
CLOUD_SOURCE = "CodeCarbon cloud/impact.csv"


# ---------------------------------------------------------------------------------------------
# Regions from the data CodeCarbon ships.

def country_region(code: str) -> Region:
    context = carbon_context(code)   # raises ConfigError for an unknown code
    return Region(key=context.country_iso_code, name=context.country_name,
                  intensity_g_per_kwh=Span.point(context.intensity_g_per_kwh, COUNTRY_SOURCE),
                  source=COUNTRY_SOURCE, year=context.year, iso_code=context.country_iso_code)


@lru_cache(maxsize=1)
def world_region() -> Region:
    """Generation-weighted mean of every country in CodeCarbon's table."""
    rows = [r for r in country_table().values()
            if r.get("total_TWh") and r.get("carbon_intensity") is not None]
    total = sum(float(r["total_TWh"]) for r in rows)
    mean = sum(float(r["carbon_intensity"]) * float(r["total_TWh"]) for r in rows) / total
    year = Counter(r.get("year") for r in rows).most_common(1)[0][0]
    source = (f"computed from {COUNTRY_SOURCE}: generation-weighted mean of {len(rows)} countries "
              f"(most figures from {year})")
    return Region(key="world", name="World", intensity_g_per_kwh=Span.point(mean, source),
                  source=source, year=year, iso_code=None)


@lru_cache(maxsize=1)
def cloud_table() -> dict[str, Region]:
    """CodeCarbon's cloud regions, keyed ``provider:region`` (e.g. ``gcp:europe-west1``)."""
    path = files("codecarbon").joinpath("data", "cloud", "impact.csv")
    text = path.read_text(encoding="utf-8-sig")
    table: dict[str, Region] = {}
    for row in csv.DictReader(io.StringIO(text)):
        try:
            intensity = float(row["impact"])
        except (KeyError, TypeError, ValueError):
            continue
        key = f"{row['provider']}:{row['region']}".lower()
        place = ", ".join(p for p in (row.get("city"), row.get("country_name")) if p)
        source = f"{CLOUD_SOURCE} ({row.get('source') or 'provider figure'})"
        table[key] = Region(key=key, name=f"{row['provider'].upper()} {row['region']} ({place})",
                            intensity_g_per_kwh=Span.point(intensity, source), source=source,
                            year=None, iso_code=row.get("countryIsoCode") or None)
    return table


def _resolve(kind: str, argument: str, key: str) -> Region:
    if kind == "country":
        return _renamed(country_region(argument), key)
    if kind == "cloud":
        region = cloud_table().get(argument.lower())
        if region is None:
            raise ConfigError(f"unknown cloud region {argument!r} (CodeCarbon knows "
                              f"{', '.join(sorted(cloud_table())[:3])}, ...)")
        return _renamed(region, key)
    return _renamed(world_region(), key)


def _renamed(region: Region, key: str) -> Region:
    return Region(key, region.name, region.intensity_g_per_kwh, region.source, region.year, region.iso_code,
                  region.datacenter)


# ---------------------------------------------------------------------------------------------
# The merged configuration.

@dataclass(frozen=True)
class EstimatorConfig:
    regions: Mapping[str, Region]          # named in YAML; ISO codes and cloud regions resolve too
    datacenters: Mapping[str, Datacenter]
    hardware: Mapping[str, Hardware]
    profiles: Mapping[str, Workload]
    defaults: Mapping[str, str]
    files: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)   # how files in another tool's format were read

    def region(self, key: str | None) -> Region:
        key = (key or self.defaults["region"]).strip()
        if key.lower() in self.regions:
            return self.regions[key.lower()]
        if key.upper() in country_table():
            return country_region(key.upper())
        if key.lower() in cloud_table():
            return cloud_table()[key.lower()]
        raise ConfigError(f"unknown region {key!r}{_suggest(key, self.regions)}: use a named region "
                          f"({', '.join(sorted(self.regions)[:6])}, ...), an ISO 3166 alpha-3 country code "
                          "such as FRA, or a cloud region such as gcp:europe-west1 "
                          "(list them with `slm-energy estimate --list regions`)")

    def datacenter(self, key: str | None, hardware: Hardware | None = None, region: Region | None = None) -> Datacenter:
        """The named facility, else the hardware's usual one, else the region's (seed regions carry a PUE),
        else the default."""
        key = (key or (hardware.datacenter if hardware else None) or (region.datacenter if region else None)
               or self.defaults["datacenter"])
        found: Datacenter = self._lookup("datacenter", self.datacenters, key)
        return found

    def hardware_profile(self, key: str | None) -> Hardware:
        found: Hardware = self._lookup("hardware", self.hardware, key or self.defaults["hardware"])
        return found

    def profile(self, key: str | None) -> Workload:
        found: Workload = self._lookup("profile", self.profiles, key or self.defaults["profile"])
        return found

    @staticmethod
    def _lookup(kind: str, table: Mapping[str, Any], key: str) -> Any:
        found = table.get(key.strip().lower())
        if found is None:
            listing = "datacenters" if kind == "datacenter" else ("hardware" if kind == "hardware" else "profiles")
            raise ConfigError(f"unknown {kind} {key!r}{_suggest(key, table)}: known are "
                              f"{', '.join(sorted(table))} (see `slm-energy estimate --list {listing}`)")
        return found


def _suggest(key: str, table: Iterable[str]) -> str:
    close = difflib.get_close_matches(key.lower(), list(table), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---------------------------------------------------------------------------------------------
# Reading and merging files.

def parse_yaml(text: str, origin: str, deadline: float | None = None) -> Any:
    """Safe-load YAML; a syntax error names the file, line and column (``deadline``: see load_yaml)."""
    try:
        return load_yaml(text, deadline)   # safe_load, with alias expansion, depth and number length bounded
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ConfigError(f"{origin}: {where}not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{origin}: YAML nested too deeply") from None


def read_document(path: Path) -> tuple[str, Mapping[str, Any]]:
    origin = str(path)
    return origin, check_document(parse_yaml(read_text(path), origin), origin)


def check_document(data: Any, origin: str) -> Mapping[str, Any]:
    if data is None:
        return {}
    if seed_config.is_seed_document(data):
        # The seed calculator's config.yaml / config_model.yaml, rewritten (with notes) into ours.
        data = seed_config.convert_document(data, origin)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: the top level must be a mapping of sections ({', '.join(SECTIONS)})")
    for section, body in data.items():
        if section not in SECTIONS:
            raise schema.fail(origin, str(section), f"unknown section (expected one of {', '.join(SECTIONS)})")
        if body is not None and not isinstance(body, Mapping):
            raise schema.fail(origin, section, "must be a mapping of names to entries", body)
    return data


def build_config(documents: Sequence[tuple[str, Mapping[str, Any]]]) -> EstimatorConfig:
    """Merge parsed documents in order (later wins) and validate every entry."""
    merged: dict[str, dict[str, tuple[dict[str, tuple[Any, str]], str]]] = {s: {} for s in SECTIONS[:-1]}
    defaults: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    for origin, document in documents:
        notes.extend(getattr(document, "notes", ()))
        for section, body in document.items():
            for raw_key, entry in (body or {}).items():
                key = schema.check_key(raw_key, origin, f"{section}.{raw_key}")
                if section == "defaults":
                    if key not in DEFAULT_KEYS:
                        raise schema.fail(origin, f"defaults.{key}",
                                          f"unknown key (expected one of {', '.join(DEFAULT_KEYS)})")
                    defaults[key] = (schema.check_key(entry, origin, f"defaults.{key}"), origin)
                    continue
                merged[section][key] = (_entry_fields(merged[section], section, key, entry, origin), origin)
    for key in DEFAULT_KEYS:
        if key not in defaults:
            raise ConfigError(f"no default {key}: the built-in data/estimator/defaults.yaml is missing or broken")
    config = EstimatorConfig(
        regions={k: schema.build_region(k, f, o, _resolve) for k, (f, o) in merged["regions"].items()},
        datacenters={k: schema.build_datacenter(k, f, o) for k, (f, o) in merged["datacenters"].items()},
        hardware={k: schema.build_hardware(k, f, o) for k, (f, o) in merged["hardware"].items()},
        profiles={k: schema.build_profile(k, f, o) for k, (f, o) in merged["profiles"].items()},
        defaults={k: v for k, (v, _) in defaults.items()},
        files=tuple(origin for origin, _ in documents),
        notes=tuple(notes),
    )
    _check_references(config, merged, defaults)
    return config


def _entry_fields(existing: Mapping[str, tuple[dict[str, tuple[Any, str]], str]], section: str, key: str,
                  entry: Any, origin: str) -> dict[str, tuple[Any, str]]:
    if not isinstance(entry, Mapping):
        raise schema.fail(origin, f"{section}.{key}", "must be a mapping of fields", entry)
    fields: dict[str, tuple[Any, str]] = {}
    if "base" in entry:
        base = schema.check_key(entry["base"], origin, f"{section}.{key}.base")
        if base not in existing:
            raise schema.fail(origin, f"{section}.{key}.base", f"no earlier {section} entry of that name",
                              entry["base"])
        fields.update(existing[base][0])
    for name, value in entry.items():
        if name != "base":
            fields[str(name)] = (value, origin)
    return fields


def _check_references(config: EstimatorConfig, merged: Mapping[str, Any],
                      defaults: Mapping[str, tuple[str, str]]) -> None:
    for key, hardware in config.hardware.items():
        if hardware.datacenter and hardware.datacenter not in config.datacenters:
            origin = merged["hardware"][key][0]["datacenter"][1]
            raise schema.fail(origin, f"hardware.{key}.datacenter", "no datacenter of that name", hardware.datacenter)
    for key, region in config.regions.items():
        if region.datacenter and region.datacenter not in config.datacenters:
            origin = merged["regions"][key][0]["datacenter"][1]
            raise schema.fail(origin, f"regions.{key}.datacenter", "no datacenter of that name", region.datacenter)
    for name, (value, origin) in defaults.items():
        try:
            checks: dict[str, Callable[..., object]] = {
                "region": config.region, "datacenter": config.datacenter,
                "hardware": config.hardware_profile, "profile": config.profile}
            check = checks[name]
            check(value)
        except ConfigError as exc:
            raise schema.fail(origin, f"defaults.{name}", str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Where the files are.

def builtin_dir() -> Path:
    return data_dir() / "estimator"


def user_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "slm-energy" / "estimator"


def config_paths(extra: Sequence[Path] = (), include_user: bool = True) -> list[Path]:
    """Built-ins, then the user's folder, then $SLM_ENERGY_ESTIMATOR_CONFIG, then ``extra``."""
    paths = sorted(builtin_dir().glob("*.yaml"))
    if not paths:
        raise ConfigError(f"no built-in estimator data in {builtin_dir()}; reinstall the package")
    if include_user:
        folder = user_dir()
        if folder.is_dir():
            paths += sorted(folder.glob("*.yaml"))
        env = os.environ.get(CONFIG_ENV, "")
        paths += [Path(p) for p in env.split(os.pathsep) if p]
    return paths + [Path(p) for p in extra]


def load_config(extra: Sequence[Path] = (), include_user: bool = True) -> EstimatorConfig:
    return build_config([read_document(path) for path in config_paths(extra, include_user)])


def config_from_text(text: str, origin: str) -> EstimatorConfig:
    """Built-ins plus one document given as text (no user files): for tests and tools."""
    documents = [read_document(path) for path in config_paths(include_user=False)]
    documents.append((origin, check_document(parse_yaml(text, origin), origin)))
    return build_config(documents)
