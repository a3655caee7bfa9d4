"""Shape-faithful models: a real architecture with random weights, built in memory.

``gpt2@random`` has GPT-2's layers, widths, heads, vocabulary and positions, so each forward
pass does the same arithmetic and reads the same bytes as the real model; the weights come
from the architecture's own initialiser under a fixed seed and nothing is downloaded.
Answers are meaningless, cost is real. Output length is forced (min = max new tokens) so a
query always generates exactly the tokens asked for, as in the LLM-Perf leaderboard.

Where a shape comes from (first found wins):
1. a config.json the user named (``path/to/config.json@random``, or a model folder);
2. the Hugging Face cache's config.json for the hub id (read locally, no network);
3. ``data/shapes/<org>--<name>.json``: the public config.json figures shipped with the project.

How prompts become token ids: the real tokenizer when the local Hugging Face cache holds it
(exact token counts); otherwise the project's own BPE tokenizer (``data/tokenizer``, 1,024
tokens) stands in. Its ids are valid in any larger vocabulary, its counts are of the same
order as the real tokenizer's but higher (a smaller vocabulary splits text finer), and they
are the same for every ``@random`` model, so their costs compare on equal inputs. The
recorded ``tokens_input`` is what was fed, so per-token figures stay exact. The decode
protocol does not tokenize at all: it feeds 256 random ids.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..paths import data_dir
from .spec import _HUB_ID, DEFAULT_MAX_NEW_TOKENS, RANDOM_SUFFIX, ModelSpec, Registry

SEED = 20240917
SHAPES_DIR = "shapes"


def shipped_shape(hub_id: str) -> Path | None:
    path = data_dir() / SHAPES_DIR / (hub_id.replace("/", "--") + ".json")
    return path if path.is_file() else None


def cached_config(hub_id: str, revision: str | None = None) -> Path | None:
    """The hub cache's config.json for ``hub_id`` (weights need not be there)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(hub_id, "config.json", revision=revision)
    except Exception:  # noqa: BLE001 - a malformed cache entry means "not cached"
        return None
    return Path(found) if isinstance(found, str) else None


def hub_shape(hub_id: str, revision: str | None = None) -> tuple[Path, str]:
    """(config.json, where it came from) for a hub model, or a one-line error saying how to get one."""
    cached = cached_config(hub_id, revision)
    if cached is not None:
        return cached, f"config.json from the Hugging Face cache ({cached})"
    shipped = shipped_shape(hub_id)
    if shipped is not None:
        return shipped, f"public config.json figures shipped in data/{SHAPES_DIR}/{shipped.name}"
    raise ConfigError(
        f"no shape for {hub_id}@random: its config.json is neither in the Hugging Face cache nor in "
        f"data/{SHAPES_DIR}; fetch only the config (`hf download {hub_id} config.json`) or name a "
        "config.json file: path/to/config.json@random")


def resolve_random(name: str, registry: Registry, cwd: Path) -> ModelSpec:
    """``<alias | folder | org/name | config.json>@random`` -> a spec with source ``random``."""
    base = name[: -len(RANDOM_SUFFIX)].strip()
    if not base:
        raise ConfigError(f"{name!r}: name a model before @random, e.g. gpt2@random")
    if base in registry.specs:
        spec = registry.specs[base]
        if spec.source == "tiny":
            config, origin = None, f"the {base} build's config.json"
        elif spec.source == "local":
            config, origin = _folder_config(spec.local_path, name), f"config.json of {spec.local_path}"
        else:
            config, origin = hub_shape(str(spec.hub_id), spec.revision)
        return replace(spec, shape_config=config, shape_origin=origin, shape_of=spec.model_id, alias=name, source="random", reasoning=False)
    path = Path(base).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if path.is_dir():
        config = _folder_config(path, name)
        return ModelSpec(shape_config=config, shape_origin=f"config.json of {path}", shape_of=str(path.resolve()),
                         max_new_tokens=DEFAULT_MAX_NEW_TOKENS, alias=name, source="random", reasoning=False)
    if path.suffix == ".json":
        if not path.is_file():
            raise ConfigError(f"{name!r}: config file {str(path)!r} does not exist")
        _read_config(path, name)  # fails now, with the reason, rather than at load
        return ModelSpec(shape_config=path.resolve(), shape_origin=f"{path}", shape_of=str(path.resolve()),
                         max_new_tokens=DEFAULT_MAX_NEW_TOKENS, alias=name, source="random", reasoning=False)
    if _HUB_ID.match(base):
        config, origin = hub_shape(base)
        return ModelSpec(hub_id=base, shape_config=config, shape_origin=origin, shape_of=base,
                         max_new_tokens=DEFAULT_MAX_NEW_TOKENS, alias=name, source="random", reasoning=False)
    raise ConfigError(
        f"unknown model {name!r}: before @random put a registry alias ({', '.join(registry.specs)}), "
        "a model folder, an org/name hub id or a config.json path")


