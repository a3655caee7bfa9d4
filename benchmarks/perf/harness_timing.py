"""A pytest plugin the harness scripts load with ``-p harness_timing``: per-test wall time, peak RSS
and, for slm-energy runs, the in-situ cost of the energy meter's start/stop calls.

Each test's time runs from ``pytest_runtest_logstart`` to ``pytest_runtest_logfinish``: setup, call,
teardown and every plugin's report hooks, i.e. everything a test costs. Peak RSS is sampled every
5 ms by a thread (slm-energy resets the kernel's peak counter per model, so VmHWM would under-count
its runs). Written as JSON to $HARNESS_TIMING_OUT.
"""

from __future__ import annotations

import json
import os
import threading
import time

_starts: dict[str, float] = {}
_times: dict[str, float] = {}
_meter_calls: list[float] = []
_began = time.perf_counter()
_peak = {"rss_mb": 0.0}
_page_mb = os.sysconf("SC_PAGE_SIZE") / 1024**2


def _sample() -> None:
    while True:
        try:
            with open("/proc/self/statm", encoding="ascii") as handle:
                rss = int(handle.read().split()[1]) * _page_mb
            _peak["rss_mb"] = max(_peak["rss_mb"], rss)
        except OSError:
            return
        time.sleep(0.005)


threading.Thread(target=_sample, daemon=True, name="harness-rss").start()


def _timed(method):
    def wrapper(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            _meter_calls.append(time.perf_counter() - begin)
    return wrapper


def pytest_configure(config):
    try:
        from slm_energy_plugin.energy.codecarbon_meter import CodeCarbonMeter
        from slm_energy_plugin.energy.null_meter import NullMeter
    except ImportError:
        return
    for cls in (CodeCarbonMeter, NullMeter):
        cls.start = _timed(cls.start)
        cls.stop = _timed(cls.stop)


def pytest_runtest_logstart(nodeid, location):
    _starts[nodeid] = time.perf_counter()


def pytest_runtest_logfinish(nodeid, location):
    _times[nodeid] = time.perf_counter() - _starts.pop(nodeid)


def pytest_unconfigure(config):
    out = os.environ.get("HARNESS_TIMING_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump({"tests": _times, "peak_rss_mb": _peak["rss_mb"], "meter_calls_s": _meter_calls,
                       "session_s": time.perf_counter() - _began}, handle)
