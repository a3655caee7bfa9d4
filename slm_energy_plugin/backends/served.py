"""Served models: what ``openai:NAME`` / ``ollama:NAME`` and registry entries with a ``backend`` mean.

Pure (no I/O, no network): names and registry entries become :class:`ModelSpec` values whose
``backend`` says which client runs them (any served backend installed in the ``slm_energy.backends``
entry-point group: see backend_registry.py); the base URL is settled here, once, so the record
names the server every query went to. Credentials never enter a spec: a registry entry names
the *environment variable* that holds the API key (``api_key_env``), and URLs are stripped of
any ``user:password@`` part before they are recorded.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import replace
from typing import Any, Mapping
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..safety import strip_credentials as strip_credentials  # the one source; re-exported for the backends
from .spec import ModelSpec, prompt_fields

OPENAI_DEFAULT_URL = "http://127.0.0.1:8000/v1"
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENTRY_KEYS = frozenset({"backend", "model", "base_url", "api_key_env", "tokenizer", "prompt_style",
                         "prompt_template", "reasoning", "max_new_tokens", "description"})


def _alias(backend: str, served_name: str, parts: int = 1) -> str:
    """``openai-<basename>``: the last ``parts`` components of a path-like name (``/srv/m/tiny-qwen2``,
    ``Qwen/Qwen2.5-0.5B``), so files and pytest ids stay short. Aliases name files and pytest
    ids: safe characters only."""
    components = [c for c in served_name.split("/") if c]
    tail = "-".join(components[-parts:]) if components else served_name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{backend}-{tail}").strip("-")


def unique_served_aliases(specs: list[ModelSpec]) -> list[ModelSpec]:
    """Typed served models whose short aliases collide (``/a/m`` and ``/b/m`` are both ``openai-m``)
    take one more path component each until they differ (``openai-a-m``, ``openai-b-m``); the whole
    name, at worst. Registry entries keep their own aliases."""
    parts = {i: 1 for i, spec in enumerate(specs)   # typed ones: the alias is the short one
             if spec.source == "served" and spec.alias == _alias(spec.backend, str(spec.served_name))}
    while True:
        names: dict[str, set[tuple[str, str | None]]] = {}
        for i, spec in enumerate(specs):
            alias = _alias(spec.backend, str(spec.served_name), parts[i]) if i in parts else spec.alias
            names.setdefault(alias, set()).add((spec.backend, spec.served_name) if i in parts else (spec.alias, None))
        clashing = {alias for alias, owners in names.items() if len(owners) > 1}
        grow = [i for i in parts if _alias(specs[i].backend, str(specs[i].served_name), parts[i]) in clashing
                and parts[i] < len([c for c in str(specs[i].served_name).split("/") if c])]
        if not grow:
            break
        for i in grow:
            parts[i] += 1
    return [replace(spec, alias=_alias(spec.backend, str(spec.served_name), parts[i])) if i in parts else spec
            for i, spec in enumerate(specs)]


def served_spec_from_name(name: str) -> ModelSpec | None:
    """``BACKEND:NAME`` (``openai:NAME``, ``ollama:NAME``, any installed served backend) as typed in
    ``--energy-models``; None for anything else.

    Chat models are the common case on servers, so typed names default to the chat style.
    """
    from .backend_registry import get_backend, is_backend_name

    backend, sep, served_name = name.partition(":")
    if not sep or not is_backend_name(backend):
        return None
    found = get_backend(backend, repr(name))
    if not found.served:
        raise ConfigError(f"{name!r}: backend {backend!r} runs models in this process: name a registry alias "
                          "or a model folder instead")
    served_name = served_name.strip()
    if not served_name:
        raise ConfigError(f"{name!r}: name the served model after '{backend}:', e.g. {backend}:qwen2.5:0.5b")
    # A typed openai: name sends $OPENAI_API_KEY when it is set (the openai client's convention).
    return ModelSpec(alias=_alias(backend, served_name), source="served", backend=backend,
                     served_name=served_name, prompt_style="chat", api_key_env=found.api_key_env)


def served_spec_from_entry(alias: str, entry: Mapping[str, Any], where: str) -> ModelSpec:
    """A registry entry with ``backend`` (openai, ollama, any installed served backend) and ``model``
    (the server's name for it)."""
    from .backend_registry import get_backend, is_backend_name, unknown_backend

    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise ConfigError(f"{where}: served model {alias!r} has unknown key {unknown[0]!r} "
                          f"(known: {', '.join(sorted(_ENTRY_KEYS))})")
    backend = entry.get("backend")
    if not isinstance(backend, str) or not is_backend_name(backend):
        raise unknown_backend(str(backend), f"{where}: model {alias!r}")
    if not get_backend(backend).served:
        raise ConfigError(f"{where}: model {alias!r}: backend {backend!r} runs in this process and takes "
                          "hub_id, tiny or path, not model")
    served_name = entry.get("model")
    if not isinstance(served_name, str) or not served_name.strip():
        raise ConfigError(f"{where}: served model {alias!r} needs \"model\": the name its server knows it by")
    api_key_env = entry.get("api_key_env")
    if api_key_env is not None and (not isinstance(api_key_env, str) or not _ENV_NAME.match(api_key_env)):
        raise ConfigError(f"{where}: model {alias!r} api_key_env must be the NAME of an environment variable "
                          "(the key itself is never written in the registry)")
    base_url = entry.get("base_url")
    if base_url is not None:
        base_url = check_base_url(str(base_url), f"{where}: model {alias!r} base_url")
    style, template, max_new = prompt_fields(entry, alias, where, default_style="chat")
    return ModelSpec(alias=alias, source="served", backend=backend, served_name=served_name.strip(),
                     base_url=base_url, api_key_env=api_key_env, tokenizer=entry.get("tokenizer"),
                     prompt_style=style, prompt_template=template, reasoning=bool(entry.get("reasoning", False)),
                     max_new_tokens=max_new)


def check_base_url(url: str, origin: str) -> str:
    """An http(s) URL with a host, without a trailing slash; one line otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{origin}: {url!r} is not an http(s) URL such as {OPENAI_DEFAULT_URL}")
    return url.strip().rstrip("/")


def default_base_url(backend: str, option: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """Where a served model is reached when its registry entry names no URL: its backend's
    ``default_url``; a backend without one takes ``--energy-base-url``."""
    from .backend_registry import get_backend

    found = get_backend(backend)
    if found.default_url is not None:
        return found.default_url(option, environ)
    if option:
        return check_base_url(option, "--energy-base-url")
    raise ConfigError(f"backend {backend!r} has no default URL: give --energy-base-url or a registry "
                      "entry's base_url")


def openai_url(option: str | None, environ: Mapping[str, str]) -> str:
    """``--energy-base-url``, else ``OPENAI_BASE_URL``, else vLLM's default port on loopback."""
    if option:
        return check_base_url(option, "--energy-base-url")
    env = environ.get("OPENAI_BASE_URL", "").strip()
    return check_base_url(env, "OPENAI_BASE_URL") if env else OPENAI_DEFAULT_URL


def ollama_url(option: str | None, environ: Mapping[str, str]) -> str:
    """``OLLAMA_HOST`` (a bare ``host:port`` is accepted, as Ollama does), else its default."""
    host = environ.get("OLLAMA_HOST", "").strip()
    if not host:
        return OLLAMA_DEFAULT_URL
    if "://" not in host:
        host = "http://" + host
    return check_base_url(host, "OLLAMA_HOST")


def with_base_urls(specs: list[ModelSpec], option: str | None,
                   environ: Mapping[str, str] = os.environ) -> list[ModelSpec]:
    """Every served spec gets its base URL settled (the registry's own wins)."""
    return [spec if spec.backend == "transformers" or spec.base_url
            else replace(spec, base_url=default_base_url(spec.backend, option, environ))
            for spec in specs]


def is_loopback(url: str, local_addresses: frozenset[str] | None = None) -> bool:
    """True when the server runs on this machine (its energy is in the machine meter's figures):
    a loopback address, ``localhost``, or an address of one of this machine's own interfaces."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if address.is_loopback:
        return True
    return host in (local_addresses if local_addresses is not None else interface_addresses())


def interface_addresses() -> frozenset[str]:
    """The IP addresses of this machine's network interfaces (a server at one of them is local)."""
    import socket

    import psutil

    return frozenset(a.address.split("%")[0].lower() for addrs in psutil.net_if_addrs().values() for a in addrs
                     if a.family in (socket.AF_INET, socket.AF_INET6))


def server_energy_measured(url: str, meter_name: str, local_addresses: frozenset[str] | None = None) -> bool:
    """Whether the meter's figures hold the server's energy: its own counters, or the same machine."""
    return meter_name.startswith("prometheus") or is_loopback(url, local_addresses)


def energy_scope(url: str, meter_name: str, local_addresses: frozenset[str] | None = None) -> str:
    """One sentence: whose energy the meter's figures are, for a model behind ``url``."""
    if meter_name.startswith("prometheus"):
        return "the serving host's counters read from a Prometheus endpoint"
    if is_loopback(url, local_addresses):
        return "whole machine, includes the server"
    return ("not measured: the server runs on another machine and no meter here reads its energy "
            "(use --energy-meter prometheus=URL on the serving host's exporter)")
