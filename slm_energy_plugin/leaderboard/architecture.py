"""Parameter counts from a model's config.json, for leaderboard rows whose size is missing.

The LLM-Perf exports round ``Params (B)`` to whole billions, so gpt2 shows 0. When the
project knows the model's architecture (a config.json shipped in ``data/shapes``), the
count is computed from the layer sizes, exactly as the weights would be allocated.
Pure apart from :func:`known_parameter_count`, which reads the shipped config.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..backends.shapes import shipped_shape


def _get(config: Mapping[str, Any], *names: str) -> int:
    for name in names:
        value = config.get(name)
        if isinstance(value, int) and value > 0:
            return value
    raise KeyError(names[0])


def parameter_count(config: Mapping[str, Any]) -> int:
    """Weights and biases of a decoder-only model (gpt2, phi, llama/qwen2/mistral families).

    Raises KeyError for an architecture this does not know, rather than guessing.
    """
    kind = str(config.get("model_type", ""))
    vocab = _get(config, "vocab_size")
    hidden = _get(config, "hidden_size", "n_embd")
    layers = _get(config, "num_hidden_layers", "n_layer")
    tied = bool(config.get("tie_word_embeddings", kind == "gpt2"))
    if kind == "gpt2":
        inner = config.get("n_inner") or 4 * hidden
        positions = _get(config, "n_positions", "max_position_embeddings")
        per_layer = (
            2 * hidden                         # ln_1
            + hidden * 3 * hidden + 3 * hidden  # c_attn (q, k, v fused, with bias)
            + hidden * hidden + hidden          # attention c_proj
            + 2 * hidden                        # ln_2
            + hidden * inner + inner            # mlp c_fc
            + inner * hidden + hidden           # mlp c_proj
        )
        head = 0 if tied else vocab * hidden
        return vocab * hidden + positions * hidden + layers * per_layer + 2 * hidden + head
    heads = _get(config, "num_attention_heads")
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    q_out, kv_out = heads * head_dim, int(kv_heads) * head_dim
    inner = _get(config, "intermediate_size")
    if kind == "phi":
        # One LayerNorm per block (attention and MLP in parallel); every linear has a bias.
        per_layer = (
            2 * hidden
            + hidden * q_out + q_out + 2 * (hidden * kv_out + kv_out)
            + q_out * hidden + hidden                      # dense
            + hidden * inner + inner + inner * hidden + hidden  # fc1, fc2
        )
        head = 0 if tied else vocab * hidden + vocab   # lm_head has a bias
        return vocab * hidden + layers * per_layer + 2 * hidden + head
    if kind in ("llama", "qwen2", "mistral"):
        qkv_bias = kind == "qwen2" or bool(config.get("attention_bias", False))
        per_layer = (
            hidden * q_out + 2 * hidden * kv_out + (q_out + 2 * kv_out if qkv_bias else 0)
            + q_out * hidden                                # o_proj, no bias
            + 3 * hidden * inner                            # gate, up, down
            + 2 * hidden                                    # two RMSNorms
        )
        head = 0 if tied else vocab * hidden
        return vocab * hidden + layers * per_layer + hidden + head
    raise KeyError(f"model_type {kind!r}")


def known_parameter_count(model_id: str) -> tuple[int, str] | None:
    """(parameters, where from) for a hub id whose config.json ships in data/shapes, else None."""
    path = shipped_shape(model_id)
    if path is None:
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        return parameter_count(config), f"architecture in data/shapes/{path.name}"
    except (OSError, ValueError, KeyError):
        return None
