"""Background load: how much of the machine other processes used while a model worked.

A query's energy and latency are only comparable with another model's when the machine was as
quiet for both. For each energy window we take the machine's busy CPU time (all CPUs, from the
OS: everything but idle and I/O wait) and this process tree's CPU time, before and after; the
background share is (machine busy - ours) / (wall time x logical CPUs), clamped to 0..1.
Under xdist the other workers count as background: they do compete for the same cores.
The OS counts CPU time in ticks (10 ms on Linux), so windows of a few ticks read coarsely.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any, Sequence

THRESHOLD = 0.2   # the summary warns about queries whose background share exceeded this


@dataclass(frozen=True)
class CpuSnapshot:
    wall_s: float
    machine_busy_s: float       # busy CPU seconds of the whole machine, summed over CPUs
    own_s: float                # CPU seconds of this process, its waited children and its live descendants
    freq_mhz: float | None      # current CPU frequency where the OS gives it
    # Live descendants seen at the window's start and their CPU seconds then: listing them scans every
    # process of the machine (milliseconds), so the listing is reused for up to a second and the same
    # ones are read again at the end (a descendant born just before or inside a window counts as
    # background; the model's work runs in this process's own threads).
    descendants: tuple[tuple[int, float], ...] = ()


def _machine_busy_s() -> float:
    import psutil

    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    # Linux counts guest time inside user time already: leave it out of the sum.
    guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    return float(sum(times) - idle - guest)


def _self_and_waited_s() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _cpu_s(pid: int) -> float | None:
    import psutil

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:   # gone between listing and reading
        return None
    return float(times.user + times.system)


_TREE: dict[str, Any] = {"at": -math.inf, "pids": ()}   # the last listing of our descendants
TREE_MAX_AGE_S = 1.0


def _descendant_pids(max_age_s: float) -> tuple[int, ...]:
    """Our live descendants, listed at most once per ``max_age_s``: a listing reads every process
    of the machine (~1 ms on a quiet machine, ~16 ms on a loaded VM), a query window can be 20 ms."""
    import psutil

    now = time.monotonic()
    if now - float(_TREE["at"]) >= max_age_s:
        _TREE["pids"] = tuple(child.pid for child in psutil.Process().children(recursive=True))
        _TREE["at"] = now
    pids: tuple[int, ...] = _TREE["pids"]
    return pids


def _descendants(max_age_s: float) -> tuple[tuple[int, float], ...]:
    found = []
    for pid in _descendant_pids(max_age_s):
        cpu = _cpu_s(pid)
        if cpu is not None:
            found.append((pid, cpu))
    return tuple(found)


def cpu_freq_mhz() -> float | None:
    import psutil

    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError, AttributeError):
        return None
    return float(freq.current) if freq is not None and freq.current else None


def snapshot(tree_max_age_s: float = TREE_MAX_AGE_S) -> CpuSnapshot:
    """The window's opening reading (with this process's live descendants, listed at most once per
    ``tree_max_age_s``: a child started less than that before the window counts as background)."""
    descendants = _descendants(tree_max_age_s)
    own = _self_and_waited_s() + sum(cpu for _, cpu in descendants)
    return CpuSnapshot(wall_s=time.perf_counter(), machine_busy_s=_machine_busy_s(), own_s=own,
                       freq_mhz=cpu_freq_mhz(), descendants=descendants)


def closing_snapshot(start: CpuSnapshot) -> CpuSnapshot:
    """The window's closing reading: the same descendants read again (no scan of the machine).

    A descendant that ended and was waited for inside the window is now inside the waited-children
    total with its whole life, which already holds the time the start counted for it: it adds nothing.
    """
    own = _self_and_waited_s()
    for pid, _ in start.descendants:
        own += _cpu_s(pid) or 0.0
    return CpuSnapshot(wall_s=time.perf_counter(), machine_busy_s=_machine_busy_s(), own_s=own,
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
