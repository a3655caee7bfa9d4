"""A pytest plugin the harness scripts load with ``-p harness_timing``: per-test wall time and peak RSS.

Each test's time runs from ``pytest_runtest_logstart`` to ``pytest_runtest_logfinish``: setup, call,
teardown and every plugin's report hooks, i.e. everything a test costs. The process's peak RSS is read
at the end. Written as JSON to $HARNESS_TIMING_OUT.
"""

from __future__ import annotations

import json
import os
import re
import time

_starts: dict[str, float] = {}
_times: dict[str, float] = {}
_began = time.perf_counter()


def pytest_runtest_logstart(nodeid, location):
    _starts[nodeid] = time.perf_counter()


def pytest_runtest_logfinish(nodeid, location):
    _times[nodeid] = time.perf_counter() - _starts.pop(nodeid)


def _peak_rss_mb() -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            return int(re.search(r"^VmHWM:\s+(\d+)", handle.read(), re.MULTILINE).group(1)) / 1024
    except (OSError, AttributeError):
        return None


def pytest_unconfigure(config):
    out = os.environ.get("HARNESS_TIMING_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump({"tests": _times, "peak_rss_mb": _peak_rss_mb(),
                       "session_s": time.perf_counter() - _began}, handle)
