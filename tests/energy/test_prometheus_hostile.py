"""The Prometheus meter against a hostile exporter on 127.0.0.1 (issue 20): a gzip bomb reply (once
7.2 GB and over a minute) and a drip. At the start: one ConfigError line; mid-run: the window is
not measured, with one line, and the next window is measured again."""

from __future__ import annotations

import resource
import time
from typing import Iterator

import pytest

from slm_energy_plugin.energy.prometheus import PrometheusMeter, parse_argument
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.http_limits import MIB, ResponseLimits

from ..backends.hostile_server import HostileServer


@pytest.fixture
def exporter() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


def _meter(server: HostileServer) -> PrometheusMeter:
    config = parse_argument(f"{server.url}/metrics")
    from dataclasses import replace

    return PrometheusMeter(replace(config, limits=ResponseLimits(2 * MIB), deadline_s=1.0))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_a_bombed_exporter_at_the_start_is_one_line(exporter: HostileServer) -> None:
    exporter.metrics_mode = "bomb"
    peak, started = _peak_mb(), time.monotonic()
    with pytest.raises(ConfigError, match="passed 2 MB after decompression; stopped reading"):
        _meter(exporter)
    assert time.monotonic() - started < 5 and _peak_mb() - peak < 100


@pytest.mark.parametrize("mode, words", [("bomb", "passed 2 MB after decompression"),
                                         ("drip", "still arriving at its deadline")])
def test_a_hostile_reply_mid_run_leaves_one_window_unmeasured(exporter: HostileServer, mode: str,
                                                              words: str) -> None:
    meter = _meter(exporter)
    exporter.metrics_mode = mode
    peak, started = _peak_mb(), time.monotonic()
    reading = meter.stop(meter.start())
    assert time.monotonic() - started < 8 and _peak_mb() - peak < 100
    assert reading.cpu_kwh is None and reading.methods["cpu"] == "not-measured"
    [warning] = reading.warnings
    assert words in warning and "window not measured" in warning and "\n" not in warning
    exporter.metrics_mode = "ok"
    assert meter.stop(meter.start()).methods["cpu"] == "prometheus:node_rapl_package_joules_total"
    meter.close()
