"""What a model is: its spec (how to get, prompt and run it) and the registry of specs.

A leaf of the backends room: the registry, the shapes and every backend import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError

PROMPT_STYLES = ("plain", "chat")
DTYPES = ("float32", "bfloat16", "float16")
TINY_ARCHITECTURES = ("gpt2", "phi", "qwen2")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
DEVICES = ("auto", "cpu", "cuda", "mps")
DEFAULT_MAX_NEW_TOKENS = 32
RANDOM_SUFFIX = "@random"


@dataclass(frozen=True)
class AdapterRef:
    """Which adapter folder sits on which base, and how it is applied."""

    path: Path                  # the adapter folder, absolute
    name: str                   # the folder's name, safe for aliases and file names
    base_name: str              # base_model_name_or_path as written in the folder
    base_alias: str
    base_model_id: str
    peft_type: str = "LORA"
    rank: int | None = None
    merged: bool = True

    def to_info(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.name, "method": self.peft_type.lower(), "rank": self.rank,
                "merged": self.merged, "base_model": self.base_model_id, "base_alias": self.base_alias}



@dataclass(frozen=True)
class ModelSpec:
    """How to get, prompt and run one model."""

    alias: str
    source: str                       # "hub", "local", "tiny" or "random" (shape-faithful, random weights)
    hub_id: str | None = None
    local_path: Path | None = None
    tiny: str | None = None           # architecture of a project-built tiny model
    revision: str | None = None
    dtype: str = "float32"
    device: str = "auto"
    prompt_style: str = "plain"
    prompt_template: str = "{query}"
    reasoning: bool = False
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    # Random-weight models: the config.json giving the shape (None: the tiny build's own), where it
    # came from in words, and the id of the model whose shape it is.
    shape_config: Path | None = None
    shape_origin: str = ""
    shape_of: str | None = None
    # Served models (see served.py): the engine's API, the name the server knows the model by,
    # where it listens, the environment variable holding its API key (the key itself is never
    # stored), and a tokenizer (tiny alias or local folder) for servers that report no usage.
    backend: str = "transformers"     # "transformers", "openai" or "ollama"
    served_name: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    tokenizer: str | None = None

    # A LoRA adapter on this (base) spec: a folder with adapter_config.json (see backends/adapter.py).
    adapter: AdapterRef | None = None
    # Load level (workload/variants.py): rows per batch for in-process models, requests in flight
    # for served ones. 1 = one query per test, generated inside the test's own energy window.
    batch_size: int = 1
    concurrency: int = 1
    level_of: str | None = None       # ALIAS-b8 / ALIAS-c4: the selected model's own alias (ALIAS)

    @property
    def load_level(self) -> int:
        return self.batch_size if self.backend == "transformers" else self.concurrency

    @property
    def base_alias(self) -> str:
        """The alias of the model whose weights are loaded (the base, for an adapter)."""
        if self.adapter is not None:
            return self.adapter.base_alias
        return self.level_of or self.alias

    @property
    def model_id(self) -> str:
        if self.backend != "transformers":
            return f"{self.backend}:{self.served_name}"
        if self.adapter is not None:
            return f"{self.adapter.base_model_id}+{self.adapter.path}"
        if self.source == "random":
            return f"{self.shape_of}{RANDOM_SUFFIX}"
        if self.source == "hub":
            return str(self.hub_id)
        if self.source == "local":
            return str(self.local_path)
        return f"slm-energy/{self.level_of or self.alias}"

    @property
    def weights(self) -> str:
        if self.adapter is not None:  # e.g. "untrained+lora": the base's weights, then the adapter
            return f"{replace(self, adapter=None).weights}+{self.adapter.peft_type.lower()}"
        return {"tiny": "untrained", "random": "random"}.get(self.source, "pretrained")


def valid_device(device: str) -> bool:
    return device in DEVICES or re.fullmatch(r"cuda:\d+", device) is not None


@dataclass(frozen=True)
class Registry:
    specs: Mapping[str, ModelSpec]
    default_selection: tuple[str, ...]
    source: str


def prompt_fields(entry: Mapping[str, Any], alias: str, where: str, default_style: str) -> tuple[str, str, int]:
    """A registry entry's prompt style, template and token limit, checked: one line per mistake."""
    style = entry.get("prompt_style", default_style)
    if style not in PROMPT_STYLES:
        raise ConfigError(f"{where}: model {alias!r} has prompt_style {style!r}; choose plain or chat")
    template = entry.get("prompt_template", "{query}")
    if not isinstance(template, str) or "{query}" not in template:
        raise ConfigError(f"{where}: model {alias!r} prompt_template must contain {{query}}")
    max_new = entry.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)
    if not isinstance(max_new, int) or isinstance(max_new, bool) or max_new < 1:
        raise ConfigError(f"{where}: model {alias!r} max_new_tokens must be a positive whole number")
    return str(style), template, max_new

