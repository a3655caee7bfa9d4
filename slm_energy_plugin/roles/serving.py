"""Opening a served model (``openai:``/``ollama:``) for the measurer: its "model" event.

The in-process path loads weights; here "loading" is the first contact with the server
(GET of its model list), timed and metered like a load, then the warm-ups. A server that is
down does not fail the model: every query then fails on its own with outcome ``error`` and a
line saying what to check, and nothing measured before is lost.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from ..backends.backend_registry import Backend, BackendRequest
from ..backends.base import BackendError, ModelBackend
from ..backends import served
from ..backends.served import energy_scope, is_loopback, server_energy_measured, strip_credentials
from ..backends.spec import ModelSpec
from ..perf.memory import peak_rss_mb
from ..results.events import ModelEvent
from ..results.records import LoadRecord

from ..energy.base import EnergyMeter
from ..energy.intensity import CarbonContext
from ..energy.reading import PowerBaseline
from ..settings import Settings
from ..workload.asks import Ask
from .opened import OpenModel

if TYPE_CHECKING:
    from .load_plan import PlannedChunk


class MeasuringHost(Protocol):
    """The part of the measurer a served model is opened with (see roles/measurer.py)."""

    settings: Settings
    carbon: CarbonContext
    worker: str
    baseline: PowerBaseline | None
    _pending: list[ModelEvent]
    plans: dict[str, list[Ask]]
    chunks: dict[str, list["PlannedChunk"]] | None

    @property
    def meter(self) -> EnergyMeter: ...

    def measure_idle(self, seconds: float) -> PowerBaseline: ...

    def generation_settings(self, spec: ModelSpec) -> dict[str, Any]: ...


def make_backend(spec: ModelSpec, settings: Settings, backend: Backend) -> Any:
    """The client ``backend`` opens for ``spec``, with the run's bounds on one answer
    (--energy-response-max-mb, --energy-request-deadline)."""
    from ..http_limits import ResponseLimits

    return backend.open(BackendRequest(spec, ResponseLimits.from_mb(settings.response_max_mb),
                                       settings.request_deadline))


def open_served(measurer: MeasuringHost, spec: ModelSpec, found: Backend) -> OpenModel:
    url = str(spec.base_url)
    meter: EnergyMeter = measurer.meter
    own_meter = None
    meter_name = str(meter.describe().get("name", ""))
    local = served.interface_addresses()   # read once: the three checks below all ask "is the server here?"
    if not server_energy_measured(url, meter_name, local):
        # The server is elsewhere and nothing here reads its energy: this machine's figures would
        # be the client's, not the request's. Time only, and the record says not-measured.
        from ..energy.remote_server import RemoteServerMeter

        meter = own_meter = RemoteServerMeter(strip_credentials(url))
    backend = make_backend(spec, measurer.settings, found)
    handle = meter.start()
    started = time.perf_counter()
    backend.probe()
    load_reading = meter.stop(handle)
    process = None
    if is_loopback(url, local):   # the server's own CPU and RSS, sampled in every window (perf/sampler.py)
        from ..perf.server_process import server_process

        process = server_process(url)
        backend.server_pid = process["pid"]
    load_seconds = time.perf_counter() - started
    warm_started = time.perf_counter()
    warmup_error = None
    if backend.probe_error is None:
        try:
            from .load_plan import warmup_ask

            ask = warmup_ask(measurer.settings, spec)
            for _ in range(measurer.settings.warmup):
                backend.generate(ask.prompt, ask.max_new_tokens, sampling=ask.sampling, stop=ask.stop)
        except BackendError as exc:
            warmup_error = str(exc)
    warmup_seconds = time.perf_counter() - warm_started
    load = None
    lazy = None
    if spec.concurrency > 1 and backend.probe_error is None:   # --energy-concurrency: planned requests
        from .load_chunks import answers_under_load
        from .load_run import CONCURRENCY, run_concurrent

        client, level, window_meter = backend, spec.concurrency, meter
        lazy = answers_under_load(client, CONCURRENCY, level, measurer.plans.get(spec.alias, []),
                                  None if measurer.chunks is None else measurer.chunks.get(spec.alias, []),
                                  lambda asks: run_concurrent(client, asks, level, window_meter))
        backend, load = lazy
    if own_meter is None and measurer.baseline is None and measurer.settings.idle_seconds > 0:
        measurer.baseline = measurer.measure_idle(measurer.settings.idle_seconds)
    info = backend.info(measurer.generation_settings(spec))
    meter_info = meter.describe()
    scope = energy_scope(url, meter_name, local)
    server = dict(info.server or {})
    server.update(energy_scope=scope, loopback=is_loopback(url, local), warmup_error=warmup_error, process=process)
    info = replace(info, server=server, notes=(*info.notes, f"energy: {scope}"))
    event: ModelEvent = {
        "kind": "model",
        "alias": spec.alias,
        "worker": measurer.worker,
        "info": info.to_dict(),
        "load": LoadRecord(duration_s=load_seconds, energy=load_reading,
                           emissions_kg=measurer.carbon.emissions_kg(load_reading.total_kwh),
                           peak_rss_mb=peak_rss_mb(), worker=measurer.worker, warmup_s=warmup_seconds).to_dict(),
        "idle": None if measurer.baseline is None or own_meter is not None else measurer.baseline.to_dict(),
        "meter": {**meter_info, "scope": scope},
        "carbon": measurer.carbon.to_dict(),
        "performance": {"device": "server", "base_url": strip_credentials(str(spec.base_url)), "load": load},
    }
    measurer._pending.append(event)
    if lazy is not None:
        from .load_chunks import resend_after_chunks

        resend_after_chunks(lazy[0], event, lambda update: measurer._pending.append(update))
    opened: ModelBackend = backend
    return OpenModel(loaded=opened, event=event, meter=own_meter)
