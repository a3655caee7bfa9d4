"""Silence Hugging Face progress bars and advisories: they would interleave with pytest's output."""

from __future__ import annotations


def quiet_transformers() -> None:
    """Progress bars and advisory warnings would interleave with pytest's output."""
    from huggingface_hub.utils import disable_progress_bars
    from transformers.utils import logging as hf_logging

    disable_progress_bars()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
