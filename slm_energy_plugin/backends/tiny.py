"""Tiny offline models the project builds itself.

Same transformers classes as the seed models (GPT2LMHeadModel, PhiForCausalLM,
Qwen2ForCausalLM) at tiny size, random weights from a fixed seed, the project's own
BPE tokenizer, saved as real model folders and loaded through the same
``from_pretrained`` path as hub models. Untrained: the cost of running them is real,
their answers are not.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..paths import cache_dir, data_dir

SEED = 20241122
BUILD_VERSION = 2   # 2: 2,048 positions, so the long input loads fit (issue 13)
MARKER = "slm_energy_build.json"
EOS_TOKEN = "<|endoftext|>"

# A Qwen-style chat template that, like DeepSeek-R1's, opens a <think> block for the answer.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n<think>\n{% endif %}"
)


def _tokenizer_file() -> Path:
    return data_dir() / "tokenizer" / "tokenizer.json"


def _config_kwargs(arch: str, vocab_size: int, eos_id: int) -> tuple[Callable[..., Any], Callable[..., Any], dict[str, Any]]:
    """(config class, model class, config kwargs) for a tiny version of ``arch``."""
    from transformers import (GPT2Config, GPT2LMHeadModel, PhiConfig, PhiForCausalLM, Qwen2Config,
                              Qwen2ForCausalLM)

    common = {"vocab_size": vocab_size, "bos_token_id": eos_id, "eos_token_id": eos_id}
    if arch == "gpt2":
        return GPT2Config, GPT2LMHeadModel, dict(common, n_positions=2048, n_embd=64, n_layer=2, n_head=4)
    if arch == "phi":
        return PhiConfig, PhiForCausalLM, dict(
            common, hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=4, partial_rotary_factor=0.4, max_position_embeddings=2048,
            hidden_act="gelu_new", layer_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
    if arch == "qwen2":
        return Qwen2Config, Qwen2ForCausalLM, dict(
            common, hidden_size=64, intermediate_size=176, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=2048, hidden_act="silu", rms_norm_eps=1e-6,
            rope_theta=10000.0, tie_word_embeddings=False)
    raise ValueError(f"unknown tiny architecture {arch!r}")


def build_key(arch: str) -> str:
    """Changes whenever anything that shapes the built files changes."""
    import torch
    import transformers

    digest = hashlib.sha256()
    digest.update(_tokenizer_file().read_bytes())
    digest.update(json.dumps([arch, SEED, BUILD_VERSION, torch.__version__.split("+")[0],
                              transformers.__version__]).encode())
    return digest.hexdigest()[:12]


def build_tiny(arch: str, target: Path) -> Path:
    """Build the tiny ``arch`` model into ``target`` (created; must not exist)."""
    import torch
    from transformers import PreTrainedTokenizerFast

    from .quiet import quiet_transformers

    quiet_transformers()
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(_tokenizer_file()), eos_token=EOS_TOKEN,
                                        bos_token=EOS_TOKEN, pad_token=EOS_TOKEN)
    if arch == "qwen2":
        tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    config_cls, model_cls, kwargs = _config_kwargs(arch, len(tokenizer), eos_id)
    # A fixed seed makes the weights, and so every generated token, the same on every machine.
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(SEED)
    try:
        model = model_cls(config_cls(**kwargs)).eval()
    finally:
        torch.random.set_rng_state(generator_state)
    model.generation_config.pad_token_id = eos_id
    target.mkdir(parents=True)
    model.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    (target / MARKER).write_text(json.dumps({
        "architecture": arch,
        "model_class": model_cls.__name__,
        "seed": SEED,
        "build_version": BUILD_VERSION,
        "parameters": sum(p.numel() for p in model.parameters()),
        "weights": "untrained (random, fixed seed): cost is real, answers are not",
    }, indent=2) + "\n")
    return target


def ensure_tiny(alias: str, arch: str, root: Path | None = None) -> Path:
    """The folder of a built tiny model, building it once per machine (safe under parallel workers)."""
    root = root or cache_dir() / "tiny"
    final = root / f"{alias}-{build_key(arch)}"
    if (final / MARKER).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{alias}-", dir=root))
    try:
        build_tiny(arch, staging / "model")
        try:
            os.rename(staging / "model", final)
        except OSError:
            # Another worker finished first; its identical build wins.
            if not (final / MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
