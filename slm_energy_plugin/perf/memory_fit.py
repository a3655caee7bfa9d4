"""Will one more model fit beside the ones already held? (interleaved order keeps them all loaded)

The estimate is the model's weight files on disk (safetensors / PyTorch bins): what loading puts in
memory when the dtype matches the files, which is the registry's usual case. A model with no files
yet (random weights built from a shape, a hub model not cached) has no estimate and is not refused.
Decision (documented in the README): the interleaved order *refuses* a model that would not fit,
with one line naming --energy-order grouped, rather than silently reloading models at every switch
(which would multiply the run's time) or silently changing the order (which would confound drift
with the model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
HEADROOM = 1.2   # activations, KV cache and the framework's own buffers on top of the weights


def weight_files_bytes(path: Path | None) -> int | None:
    """Bytes of weight files under ``path`` (None when there are none to count)."""
    if path is None or not path.exists():
        return None
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    # Hub snapshots hold symlinks to blobs: resolve them so their size is the blob's.
    total = sum(p.resolve().stat().st_size for p in files if p.name.endswith(WEIGHT_SUFFIXES))
    return total or None


@dataclass(frozen=True)
class Fit:
    fits: bool
    needed_bytes: int | None
    available_bytes: int

    def message(self, alias: str, held: list[str]) -> str:
        gb = 1024 ** 3
        needed = "?" if self.needed_bytes is None else f"{self.needed_bytes * HEADROOM / gb:.1f}"
        return (f"interleaved order keeps every model loaded; {alias} needs ~{needed} GB beside "
                f"{', '.join(held)} and {self.available_bytes / gb:.1f} GB are available: "
                "rerun with --energy-order grouped")


def check_fit(weights_bytes: int | None, available_bytes: int | None = None) -> Fit:
    """Whether ``weights_bytes`` (with headroom) fit in the memory available now."""
    if available_bytes is None:
        import psutil

        available_bytes = int(psutil.virtual_memory().available)
    fits = weights_bytes is None or weights_bytes * HEADROOM <= available_bytes
    return Fit(fits=fits, needed_bytes=weights_bytes, available_bytes=available_bytes)
