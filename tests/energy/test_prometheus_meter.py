"""The Prometheus meter against a real exposition served by prometheus_client on 127.0.0.1, with
counters the test advances (the DCGM exporter's and node exporter's names, a custom one)."""

from __future__ import annotations

import pytest

from slm_energy_plugin.energy.prometheus import PrometheusMeter, parse_argument
from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.energy.registry import build_meter
from slm_energy_plugin.energy.units import J_PER_KWH
from slm_energy_plugin.errors import ConfigError

from ..prometheus_exporter import Exporter

DCGM = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"


def _joules(reading: EnergyReading, component: str) -> float:
    value = reading.component_kwh(component)
    assert value is not None
    return value * J_PER_KWH


def test_dcgm_gpus_are_summed_in_millijoules_and_a_short_window_is_flagged(prometheus_exporter: Exporter) -> None:
    url, counters = prometheus_exporter
    counters.set(DCGM, 9_000_000, gpu="0", UUID="GPU-a", Hostname="box")
    counters.set(DCGM, 4_000_000, gpu="1", UUID="GPU-b", Hostname="box")
    meter = build_meter(f"prometheus={url}", "USA")    # found through the slm_energy.meters entry point
    assert isinstance(meter, PrometheusMeter)
    handle = meter.start()
    counters.add(DCGM, 1500.0, gpu="0", UUID="GPU-a", Hostname="box")    # 1.5 J
    counters.add(DCGM, 500.0, gpu="1", UUID="GPU-b", Hostname="box")     # 0.5 J
    reading = meter.stop(handle)
    assert _joules(reading, "gpu") == pytest.approx(2.0)
    assert reading.cpu_kwh is None and reading.ram_kwh is None
    assert reading.methods["gpu"] == f"prometheus:{DCGM}" and reading.provenance == "measured"
    assert any("shorter than the exporter's update interval of 30 s: flagged (not widened)" in w
               for w in reading.warnings)
    assert meter.describe()["counters"][0]["unit"] == "mJ"


def test_node_exporter_rapl_package_and_dram(prometheus_exporter: Exporter) -> None:
    url, counters = prometheus_exporter
    for index in ("0", "1"):
        counters.set("node_rapl_package_joules_total", 1000.0, index=index, path="/sys/class/powercap/intel-rapl:" + index)
    counters.set("node_rapl_dram_joules_total", 300.0, index="0", path="/sys/class/powercap/intel-rapl:0:0")
    meter = PrometheusMeter(parse_argument(url))
    handle = meter.start()
    counters.add("node_rapl_package_joules_total", 10.0, index="0", path="/sys/class/powercap/intel-rapl:0")
    counters.add("node_rapl_package_joules_total", 5.0, index="1", path="/sys/class/powercap/intel-rapl:1")
    counters.add("node_rapl_dram_joules_total", 2.5, index="0", path="/sys/class/powercap/intel-rapl:0:0")
    reading = meter.stop(handle)
    assert _joules(reading, "cpu") == pytest.approx(15.0) and _joules(reading, "ram") == pytest.approx(2.5)
    assert reading.methods == {"cpu": "prometheus:node_rapl_package_joules_total", "gpu": "not-measured",
                               "ram": "prometheus:node_rapl_dram_joules_total"}
    assert reading.warnings == ()   # node exporter reads at scrape time: no interval to flag


def test_a_reset_counts_from_the_reset_and_says_so(prometheus_exporter: Exporter) -> None:
    url, counters = prometheus_exporter
    counters.set(DCGM, 5_000_000, gpu="0")
    counters.set(DCGM, 7_000_000, gpu="1")
    meter = PrometheusMeter(parse_argument(url + ",interval=0"))
    handle = meter.start()
    counters.set(DCGM, 2_000, gpu="0")                  # exporter restarted: 2 J since then
    counters.add(DCGM, 1_000, gpu="1")                  # 1 J
    reading = meter.stop(handle)
    assert _joules(reading, "gpu") == pytest.approx(3.0)
    assert any("gpu=0" in w and "reset during the window" in w for w in reading.warnings)


