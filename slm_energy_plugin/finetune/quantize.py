"""QLoRA: the base model loaded in 4 or 8 bits through bitsandbytes, on a CUDA GPU only.

bitsandbytes' 4/8-bit layers run on CUDA; on a machine without it the request is refused with one
line before anything is loaded, never silently trained in full precision under a QLoRA label.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable

from ..backends.spec import ModelSpec
from ..backends.transformers_runtime import LoadedModel
from ..errors import ConfigError

QUANTIZE_CHOICES = ("4bit", "8bit")


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def check_quantize(mode: str, cuda_available: Callable[[], bool] = _cuda_available,
                   has_bitsandbytes: Callable[[], bool] = lambda: find_spec("bitsandbytes") is not None) -> None:
    """One line when ``--quantize MODE`` cannot run here (no CUDA, or bitsandbytes not installed)."""
    if mode not in QUANTIZE_CHOICES:
        raise ConfigError(f"--quantize {mode!r}: choose {' or '.join(QUANTIZE_CHOICES)}")
    if not cuda_available():
        raise ConfigError(f"--quantize {mode} (QLoRA) needs a CUDA GPU: bitsandbytes' {mode} layers do not run on "
                          "this machine's CPU; drop --quantize to fine-tune in full precision here")
    if not has_bitsandbytes():
        raise ConfigError(f"--quantize {mode} needs bitsandbytes: pip install 'slm-energy-plugin[qlora]'")


def quantization_info(mode: str) -> dict[str, Any]:
    """What training.json records about the base's quantisation (QLoRA's published recipe for 4 bits)."""
    if mode == "4bit":
        return {"bits": 4, "library": "bitsandbytes", "quant_type": "nf4", "double_quant": True,
                "compute_dtype": "bfloat16"}
    return {"bits": 8, "library": "bitsandbytes", "quant_type": "int8"}


def load_quantized(spec: ModelSpec, local_path: Path | None, mode: str) -> LoadedModel:
    """The base in ``mode`` on CUDA device 0, prepared for k-bit training (peft's recipe)."""
    import torch
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    check_quantize(mode)
    if mode == "4bit":
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                    bnb_4bit_compute_dtype=torch.bfloat16)
    else:
        config = BitsAndBytesConfig(load_in_8bit=True)
    source = str(local_path) if local_path is not None else str(spec.hub_id)
    local_only = local_path is not None
    revision = None if local_only else spec.revision
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, local_files_only=local_only)
    model = AutoModelForCausalLM.from_pretrained(source, revision=revision, local_files_only=local_only,
                                                 quantization_config=config, device_map={"": 0})
    model = prepare_model_for_kbit_training(model)  # type: ignore[no-untyped-call]
    return LoadedModel(spec, model, tokenizer, "cuda:0", source)
