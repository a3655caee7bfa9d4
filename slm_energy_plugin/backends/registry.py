"""The model registry (``data/models.json``) and resolution of the names users type.

A name is one of: a registry alias (``phi2``), an existing local model folder, or an
``org/name`` hub id, each optionally followed by ``@random`` (the same architecture with
random weights, built in memory: see :mod:`.shapes`); or a ``config.json`` path followed by
``@random``. Anything else is a usage error raised before a test runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError
from ..paths import data_dir
from .spec import (_HUB_ID, DEVICES, DTYPES, RANDOM_SUFFIX,
                   TINY_ARCHITECTURES, ModelSpec, Registry, prompt_fields, valid_device)

REGISTRY_FILE = "models.json"
_BACKEND_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")   # what may name a backend (an ollama tag has a dot)


def _spec_from_entry(alias: str, entry: Mapping[str, Any], where: str) -> ModelSpec:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: entry {alias!r} must be an object")
    if entry.get("backend", "transformers") != "transformers":  # a served model: see served.py
        from .served import served_spec_from_entry

        return served_spec_from_entry(alias, entry, where)
    known = {"hub_id", "tiny", "path", "revision", "dtype", "device", "prompt_style", "prompt_template",
             "reasoning", "max_new_tokens", "description", "backend"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: model {alias!r} has unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
    sources = [key for key in ("hub_id", "tiny", "path") if entry.get(key)]
    if len(sources) != 1:
        raise ConfigError(f"{where}: model {alias!r} needs exactly one of hub_id, tiny or path")
    dtype = entry.get("dtype", "float32")
    if dtype not in DTYPES:
        raise ConfigError(f"{where}: model {alias!r} has dtype {dtype!r}; choose from {', '.join(DTYPES)}")
    device = str(entry.get("device", "auto"))
    if not valid_device(device):
        raise ConfigError(f"{where}: model {alias!r} has device {device!r}; choose from {', '.join(DEVICES)} or cuda:N")
    style, template, max_new = prompt_fields(entry, alias, where, default_style="plain")
    tiny = entry.get("tiny")
    if tiny is not None and tiny not in TINY_ARCHITECTURES:
        raise ConfigError(f"{where}: model {alias!r} tiny architecture {tiny!r}; choose from {', '.join(TINY_ARCHITECTURES)}")
    source = {"hub_id": "hub", "tiny": "tiny", "path": "local"}[sources[0]]
    return ModelSpec(
        alias=alias,
        source=source,
        hub_id=entry.get("hub_id"),
        local_path=Path(entry["path"]) if entry.get("path") else None,
        tiny=tiny,
        revision=entry.get("revision"),
        dtype=dtype,
        device=device,
        prompt_style=style,
        prompt_template=template,
        reasoning=bool(entry.get("reasoning", False)),
        max_new_tokens=max_new,
    )


def parse_registry(data: Any, where: str) -> Registry:
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), Mapping):
        raise ConfigError(f"{where}: expected an object with a 'models' object")
    specs = {alias: _spec_from_entry(alias, entry, where) for alias, entry in data["models"].items()}
    default = tuple(data.get("default_selection") or specs)
    missing = [alias for alias in default if alias not in specs]
    if missing:
        raise ConfigError(f"{where}: default_selection names unknown model {missing[0]!r}")
    return Registry(specs=specs, default_selection=default, source=where)


@lru_cache(maxsize=4)
def load_registry(path: Path | None = None) -> Registry:
    path = path or data_dir() / REGISTRY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"model registry {str(path)!r} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"model registry {str(path)!r}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_registry(data, str(path))


@lru_cache(maxsize=4)
def registry_for(user_file: Path | None = None) -> Registry:
    """The built-in registry, with a user's own models file (``--energy-registry FILE``) laid over it.

    The file has data/models.json's format. Its models are added (an alias it shares with the
    built-in registry replaces that entry); its ``default_selection``, else its own models in file
    order, is the default selection. A relative ``path`` is taken against the file's folder, so the
    file can sit beside the models it names. No copy of the whole data folder is needed.
    """
    base = load_registry()
    if user_file is None:
        return base
    from ..textfile import parse_json, read_text

    where = str(user_file)
    data = parse_json(read_text(user_file, hint="--energy-registry takes a models file like data/models.json"),
                      where)
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), Mapping) or not data["models"]:
        raise ConfigError(f"{where}: expected an object with a non-empty 'models' object, as in data/models.json")
    own = parse_registry({"models": data["models"],
                          "default_selection": data.get("default_selection") or list(data["models"])}, where)
    specs = {alias: spec if spec.local_path is None or spec.local_path.is_absolute()
             else replace(spec, local_path=(user_file.parent / spec.local_path).resolve())
             for alias, spec in own.specs.items()}
    return Registry(specs={**base.specs, **specs}, default_selection=own.default_selection,
                    source=f"{base.source} + {where}")


def _alias_for_path(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path.resolve().name).strip("-") or "local-model"


def resolve_model(name: str, registry: Registry, cwd: Path) -> ModelSpec:
    """Turn what a user typed into a spec, or say in one line why it is none of the accepted forms."""
    name = name.strip()
    from .served import served_spec_from_name  # openai:NAME / ollama:NAME / any served backend's NAME:model

    served = served_spec_from_name(name)
    if served is not None:
        return served
    if name.endswith(RANDOM_SUFFIX):
        from .shapes import resolve_random

        return resolve_random(name, registry, cwd)
    if name in registry.specs:
        return registry.specs[name]
    candidate = Path(name).expanduser()
    if not candidate.is_absolute():
        candidate = cwd / candidate
    if candidate.is_dir():
        if (candidate / "adapter_config.json").is_file():
            from .adapter import resolve_adapter

            return resolve_adapter(candidate, registry, cwd, resolve_model)
        if not (candidate / "config.json").is_file():
            raise ConfigError(f"model folder {name!r} has no config.json (nor adapter_config.json); "
                              "point at a folder saved with save_pretrained")
        return ModelSpec(alias=_alias_for_path(candidate), source="local", local_path=candidate.resolve())
    if _HUB_ID.match(name):
        return ModelSpec(alias=name.split("/", 1)[1], source="hub", hub_id=name)
    prefix, colon, _ = name.partition(":")
    if colon and _BACKEND_WORD.match(prefix):   # NAME:model with a NAME no package installed
        from .backend_registry import unknown_backend

        raise unknown_backend(prefix, f"model {name!r}")
    aliases = ", ".join(registry.specs)
    raise ConfigError(
        f"unknown model {name!r}: use a registry alias ({aliases}), an existing local model folder, "
        "or a Hugging Face hub id such as org/name"
    )


def per_model_value(overrides: tuple[tuple[str | None, str], ...], alias: str) -> str | None:
    """The value ``--energy-dtype``/``--energy-device`` give this model: its own entry, else the bare one."""
    for target, value in overrides:
        if target == alias:
            return value
    return next((value for target, value in overrides if target is None), None)


def select_models(names: tuple[str, ...] | None, registry: Registry, cwd: Path,
                  max_new_tokens: int | None = None, *,
                  dtypes: tuple[tuple[str | None, str], ...] = (),
                  devices: tuple[tuple[str | None, str], ...] = ()) -> list[ModelSpec]:
    """The specs to parametrize over, in the order given; aliases must be unique.

    ``dtypes``/``devices`` are (alias or None for every model, value) pairs from the options.
    """
    specs = [resolve_model(name, registry, cwd) for name in (names or registry.default_selection)]
    from .served import unique_served_aliases

    specs = unique_served_aliases(specs)   # openai:/a/m and openai:/b/m: openai-a-m, openai-b-m
    seen: dict[str, str] = {}
    for spec, name in zip(specs, names or registry.default_selection):
        if spec.alias in seen and seen[spec.alias] != name:
            raise ConfigError(f"models {seen[spec.alias]!r} and {name!r} would both be called {spec.alias!r}; "
                              "add one to data/models.json under another alias")
        seen[spec.alias] = name
    unique = list({spec.alias: spec for spec in specs}.values())
    if max_new_tokens is not None:
        unique = [replace(spec, max_new_tokens=max_new_tokens) for spec in unique]
    aliases = {spec.alias for spec in unique}
    for option, pairs in (("--energy-dtype", dtypes), ("--energy-device", devices)):
        for target, _ in pairs:
            if target is not None and target not in aliases:
                raise ConfigError(f"{option}: {target!r} is not one of the selected models ({', '.join(sorted(aliases))})")
    unique = [replace(spec, dtype=per_model_value(dtypes, spec.alias) or spec.dtype,
                      device=per_model_value(devices, spec.alias) or spec.device) for spec in unique]
    return unique