def test_custom_counter_with_unit_and_label_filter(prometheus_exporter: Exporter) -> None:
    url, counters = prometheus_exporter
    counters.set("site_energy_kwh_total", 1.0, host="a")
    counters.set("site_energy_kwh_total", 5.0, host="b")
    meter = PrometheusMeter(parse_argument(f"{url},metric=site_energy_kwh_total,unit=kWh,labels=host=a,component=gpu"))
    handle = meter.start()
    counters.add("site_energy_kwh_total", 0.002, host="a")
    counters.add("site_energy_kwh_total", 1.0, host="b")   # another host: filtered out
    reading = meter.stop(handle)
    assert reading.gpu_kwh == pytest.approx(0.002)
    assert reading.methods["gpu"] == "prometheus:site_energy_kwh_total"


def test_a_counter_that_does_not_move_is_flagged(prometheus_exporter: Exporter) -> None:
    url, counters = prometheus_exporter
    counters.set("node_rapl_package_joules_total", 10.0, index="0")
    meter = PrometheusMeter(parse_argument(url))
    handle = meter.start()
    import time

    time.sleep(0.05)
    reading = meter.stop(handle)
    assert reading.cpu_kwh == 0.0 and any("did not move" in w for w in reading.warnings)


def test_missing_metric_is_one_line_naming_what_is_there(prometheus_exporter: Exporter) -> None:
    url, counters = prometheus_exporter
    counters.set("other_energy_joules_total", 1.0)
    with pytest.raises(ConfigError) as caught:
        PrometheusMeter(parse_argument(url))
    message = str(caught.value)
    assert DCGM in message and "other_energy_joules_total" in message and "metric=NAME" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="has no nope_total series"):
        PrometheusMeter(parse_argument(url + ",metric=nope_total"))


def test_unreachable_endpoint_is_one_line_and_a_failure_mid_run_keeps_the_window(
        prometheus_exporter: Exporter) -> None:
    with pytest.raises(ConfigError) as caught:
        PrometheusMeter(parse_argument("http://127.0.0.1:9/metrics"))
    assert "cannot read the Prometheus endpoint http://127.0.0.1:9/metrics" in str(caught.value)
    assert "check that the exporter is running" in str(caught.value) and "\n" not in str(caught.value)
    url, counters = prometheus_exporter
    counters.set("node_rapl_package_joules_total", 10.0, index="0")
    meter = PrometheusMeter(parse_argument(url))
    handle = meter.start()
    meter.config = parse_argument("http://127.0.0.1:9/metrics")   # the exporter goes away mid-window
    reading = meter.stop(handle)
    assert reading.total_kwh is None and reading.provenance == "none"
    assert any("unreadable" in w for w in reading.warnings)


@pytest.mark.parametrize(("argument", "words"), [
    (None, "needs a URL"),
    ("localhost:9400", r"not an http\(s\) URL"),
    ("http://h/metrics,unit=J", "need metric=NAME"),
    ("http://h/metrics,metric=x,unit=BTU", "unit='BTU'"),
    ("http://h/metrics,metric=x,labels=novalue", "not k=v"),
    ("http://h/metrics,colour=red", "unknown setting"),
    ("http://h/metrics,interval=soon", "not seconds"),
])
def test_bad_arguments_are_one_line(argument: str | None, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_argument(argument)


def test_the_recorded_url_has_no_credentials(prometheus_exporter: Exporter) -> None:
    url, counters = prometheus_exporter
    counters.set("node_rapl_package_joules_total", 1.0, index="0")
    meter = PrometheusMeter(parse_argument(url.replace("http://", "http://user:pw@") + "?token=abc"))
    assert meter.describe()["url"] == url


def test_a_plugin_run_with_the_prometheus_meter(prometheus_exporter: Exporter, bench_project: "pytest.Pytester") -> None:
    """A whole run: the serving host's RAPL counter (node exporter names) advances at 100 W while it runs."""
    import threading
    import time

    url, counters = prometheus_exporter
    counters.set("node_rapl_package_joules_total", 1000.0, index="0")
    stop = threading.Event()

    def draw_power() -> None:
        while not stop.is_set():
            counters.add("node_rapl_package_joules_total", 1.0, index="0")   # 1 J per 10 ms = 100 W
            time.sleep(0.01)

    thread = threading.Thread(target=draw_power, daemon=True)
    thread.start()
    try:
        result = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2", "--benchmark-disable",
                                         "--energy-meter", f"prometheus={url}")
    finally:
        stop.set()
        thread.join()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["Energy: measured by hardware energy counters (prometheus:node_rapl_package_joules_total)."])
    from ..conftest import load_model_json, run_dirs

    [run_dir] = run_dirs(bench_project.path)
    data = load_model_json(run_dir, "tiny-gpt2")
    assert data["energy_meter"]["name"] == "prometheus" and data["energy_meter"]["url"] == url
    assert data["energy_provenance"] == "measured"
    for query in data["query_history"]:
        energy = query["energy"]
        assert energy["methods"]["cpu"] == "prometheus:node_rapl_package_joules_total"
        assert energy["provenance"] == "measured"
        watts = energy["cpu_kwh"] * J_PER_KWH / energy["window_s"]
        assert 20 < watts < 300   # about 100 W: the counter's own rate, read around the window


