"""Memory figures per model: resident memory (RSS) growth and peaks, and CUDA's peak allocation.

The process peak (Linux ``VmHWM``) is reset before each model loads (``/proc/self/clear_refs``,
Linux 4.0+), so a peak read later belongs to that model, not to one loaded earlier. Where the
reset is not possible the peak is the process's since it started, and ``peak_scope`` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .machine import peak_rss_mb as process_peak_rss_mb

_STATUS = "/proc/self/status"


def current_rss_mb() -> float | None:
    try:
        import psutil

        rss: float = psutil.Process().memory_info().rss / 1024**2
        return rss
    except Exception:  # noqa: BLE001 - no figure rather than no run
        return None


def peak_rss_mb() -> float | None:
    """Peak RSS since the last :func:`reset_peak_rss` (or process start)."""
    try:
        with open(_STATUS, encoding="ascii") as handle:
            found = re.search(r"^VmHWM:\s+(\d+)\s+kB", handle.read(), re.MULTILINE)
        if found:
            return int(found.group(1)) / 1024
    except OSError:
        pass
    return process_peak_rss_mb()


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window; False where the platform cannot (the peak then spans the process)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _cuda(device: str) -> Any:
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.cuda if torch.cuda.is_available() else None


def reset_cuda_peak(device: str) -> None:
    cuda = _cuda(device)
    if cuda is not None:
        cuda.reset_peak_memory_stats(device)


def cuda_peak_mb(device: str) -> float | None:
    cuda = _cuda(device)
    return None if cuda is None else cuda.max_memory_allocated(device) / 1024**2


@dataclass
class MemoryWindow:
    """One model's memory: RSS before its load, after it, and the peaks since."""

    device: str
    before_mb: float | None = None
    after_load_mb: float | None = None
    load_peak_mb: float | None = None
    peak_scope: str = "model"

    @classmethod
    def open(cls, device: str) -> "MemoryWindow":
        scope = "model" if reset_peak_rss() else "process"
        reset_cuda_peak(device)
        return cls(device=device, before_mb=current_rss_mb(), peak_scope=scope)

    def loaded(self) -> None:
        self.after_load_mb = current_rss_mb()
        self.load_peak_mb = peak_rss_mb()

    def to_dict(self) -> dict[str, Any]:
        growth = None
        if self.before_mb is not None and self.after_load_mb is not None:
            growth = self.after_load_mb - self.before_mb
        return {
            "rss_before_load_mb": self.before_mb,
            "rss_after_load_mb": self.after_load_mb,
            "load_rss_growth_mb": growth,
            "load_peak_rss_mb": self.load_peak_mb,
            "cuda_max_allocated_mb": cuda_peak_mb(self.device),
            "peak_scope": self.peak_scope,
        }
