"""Metadata of the machine and libraries a run happened on (pyperf-style), read once."""

from __future__ import annotations

import os
import platform
import socket
from functools import lru_cache
from importlib import metadata
from typing import Any

LIBRARIES = ("slm-energy-plugin", "torch", "transformers", "codecarbon", "pytest", "pytest-benchmark",
             "numpy", "scipy", "tokenizers", "huggingface-hub")


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _accelerator() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {}
    info: dict[str, Any] = {"torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(0)
        info["cuda_version"] = torch.version.cuda
    return info


@lru_cache(maxsize=1)
def machine_info() -> dict[str, Any]:
    import psutil

    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpu_logical": os.cpu_count(),
        "cpu_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "virtualized": _virtualized(),
        **_accelerator(),
        "libraries": {name: _version(name) for name in LIBRARIES},
    }


def _virtualized() -> bool | None:
    """True on a hypervisor (the 'hypervisor' CPU flag): no RAPL there, so energy is estimated."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return any(line.startswith("flags") and " hypervisor" in line for line in handle)
    except OSError:
        return None


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux, bytes on macOS)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if platform.system() == "Darwin" else peak / 1024
