"""Utilisation over time: a sampler thread that runs while a model-work window is open.

Each window (one ``slm.ask``, one log-likelihood pass) gets a thread that wakes ``hz`` times a
second and records one row: system CPU % (all cores, 0-100), the working process's CPU % (100 =
one core, psutil's convention) and resident memory — this process's, or for a model served on
this machine the server's (found by its listening port, see perf/server_process.py) — and on NVIDIA GPUs (nvidia-ml-py, when it imports
and finds a GPU) utilisation, memory used and power summed over the visible GPUs.

CPU percentages come from ``cpu_times`` deltas kept by the sampler itself, never from
``psutil.cpu_percent(interval=None)``: that call keeps one global "last reading" per process,
which CodeCarbon's CPU-load estimate also reads, and a 10 Hz caller would shrink its interval.

Rows are lists of primitives (they ride on test reports to the controller, which alone writes
``timeline.csv``); :func:`summarise` gives each record its mean/peak figures.
"""

from __future__ import annotations

import io
import csv
import threading
import time
from pathlib import Path
from typing import Any

import psutil

COLUMNS = ("time_unix", "query_id", "system_cpu_pct", "process_cpu_pct", "rss_mb",
           "gpu_util_pct", "gpu_mem_mb", "gpu_power_w")
_FIGURES = COLUMNS[2:]
_MIN_FINAL_GAP_S = 0.02   # a closing sample this soon after the last one would divide by ~0


class _Gpus:
    """NVML handles for every visible GPU; empty when nvidia-ml-py or a GPU is missing."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml: Any = pynvml
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:  # noqa: BLE001 - no library, no driver or no GPU: CPU figures only
            self.handles = []

    def read(self) -> tuple[float | None, float | None, float | None]:
        if not self.handles:
            return None, None, None
        nvml = self._nvml
        try:
            util = max(float(nvml.nvmlDeviceGetUtilizationRates(h).gpu) for h in self.handles)
            mem = sum(float(nvml.nvmlDeviceGetMemoryInfo(h).used) for h in self.handles) / 2**20
            power = sum(float(nvml.nvmlDeviceGetPowerUsage(h)) for h in self.handles) / 1000.0
        except Exception:  # noqa: BLE001 - a GPU that stops answering loses its columns, not the run
            return None, None, None
        return util, mem, power


def _busy_total(times: Any) -> tuple[float, float]:
    total = float(sum(times))
    idle = float(times.idle) + float(getattr(times, "iowait", 0.0))
    return total - idle, total


class _Window:
    def __init__(self, sampler: "UtilisationSampler", query_id: str | None, process: psutil.Process) -> None:
        self.sampler = sampler
        self.query_id = query_id or ""
        self.process = process
        self.rows: list[list[Any]] = []
        self._stop = threading.Event()
        self._last = sampler.cpu_state(process)
        self._thread = threading.Thread(target=self._run, name="slm-energy-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        state = self.sampler.cpu_state(self.process)
        self.rows.append(self.sampler.row(self.query_id, self._last, state, self.process))
        self._last = state

    def _run(self) -> None:
        while not self._stop.wait(self.sampler.interval):
            self._sample()

    def close(self) -> list[list[Any]]:
        """Stop the thread (it wakes at once) and return the window's rows; a closing sample
        covers the tail, so even a window shorter than one interval has a row."""
        self._stop.set()
        self._thread.join()
        if not self.rows or time.perf_counter() - self._last[0] >= _MIN_FINAL_GAP_S:
            self._sample()
        return self.rows


class UtilisationSampler:
    """One per process; :meth:`open` starts a window's thread, ``window.close()`` ends it."""

    def __init__(self, hz: float) -> None:
        if not hz > 0:
            raise ValueError("the sampling rate must be above 0 Hz (0 means: no sampler)")
        self.interval = 1.0 / hz
        self._process = psutil.Process()
        self._others: dict[int, psutil.Process] = {}
        self._gpus = _Gpus()

    def cpu_state(self, process: psutil.Process | None = None) -> tuple[float, float, float, float | None]:
        """(perf_counter, system busy s, system total s, the process's cpu s; None once it is gone)."""
        busy, total = _busy_total(psutil.cpu_times())
        try:
            own = (process or self._process).cpu_times()
            cpu: float | None = float(own.user + own.system)
        except psutil.Error:   # a served model's server that exited or that we may not read
            cpu = None
        return time.perf_counter(), busy, total, cpu

    def row(self, query_id: str, before: tuple[float, float, float, float | None],
            after: tuple[float, float, float, float | None], process: psutil.Process | None = None) -> list[Any]:
        wall = max(after[0] - before[0], 1e-9)
        total = after[2] - before[2]
        system = 100.0 * (after[1] - before[1]) / total if total > 0 else 0.0
        cpu = None if before[3] is None or after[3] is None else round(max(0.0, 100.0 * (after[3] - before[3]) / wall), 2)
        try:
            rss_mb: float | None = round((process or self._process).memory_info().rss / 2**20, 2)
        except psutil.Error:
            rss_mb = None
        util, mem, power = self._gpus.read()
        return [round(time.time(), 3), query_id, round(max(0.0, min(100.0, system)), 2), cpu, rss_mb, util, mem, power]

    def process(self, pid: int | None) -> psutil.Process:
        """The process whose CPU and RSS a window samples: ``pid`` (a local model server), else this one."""
        if pid is None or pid == self._process.pid:
            return self._process
        cached = self._others.get(pid)
        if cached is None:
            try:
                cached = self._others[pid] = psutil.Process(pid)
            except psutil.Error:   # the server exited since it was found: this process, said so by the caller
                return self._process
        return cached

    def open(self, query_id: str | None, pid: int | None = None) -> _Window:
        """A window sampling this process, or the process ``pid`` (e.g. the Ollama server serving the model)."""
        return _Window(self, query_id, self.process(pid))


def summarise(rows: list[list[Any]]) -> dict[str, Any]:
    """Mean and peak of each figure over a record's rows (``extra.utilisation``)."""
    out: dict[str, Any] = {"samples": len(rows)}
    for index, name in enumerate(COLUMNS):
        if name not in _FIGURES:
            continue
        values = [float(row[index]) for row in rows if row[index] is not None]
        if values:
            out[name] = {"mean": round(sum(values) / len(values), 3), "peak": round(max(values), 3)}
    return out


TIMELINE_FILE = "timeline.csv"


def write_timeline(run_dir: Path, rows: list[list[Any]]) -> Path:
    """Write ``timeline.csv`` into the run folder (the controller's collecting role only)."""
    path = run_dir / TIMELINE_FILE
    partial = path.with_suffix(".csv.partial")
    partial.write_text(timeline_csv(rows), encoding="utf-8")
    partial.replace(path)
    return path


def timeline_csv(rows: list[list[Any]]) -> str:
    """The run's ``timeline.csv`` text: a header, then one row per sample (model alias first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("model",) + COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()
