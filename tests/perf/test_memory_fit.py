"""Interleaved order holds every model: a model that would not fit is refused with one line."""

from __future__ import annotations

from pathlib import Path

from slm_energy_plugin.perf.memory_fit import HEADROOM, check_fit, weight_files_bytes


def test_weight_files_of_a_built_tiny_model_are_counted(tiny_cache: Path) -> None:
    from slm_energy_plugin.backends.tiny import ensure_tiny

    folder = ensure_tiny("tiny-gpt2", "gpt2", root=tiny_cache / "tiny")
    counted = weight_files_bytes(folder)
    weights = sum(p.stat().st_size for p in folder.rglob("*.safetensors"))
    assert counted == weights and weights > 0
    assert weight_files_bytes(folder / "missing") is None and weight_files_bytes(None) is None


def test_fit_compares_weights_with_headroom_against_available_memory() -> None:
    gb = 1024 ** 3
    assert check_fit(10 * gb, available_bytes=int(10 * gb * HEADROOM) + 1).fits
    refused = check_fit(10 * gb, available_bytes=11 * gb)
    assert not refused.fits
    line = refused.message("phi2", ["deepseek-r1-1.5b", "gpt2"])
    assert line == ("interleaved order keeps every model loaded; phi2 needs ~12.0 GB beside deepseek-r1-1.5b, "
                    "gpt2 and 11.0 GB are available: rerun with --energy-order grouped")
    assert check_fit(None, available_bytes=0).fits   # no files to count: not refused
    assert check_fit(1).available_bytes > 0           # the real figure from the OS