RAPL = "node_rapl_package_joules_total"
STALL_S = 30.0   # longer than the meter's own 15 s: only --energy-request-deadline can end it early


def test_a_stalled_scrape_ends_at_the_request_deadline_that_its_message_names(prometheus_exporter: Exporter) -> None:
    """The exporter stalls before its first byte; --energy-request-deadline 1 (what build_meter is given
    from it) cuts each scrape at 1 s, and the line names that option."""
    import time

    from slm_energy_plugin.energy.prometheus import SCRAPE_DEADLINE_S
    from slm_energy_plugin.settings import OPTIONS

    url, counters = prometheus_exporter
    counters.set(RAPL, 1000.0, index="0")
    unset = build_meter(f"prometheus={url}", "USA")
    assert isinstance(unset, PrometheusMeter) and unset.config.deadline_s == SCRAPE_DEADLINE_S
    [option] = [spec for spec in OPTIONS if spec.option == "--energy-request-deadline"]
    assert f"{SCRAPE_DEADLINE_S:g} s a scrape" in option.help   # the help says the default the meter keeps
    unset.close()
    meter = build_meter(f"prometheus={url}", "USA", None, 1.0)
    assert isinstance(meter, PrometheusMeter)
    counters.stall_s = STALL_S
    started = time.monotonic()
    reading = meter.stop(meter.start())   # two scrapes, each cut at 1 s
    assert time.monotonic() - started < 2 * 1.0 + 1.0
    assert reading.cpu_kwh is None and reading.methods["cpu"] == "not-measured"
    [warning] = reading.warnings
    assert ("still arriving at its deadline; stopped reading (a stuck or dripping server; --energy-request-deadline "
            "sets the seconds); window not measured") in warning and "\n" not in warning
    counters.stall_s = 0.0
    assert meter.stop(meter.start()).methods["cpu"] == f"prometheus:{RAPL}"   # measured again
    meter.close()
    # Stalled at the start: one usage line naming the same option, at the deadline.
    counters.stall_s = STALL_S
    started = time.monotonic()
    with pytest.raises(ConfigError, match="--energy-request-deadline sets the seconds") as caught:
        build_meter(f"prometheus={url}", "USA", None, 1.0)
    assert time.monotonic() - started < 2.0 and "\n" not in str(caught.value)


def test_a_run_whose_exporter_stalls_is_one_line_at_the_request_deadline(bench_project: pytest.Pytester,
                                                                         prometheus_exporter: Exporter) -> None:
    """The session passes --energy-request-deadline to the meter it builds (roles/measurer.py)."""
    import re

    url, counters = prometheus_exporter
    counters.set(RAPL, 1000.0, index="0")
    counters.stall_s = STALL_S
    result = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2", "--benchmark-disable",
                                                "--energy-meter", f"prometheus={url}",
                                                "--energy-request-deadline", "1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: Prometheus endpoint {url}: the answer was still arriving at its deadline; "
                                 "stopped reading (a stuck or dripping server; --energy-request-deadline sets the seconds)"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    # The session (its own clock, not the interpreter's start) ended near 1 s, not at the meter's 15 s.
    session = re.search(r"no tests ran in ([0-9.]+)s", result.stdout.str())
    assert session is not None and float(session.group(1)) < 10.0, result.stdout.str()
