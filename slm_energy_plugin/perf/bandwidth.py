"""Memory bandwidth of this machine and how much of it a model's decode phase uses (MBU).

Decoding one token reads every weight once (batch 1), so decode tokens/s can never exceed
memory bandwidth / bytes read per token. Model-bandwidth utilisation,

    MBU = decode tokens/s x bytes read per token / bandwidth,

says how close a model runs to that physical limit (100 % = memory-bound at the machine's
copy speed). Bandwidth comes from a short STREAM-style copy (``dst.copy_(src)`` on buffers
far larger than the caches, with the torch threads inference uses; read + written bytes per
second, best of several repeats), measured once per machine and device and cached under
the slm-energy cache folder. The KV cache and activations also move bytes; they are left
out, so MBU slightly understates the real traffic for long contexts. The formula itself,
:func:`slm_energy_plugin.results.performance.mbu`, lives with the performance block it fills.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..paths import cache_dir

CACHE_VERSION = 1
DEFAULT_BUFFER_MB = 256
DEFAULT_REPEATS = 7


@dataclass(frozen=True)
class Bandwidth:
    """A machine's memory bandwidth in GB/s (10^9 bytes/s) and how it was obtained."""

    gb_per_s: float
    method: str                  # "copy-benchmark" or "given" (--energy-bandwidth N)
    device: str = "cpu"
    median_gb_per_s: float | None = None
    buffer_mb: int | None = None
    repeats: int | None = None
    threads: int | None = None
    measured_at: str | None = None
    seconds: float | None = None  # how long the benchmark took
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Bandwidth":
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**known)


def measure_copy_bandwidth(device: str = "cpu", buffer_mb: int = DEFAULT_BUFFER_MB,
                           repeats: int = DEFAULT_REPEATS) -> Bandwidth:
    """Copy a ``buffer_mb`` buffer ``repeats`` times; counts read + written bytes (STREAM's convention)."""
    import torch

    elements = buffer_mb * 1024**2 // 4
    src = torch.ones(elements, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)  # touch every page before timing

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        elif device == "mps":
            torch.mps.synchronize()

    rates = []
    started = time.perf_counter()
    for _ in range(repeats):
        sync()
        begin = time.perf_counter()
        dst.copy_(src)
        sync()
        rates.append(2 * src.numel() * 4 / (time.perf_counter() - begin) / 1e9)
    del src, dst
    return Bandwidth(gb_per_s=max(rates), method="copy-benchmark", device=device,
                     median_gb_per_s=statistics.median(rates), buffer_mb=buffer_mb, repeats=repeats,
                     threads=torch.get_num_threads(), seconds=time.perf_counter() - started,
                     measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def _machine_key(device: str, threads: int) -> str:
    """Changes with anything that changes the figure: host, CPU, memory size, device, threads."""
    import psutil

    parts = [platform.node(), platform.machine(), _cpu_model(), str(psutil.virtual_memory().total), device,
             str(threads), str(CACHE_VERSION)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _cpu_model() -> str:
    from .machine import _cpu_model as model

    return model() or ""


def machine_bandwidth(device: str = "cpu", root: Path | None = None, *, buffer_mb: int = DEFAULT_BUFFER_MB,
                      repeats: int = DEFAULT_REPEATS) -> Bandwidth:
    """The cached figure for this machine and device, measuring it the first time."""
    import torch

    kind = "cuda" if device.startswith("cuda") else device
    folder = (root or cache_dir()) / "bandwidth"
    path = folder / f"{kind}-{_machine_key(device, torch.get_num_threads())}.json"
    try:
        return Bandwidth.from_dict({**json.loads(path.read_text(encoding="utf-8")), "cached": True})
    except (OSError, ValueError, TypeError):
        pass
    result = measure_copy_bandwidth(device, buffer_mb=buffer_mb, repeats=repeats)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(temp, path)   # parallel workers: the last identical write wins
    except OSError:
        pass                     # an unwritable cache costs a re-measure next time, nothing else
    return result


def bandwidth_for(setting: str | float, device: str) -> Bandwidth | None:
    """What ``--energy-bandwidth`` asks for: a measured/cached figure, a given one, or none."""
    if setting == "off":
        return None
    if isinstance(setting, (int, float)):
        return Bandwidth(gb_per_s=float(setting), method="given", device=device)
    return machine_bandwidth(device)