def _folder_config(folder: Path | None, name: str) -> Path:
    config = (folder or Path(".")) / "config.json"
    if not config.is_file():
        raise ConfigError(f"{name!r}: {folder} has no config.json")
    return config.resolve()


def _read_config(path: Path, name: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{name!r}: cannot read {path} as JSON ({exc})") from None
    if not isinstance(data, dict) or not data.get("model_type"):
        raise ConfigError(f"{name!r}: {path} has no model_type; it is not a transformers config.json")
    return {key: value for key, value in data.items() if not key.startswith("_")}


def shape_config_path(spec: ModelSpec) -> Path:
    if spec.shape_config is not None:
        return spec.shape_config
    from .tiny import ensure_tiny  # a tiny base: its build folder holds the config

    return ensure_tiny(spec.alias.removesuffix(RANDOM_SUFFIX), str(spec.tiny)) / "config.json"


def build_config(spec: ModelSpec) -> Any:
    from transformers import AutoConfig

    data = _read_config(shape_config_path(spec), spec.alias)
    model_type = data.pop("model_type")
    data.pop("transformers_version", None)
    return AutoConfig.for_model(model_type, **data)


def stand_in_tokenizer(chat: bool) -> Any:
    """The project's BPE tokenizer, used when the real one is not cached."""
    from transformers import PreTrainedTokenizerFast

    from .tiny import EOS_TOKEN, QWEN_CHAT_TEMPLATE, _tokenizer_file

    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(_tokenizer_file()), eos_token=EOS_TOKEN,
                                        bos_token=EOS_TOKEN, pad_token=EOS_TOKEN)
    if chat:
        tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def find_tokenizer(spec: ModelSpec) -> tuple[Any, str]:
    """(tokenizer, what it is in words): the real one from a local folder or the hub cache, else the stand-in."""
    from transformers import AutoTokenizer

    sources: list[str] = []
    if spec.shape_config is not None and spec.shape_config.parent != data_dir() / SHAPES_DIR:
        sources.append(str(spec.shape_config.parent))   # a model folder or hub snapshot beside config.json
    if spec.hub_id:
        sources.append(spec.hub_id)
    if spec.tiny:
        sources.append(str(shape_config_path(spec).parent))
    for source in sources:
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        except Exception:  # noqa: BLE001 - absent or partial: try the next, then the stand-in
            continue
        if spec.prompt_style == "chat" and not getattr(tokenizer, "chat_template", None):
            continue
        if len(tokenizer) < 256 or not tokenizer("Hello world")["input_ids"]:
            continue   # transformers builds an empty tokenizer from a folder without tokenizer files
        return tokenizer, f"real tokenizer ({source})"
    return stand_in_tokenizer(spec.prompt_style == "chat"), (
        "stand-in tokenizer: the project's 1,024-token BPE (the real one is not cached); token counts are "
        "higher than the real tokenizer's, cost per token is faithful")


def build_random(spec: ModelSpec, device: str) -> tuple[Any, Any, str, tuple[str, ...]]:
    """Build the model in memory on ``device`` with a fixed seed: same weights on every run.

    Returns the model, its tokenizer, the shape's config path and the notes the records carry.
    """
    import torch
    from transformers import AutoModelForCausalLM

    from .quiet import quiet_transformers

    quiet_transformers()
    config = build_config(spec)
    state = torch.random.get_rng_state()
    torch.manual_seed(SEED)
    try:
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, spec.dtype))
    finally:
        torch.random.set_rng_state(state)
    model.eval()
    tokenizer, tokenizer_note = find_tokenizer(spec)
    vocab = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > vocab:
        raise ValueError(f"{spec.alias}: the tokenizer has {len(tokenizer)} tokens but the shape's vocabulary only "
                         f"{vocab}; put a matching tokenizer beside the config.json")
    eos = model.generation_config.eos_token_id
    if model.generation_config.pad_token_id is None and eos is not None:
        model.generation_config.pad_token_id = eos[0] if isinstance(eos, list) else eos
    notes = (
        "random weights: cost only (real architecture, meaningless answers; output length forced to "
        "max_new_tokens)",
        f"shape: {spec.shape_origin}; weights drawn with seed {SEED}",
        tokenizer_note,
    )
    return model, tokenizer, str(shape_config_path(spec)), notes
