"""Background load: how much of the machine other processes used while a model worked.

A query's energy and latency are only comparable with another model's when the machine was as
quiet for both. For each energy window we take the machine's busy CPU time (all CPUs, from the
OS: everything but idle and I/O wait) and this process tree's CPU time, before and after; the
background share is (machine busy - ours) / (wall time x logical CPUs), clamped to 0..1.
Under xdist the other workers count as background: they do compete for the same cores.
The OS counts CPU time in ticks (10 ms on Linux), so windows of a few ticks read coarsely.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

THRESHOLD = 0.2   # the summary warns about queries whose background share exceeded this


@dataclass(frozen=True)
class CpuSnapshot:
    wall_s: float
    machine_busy_s: float       # busy CPU seconds of the whole machine, summed over CPUs
    own_s: float                # CPU seconds of this process and its children
    freq_mhz: float | None      # current CPU frequency where the OS gives it


def _machine_busy_s() -> float:
    import psutil

    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    # Linux counts guest time inside user time already: leave it out of the sum.
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return float(sum(times) - idle - guest)


def _own_s() -> float:
    import psutil

    me = psutil.Process()
    own = me.cpu_times()
    total = own.user + own.system + own.children_user + own.children_system
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:   # gone between listing and reading
            continue
        total += times.user + times.system
    return float(total)


def cpu_freq_mhz() -> float | None:
    import psutil

    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError, AttributeError):
        return None
    return float(freq.current) if freq is not None and freq.current else None


def snapshot() -> CpuSnapshot:
    return CpuSnapshot(wall_s=time.perf_counter(), machine_busy_s=_machine_busy_s(), own_s=_own_s(),
                       freq_mhz=cpu_freq_mhz())


def background_share(windows: Sequence[tuple[CpuSnapshot, CpuSnapshot]], cpu_count: int) -> float | None:
    """Other processes' share (0..1) of the machine's CPU time over the windows together."""
    wall = sum(end.wall_s - start.wall_s for start, end in windows)
    if wall <= 0 or cpu_count < 1:
        return None
    busy = sum(end.machine_busy_s - start.machine_busy_s for start, end in windows)
    own = sum(end.own_s - start.own_s for start, end in windows)
    return min(1.0, max(0.0, (busy - own) / (wall * cpu_count)))


def mean_freq_mhz(windows: Sequence[tuple[CpuSnapshot, CpuSnapshot]]) -> float | None:
    readings = [s.freq_mhz for pair in windows for s in pair if s.freq_mhz is not None]
    return sum(readings) / len(readings) if readings else None


def window_extra(windows: Sequence[tuple[CpuSnapshot, CpuSnapshot]]) -> dict[str, float | None]:
    """The record's ``extra`` fields for these windows."""
    import psutil

    return {"background_load": background_share(windows, psutil.cpu_count() or 1),
            "cpu_freq_mhz": mean_freq_mhz(windows)}
