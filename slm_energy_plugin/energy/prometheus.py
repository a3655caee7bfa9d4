"""``--energy-meter prometheus=URL[,metric=NAME,unit=J|mJ|kWh,labels=k=v;k=v,interval=S,component=gpu]``:
energy counters read from a Prometheus text endpoint on the serving host, before and after each window.

Without ``metric=`` the well-known counters found at the URL are used:

* NVIDIA DCGM exporter ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` — mJ since boot, one series per GPU
  (summed) → the ``gpu`` component;
* node exporter ``node_rapl_package_joules_total`` → ``cpu``, ``node_rapl_dram_joules_total`` → ``ram``
  (J, one series per RAPL domain ``index``, summed).

A window's energy per series is ``end - start``; a series whose value went *down* was reset
(exporter restart, counter wrap) and contributes ``end`` — what it counted since the reset, as
Prometheus' ``increase()`` does — with a warning. Exporters refresh counters on their own clock
(dcgm-exporter every 30 s by default, ``--collect-interval``; node exporter reads at scrape time).
A window shorter than that interval is **flagged**, not widened: widening would charge the next
query's work to this one. The method label is ``prometheus:<counter name>`` and counts as measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping
import httpx

from ..errors import ConfigError
from ..safety import redact_url, strip_credentials
from ..http_limits import (ACCEPT_ENCODING, ResponseLimitError, ResponseLimits, bounded_transport, deadline_scope,
                           read_body)
from .base import EnergyMeter
from .reading import EnergyReading
from .registry import MeterRequest
from .units import J_PER_KWH

UNIT_TO_J = {"J": 1.0, "mJ": 1e-3, "kWh": J_PER_KWH, "Wh": 3600.0}
COMPONENTS = ("cpu", "gpu", "ram")
SCRAPE_TIMEOUT_S = 5.0     # connect, and silence between two chunks
# A whole scrape when --energy-request-deadline is not given (the served requests' default, 60 s + 1 s a
# token, fits a model's answer, not an exporter's page, which comes in milliseconds); a drip is cut here.
SCRAPE_DEADLINE_S = 15.0


@dataclass(frozen=True)
class Counter:
    """One energy counter to read: its sample name, unit, component, label filter, refresh interval."""

    name: str
    unit: str
    component: str
    labels: Mapping[str, str] = field(default_factory=dict)
    interval_s: float = 0.0

    @property
    def method(self) -> str:
        return f"prometheus:{self.name}"


KNOWN_COUNTERS = (
    Counter("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "mJ", "gpu", interval_s=30.0),
    Counter("node_rapl_package_joules_total", "J", "cpu"),
    Counter("node_rapl_dram_joules_total", "J", "ram"),
)


@dataclass(frozen=True)
class PrometheusConfig:
    url: str
    counter: Counter | None          # None: use the known counters found at the URL
    interval_s: float | None = None  # overrides the counters' refresh interval
    limits: ResponseLimits = ResponseLimits()   # decoded bytes of one scrape (a gzip bomb stops there)
    deadline_s: float = SCRAPE_DEADLINE_S


def parse_argument(argument: str | None) -> PrometheusConfig:
    """``URL[,key=value...]`` → config; one-line ConfigError for anything else."""
    if not argument:
        raise ConfigError("--energy-meter prometheus needs a URL: prometheus=http://HOST:9400/metrics")
    url, *options = [part.strip() for part in argument.split(",")]
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--energy-meter prometheus={argument}: {url!r} is not an http(s) URL of a /metrics page")
    values: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key not in ("metric", "unit", "labels", "interval", "component"):
            raise ConfigError(f"--energy-meter prometheus: unknown setting {option!r}; "
                              "use metric=NAME, unit=J|mJ|kWh|Wh, labels=k=v;k=v, interval=SECONDS, component=cpu|gpu|ram")
        values[key] = value.strip()
    interval = None
    if "interval" in values:
        try:
            interval = float(values["interval"])
        except ValueError:
            raise ConfigError(f"--energy-meter prometheus: interval={values['interval']!r} is not seconds") from None
        if not 0 <= interval < 3600:
            raise ConfigError("--energy-meter prometheus: interval must be between 0 and 3600 seconds")
    if "metric" not in values:
        if set(values) - {"interval"}:
            raise ConfigError("--energy-meter prometheus: unit/labels/component need metric=NAME")
        return PrometheusConfig(url, None, interval)
    unit = values.get("unit", "J")
    if unit not in UNIT_TO_J:
        raise ConfigError(f"--energy-meter prometheus: unit={unit!r}; choose one of {', '.join(UNIT_TO_J)}")
    component = values.get("component", "gpu" if values["metric"].startswith("DCGM") else "cpu")
    if component not in COMPONENTS:
        raise ConfigError(f"--energy-meter prometheus: component={component!r}; choose cpu, gpu or ram")
    labels: dict[str, str] = {}
    for pair in filter(None, values.get("labels", "").split(";")):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--energy-meter prometheus: labels entry {pair!r} is not k=v")
        labels[key.strip()] = value.strip()
    return PrometheusConfig(url, Counter(values["metric"], unit, component, labels, interval or 0.0), interval)


def parse_exposition(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name → [(labels, value)] for every sample in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return samples


def series_values(samples: Mapping[str, list[tuple[dict[str, str], float]]], counter: Counter) -> dict[str, float]:
    """Series key (its labels, sorted) → value, for the series of ``counter`` matching its label filter."""
    found: dict[str, float] = {}
    for labels, value in samples.get(counter.name, ()):
        if all(labels.get(k) == v for k, v in counter.labels.items()):
            found[",".join(f"{k}={labels[k]}" for k in sorted(labels))] = value
    return found


def increase(start: Mapping[str, float], end: Mapping[str, float]) -> tuple[float, list[str]]:
    """Sum over series of end − start, reset-aware; series present at one end only are skipped."""
    total, notes = 0.0, []
    for key, end_value in end.items():
        if key not in start:
            notes.append(f"series {{{key}}} appeared during the window: not counted")
            continue
        delta = end_value - start[key]
        if delta < 0:
            notes.append(f"counter {{{key}}} was reset during the window: counted from the reset")
            delta = end_value
        total += delta
    missing = [key for key in start if key not in end]
    if missing:
        notes.append(f"series {{{missing[0]}}} vanished during the window: not counted")
    return total, notes


class PrometheusMeter(EnergyMeter):
    name = "prometheus"

    def __init__(self, config: PrometheusConfig) -> None:
        self.config = config
        self.client = httpx.Client(timeout=SCRAPE_TIMEOUT_S, trust_env=False, transport=bounded_transport(),
                                   headers={"Accept-Encoding": ACCEPT_ENCODING})
        samples = self._scrape_or_raise()
        if config.counter is not None:
            if not series_values(samples, config.counter):
                raise ConfigError(self._missing_line(samples, [config.counter.name]))
            self.counters: tuple[Counter, ...] = (config.counter,)
        else:
            self.counters = tuple(c for c in KNOWN_COUNTERS if series_values(samples, c))
            if not self.counters:
                raise ConfigError(self._missing_line(samples, [c.name for c in KNOWN_COUNTERS]))

    def _missing_line(self, samples: Mapping[str, Any], wanted: Iterable[str]) -> str:
        energyish = sorted(n for n in samples if "energy" in n.lower() or "joule" in n.lower())[:5]
        return (f"{self.config.url} has no {' / '.join(wanted)} series"
                + (f" (energy-like counters there: {', '.join(energyish)}; name one with metric=NAME,unit=...)"
                   if energyish else "; check that the URL is the exporter's /metrics page"))

    def _scrape(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        what = f"Prometheus endpoint {redact_url(self.config.url)}"
        deadline = time.monotonic() + self.config.deadline_s
        with deadline_scope(deadline, what), self.client.stream("GET", self.config.url) as response:
            response.raise_for_status()
            body = read_body(response, self.config.limits, deadline, what)
        return parse_exposition(body.decode("utf-8", "replace"))

    def _scrape_or_raise(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        try:
            return self._scrape()
        except ResponseLimitError as exc:
            raise ConfigError(str(exc)) from None
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot read the Prometheus endpoint {self.config.url} ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}); check that the exporter is "
                              "running and reachable from this machine") from None
        except ValueError as exc:
            raise ConfigError(f"{self.config.url} is not a Prometheus text exposition ({exc})") from None

    def interval(self, counter: Counter) -> float:
        return self.config.interval_s if self.config.interval_s is not None else counter.interval_s

    @property
    def methods(self) -> dict[str, str]:
        methods = {component: "not-measured" for component in COMPONENTS}
        for counter in self.counters:
            methods[counter.component] = counter.method
        return methods

    def _read(self) -> tuple[dict[str, dict[str, float]] | None, str | None]:
        try:
            samples = self._scrape()
        except ResponseLimitError as exc:
            return None, f"{exc}; window not measured"
        except (httpx.HTTPError, ValueError) as exc:
            return None, f"Prometheus endpoint {redact_url(self.config.url)} unreadable ({type(exc).__name__}); window not measured"
        return {c.name: series_values(samples, c) for c in self.counters}, None

    def start(self) -> tuple[float, dict[str, dict[str, float]] | None, str | None]:
        values, problem = self._read()
        return time.perf_counter(), values, problem

    def stop(self, handle: tuple[float, dict[str, dict[str, float]] | None, str | None]) -> EnergyReading:
        started, start_values, problem = handle
        end_values, end_problem = self._read()
        duration = time.perf_counter() - started
        warnings: list[str] = []
        kwh: dict[str, float | None] = {component: None for component in COMPONENTS}
        methods = self.methods
        if start_values is None or end_values is None:
            warnings.append(str(problem or end_problem))
            methods = {component: "not-measured" for component in COMPONENTS}
        else:
            for counter in self.counters:
                joules, notes = increase(start_values[counter.name], end_values[counter.name])
                warnings.extend(f"{counter.name}: {note}" for note in notes)
                kwh[counter.component] = (kwh[counter.component] or 0.0) + joules * UNIT_TO_J[counter.unit] / J_PER_KWH
                interval = self.interval(counter)
                if duration < interval:
                    warnings.append(f"{counter.name}: window of {duration:.3g} s is shorter than the exporter's "
                                    f"update interval of {interval:g} s: flagged (not widened), the figure may be 0 "
                                    "or include a neighbour's work")
                elif joules == 0 and duration > 0.01:
                    warnings.append(f"{counter.name}: the counter did not move during this window")
        return EnergyReading(duration_s=duration, cpu_kwh=kwh["cpu"], gpu_kwh=kwh["gpu"], ram_kwh=kwh["ram"],
                             methods=methods, meter=self.name, warnings=tuple(warnings))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": None,
            "methods": self.methods,
            "provenance": "measured",
            "url": strip_credentials(self.config.url),
            "counters": [{"name": c.name, "unit": c.unit, "component": c.component, "labels": dict(c.labels),
                          "interval_s": self.interval(c)} for c in self.counters],
            "description": "energy counters of the serving host read from a Prometheus endpoint before and after "
                           "each window (measured; windows shorter than the exporter's update interval are flagged)",
        }

    def close(self) -> None:
        self.client.close()


def make_meter(request: MeterRequest) -> PrometheusMeter:
    """Entry point of the ``slm_energy.meters`` group."""
    config = parse_argument(request.argument)
    if request.response_max_mb is not None:
        config = replace(config, limits=ResponseLimits.from_mb(request.response_max_mb))
    if request.request_deadline_s is not None:
        config = replace(config, deadline_s=request.request_deadline_s)
    return PrometheusMeter(config)
