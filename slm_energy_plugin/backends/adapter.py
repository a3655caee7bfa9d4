"""Adapters are models: a folder with ``adapter_config.json`` runs wherever a model folder does.

Resolution: the folder's ``base_model_name_or_path`` names the base the way a user would
(a registry alias, a hub id, or a model folder, relative paths read from the adapter
folder); the base is resolved by the registry as usual, and the spec keeps the base's
source, prompt template and generation settings, with the alias ``<base>+<adapter folder>``.

What ``slm-energy finetune`` stores there: the registry alias for registry models
(``tiny-gpt2``: the tiny build's cache folder changes with every build key, the alias
does not, and it resolves offline), the hub id for hub models, the absolute folder for
local models. peft's own default (the path the base was loaded from) would tie the
adapter to one machine's cache.

Loading: the base loads through the one loader (:func:`models.runtime.load_model`), then
``PeftModel.from_pretrained`` attaches the adapter and ``merge_and_unload`` folds it into
the base weights. Merged is the default and the only mode here: the same answers as the
unmerged model (up to float rounding) at the base model's speed, so the energy per query
compares like with like; ``model_info.adapter.merged`` says so in every record.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..textfile import read_text
from .spec import AdapterRef, ModelSpec, Registry


CONFIG_FILE = "adapter_config.json"
MAX_CONFIG_BYTES = 1_000_000
SUPPORTED_TYPES = ("LORA",)


def _safe_name(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).strip("-") or "adapter"


def read_adapter_config(folder: Path) -> dict[str, Any]:
    """The folder's adapter_config.json as an object with the keys resolution needs; one line otherwise."""
    path = folder / CONFIG_FILE
    where = f"adapter folder {folder}"
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{where}: {CONFIG_FILE} is over {MAX_CONFIG_BYTES // 1000} kB; not an adapter config")
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: {CONFIG_FILE} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: {CONFIG_FILE} must hold a JSON object")
    base = data.get("base_model_name_or_path")
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{where}: {CONFIG_FILE} has no base_model_name_or_path; set it to the base model's "
                          "registry alias, hub id or folder")
    peft_type = data.get("peft_type")
    if peft_type not in SUPPORTED_TYPES:
        raise ConfigError(f"{where}: peft_type {peft_type!r} is not supported (supported: {', '.join(SUPPORTED_TYPES)})")
    rank = data.get("r")
    if rank is not None and (not isinstance(rank, int) or isinstance(rank, bool) or rank < 1):
        raise ConfigError(f"{where}: {CONFIG_FILE} field 'r' must be a positive whole number")
    if not any((folder / name).is_file() for name in ("adapter_model.safetensors", "adapter_model.bin")):
        raise ConfigError(f"{where} has no adapter_model.safetensors; save the adapter with save_pretrained")
    return data


def resolve_adapter(folder: Path, registry: Registry, cwd: Path,
                    resolve_model: Callable[[str, Registry, Path], ModelSpec]) -> ModelSpec:
    """The spec of ``folder`` run as a model: its base's spec, aliased ``<base>+<adapter>``.

    ``resolve_model`` is the registry's resolver, passed in so this module never imports the registry.
    """
    folder = folder.resolve()
    config = read_adapter_config(folder)
    base_name = str(config["base_model_name_or_path"]).strip()
    try:
        base = resolve_model(base_name, registry, folder)   # relative base folders are read from the adapter's
    except ConfigError as exc:
        raise ConfigError(f"adapter folder {folder}: base model {base_name!r}: {exc}") from None
    if base.adapter is not None:
        raise ConfigError(f"adapter folder {folder}: its base {base_name!r} is itself an adapter; "
                          "merge that one into a model folder first")
    if base.source == "random":
        raise ConfigError(f"adapter folder {folder}: a random-weight base ({base_name!r}) has nothing to adapt")
    ref = AdapterRef(path=folder, name=_safe_name(folder), base_name=base_name, base_alias=base.alias,
                     base_model_id=base.model_id, peft_type=str(config["peft_type"]), rank=config.get("r"))
    return replace(base, alias=f"{base.alias}+{ref.name}", adapter=ref)


def apply_adapter(model: Any, ref: AdapterRef) -> Any:
    """The base model with the adapter attached through peft, merged into its weights (``ref.merged``)."""
    from peft import PeftModel

    try:
        with warnings.catch_warnings():
            # peft asks transformers a deprecated question about checkpointing: a FutureWarning that
            # would fail a run under -W error, about nothing the user can change.
            warnings.simplefilter("ignore", FutureWarning)
            adapted = PeftModel.from_pretrained(model, str(ref.path), is_trainable=False)
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"adapter {ref.path} does not fit base {ref.base_model_id}: {first}") from None
    return adapted.merge_and_unload() if ref.merged else adapted


def base_name_to_store(spec: ModelSpec, registry: Registry) -> str:
    """What ``base_model_name_or_path`` should say so the adapter resolves offline on any machine."""
    if registry.specs.get(spec.alias) == spec:
        return spec.alias
    if spec.source == "hub" and spec.hub_id:
        return spec.hub_id
    if spec.local_path is not None:
        return str(spec.local_path.resolve())
    raise ConfigError(f"cannot record the base model {spec.model_id!r} of an adapter; use a registry alias, "
                      "a hub id or a model folder")


def save_adapter(peft_model: Any, folder: Path, base_name: str) -> None:
    """Write the adapter (config + weights) with ``base_model_name_or_path`` set to ``base_name``."""
    for config in peft_model.peft_config.values():
        config.base_model_name_or_path = base_name
    # save_embedding_layers=False: LoRA never trains embeddings here, and peft's check for a changed
    # vocabulary would look for the base's config under base_name, which is an alias, not a path.
    peft_model.save_pretrained(str(folder), safe_serialization=True, save_embedding_layers=False)
    config_path = folder / CONFIG_FILE
    # peft fills the field from the loaded model again on save in some versions: set it in the file too.
    data = json.loads(config_path.read_text(encoding="utf-8"))
    if data.get("base_model_name_or_path") != base_name:
        data["base_model_name_or_path"] = base_name
        config_path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
