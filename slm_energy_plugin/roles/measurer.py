"""The measuring role: load models, open energy windows, turn a test into a record.

Runs in every process that runs tests (a plain run, or each xdist worker). It never
writes files: finished measurements leave as primitive dicts (events) that travel on
test reports to the collecting role.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..perf.bandwidth import Bandwidth, bandwidth_for
from ..perf.decode_protocol import ProtocolSettings, run_protocol
from ..energy import EnergyMeter, EnergyReading, PowerBaseline, build_meter
from ..energy.intensity import CarbonContext
from ..errors import ConfigError, SlmEnergyError
from ..http_limits import ResponseLimits
from ..perf.memory import MemoryWindow, cuda_peak_mb
from ..perf.memory import peak_rss_mb
from ..perf.sampler import UtilisationSampler
from ..workload.asks import Ask
from ..workload.record_extra import workload_extra
from ..backends.availability import HubProbe, check_availability
from ..backends.registry import registry_for, select_models
from ..backends.backend_registry import BackendRequest, get_backend
from ..backends.base import ModelBackend
from ..backends.spec import ModelSpec
from ..backends.transformers_runtime import Generation, LoadedModel, check_device, resolve_device
from ..backends.tiny import ensure_tiny
from ..results.events import ModelEvent, QueryEvent
from ..results.records import LoadRecord, QueryRecord
from ..settings import Settings
from .slm import TestObservation
from ..medians import median_or_none
from .opened import OpenModel

if TYPE_CHECKING:
    from .load_plan import PlannedChunk


class ModelUnavailable(Exception):
    """The model cannot be had here; its tests are skipped with this reason."""


class ModelLoadFailed(Exception):
    """The model was there but did not load; its tests error with this reason."""


class Measurer:
    """Per-process measuring state: one meter, one hub probe, one idle baseline."""

    def __init__(self, settings: Settings, carbon: CarbonContext, worker: str = "main",
                 worker_count: int = 1, make_meter: Callable[[], EnergyMeter | None] | None = None) -> None:
        self.settings = settings
        # The pytest_slm_energy_make_meter hook, when a conftest or plugin implements it.
        self._make_meter = make_meter
        self.carbon = carbon
        self.worker = worker
        self.worker_count = worker_count
        self._threads_set = False
        self.probe = HubProbe()
        self._meter: EnergyMeter | None = None
        self.baseline: PowerBaseline | None = None
        self._pending: list[ModelEvent] = []
        self._bandwidth: dict[str, Bandwidth | None] = {}
        self._devices: dict[str, str] = {}   # alias -> device it runs on
        # Loaded models, held for the whole process (issue 10): with the interleaved order pytest
        # finalizes the session-scoped slm_model fixture at every model switch, so the fixture looks
        # models up here instead of loading them again. A failed load is remembered too.
        self._models: dict[str, OpenModel] = {}
        self._failed: dict[str, Exception] = {}

        self._sampler: UtilisationSampler | None = None
        # Load levels above 1: per alias, the generations its tests will ask for, made when the
        # model opens (roles/load_plan.py, roles/load_run.py).
        self.plans: dict[str, list[Ask]] = {}
        # --energy-until decided: the same asks in chunks, made lazily (roles/load_chunks.py).
        self.chunks: dict[str, list["PlannedChunk"]] | None = None

    @property
    def meter(self) -> EnergyMeter:
        if self._meter is None:
            made = self._make_meter() if self._make_meter is not None else None
            meter = made if made is not None else build_meter(self.settings.meter, self.settings.country,
                                                                  self.settings.response_max_mb,
                                                                  self.settings.request_deadline)
            meter.warm_up()  # hardware detection is paid here, not by a measured window
            self._meter = meter
        return self._meter

    @property
    def sampler(self) -> UtilisationSampler | None:
        """The process's utilisation sampler (None when --energy-sample-hz is 0)."""
        if self._sampler is None and self.settings.sample_hz > 0:
            self._sampler = UtilisationSampler(self.settings.sample_hz)
        return self._sampler

    def close(self) -> None:
        for opened in self._models.values():   # served models hold HTTP connections
            opened.loaded.close()
        self._models.clear()
        if self._meter is not None:
            self._meter.close()

    def held_model(self, spec: ModelSpec) -> OpenModel:
        """The model, loaded once per process and held until :meth:`release` or :meth:`close`."""
        if spec.alias in self._failed:
            raise self._failed[spec.alias]
        if spec.alias not in self._models:
            try:
                self._models[spec.alias] = self.open_model(spec)
            except (ModelUnavailable, ModelLoadFailed) as exc:
                self._failed[spec.alias] = exc
                raise
        return self._models[spec.alias]

    def release(self, alias: str) -> None:
        """Forget a held model (grouped order: its block is over, its memory goes back)."""
        opened = self._models.pop(alias, None)
        if opened is not None:
            opened.loaded.close()

    def take_pending_events(self) -> list[ModelEvent]:
        events, self._pending = self._pending, []
        return events

    # -- models -----------------------------------------------------------------------------

    def _share_cores_with_workers(self) -> None:
        """Give each parallel worker its share of the cores: oversubscribed threads would
        make every worker slower and charge the contention to the queries."""
        if self.worker_count > 1 and not self._threads_set:
            import torch

            torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.worker_count))
        self._threads_set = True

    def open_model(self, spec: ModelSpec) -> OpenModel:
        found = get_backend(spec.backend)   # the slm_energy.backends entry point of that name
        if found.served:  # a model behind a server: see serving.py
            from .serving import open_served

            return open_served(self, spec, found)
        self._share_cores_with_workers()
        availability = check_availability(spec, self.settings.offline, self.probe)
        if not availability.available:
            raise ModelUnavailable(availability.reason)
        local_path = availability.local_path
        if spec.source == "tiny":
            local_path = ensure_tiny(spec.base_alias, str(spec.tiny))
        self._check_fit(spec, local_path)
        meter = self.meter
        device = self._device_of(spec)
        self.bandwidth(device)   # a first measurement's buffers must not count as this model's memory
        memory = MemoryWindow.open(device)
        handle = meter.start()
        started = time.perf_counter()
        try:
            limits = ResponseLimits.from_mb(self.settings.response_max_mb)
            opened_in_process = found.open(BackendRequest(spec, limits, self.settings.request_deadline, local_path))
            if not isinstance(opened_in_process, LoadedModel):   # this path measures device memory and bandwidth
                raise TypeError(f"in-process backend {spec.backend!r} gave no transformers LoadedModel")
            loaded = opened_in_process
        except Exception as exc:  # noqa: BLE001 - any load failure is reported, others still run
            meter.stop(handle)
            raise ModelLoadFailed(f"failed to load {spec.model_id}: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")) from exc
        load_reading = meter.stop(handle)
        load_seconds = time.perf_counter() - started
        memory.loaded()
        self._devices[spec.alias] = loaded.device
        warmup_seconds = self._warm_up(loaded, spec)
        performance = self._performance(loaded, memory)
        opened: ModelBackend = loaded
        lazy = None
        if spec.batch_size > 1:   # --energy-batch-size: the planned generations, N rows per call
            from .load_chunks import answers_under_load
            from .load_run import BATCH_SIZE, run_batched

            lazy = answers_under_load(loaded, BATCH_SIZE, spec.batch_size, self.plans.get(spec.alias, []),
                                      None if self.chunks is None else self.chunks.get(spec.alias, []),
                                      lambda asks: run_batched(loaded, asks, spec.batch_size, meter))
            opened, performance["load"] = lazy
        if self.baseline is None and self.settings.idle_seconds > 0:
            self.baseline = self.measure_idle(self.settings.idle_seconds)
        info = loaded.info(self.generation_settings(spec))
        event: ModelEvent = {
            "kind": "model",
            "alias": spec.alias,
            "worker": self.worker,
            "info": info.to_dict(),
            "load": LoadRecord(
                duration_s=load_seconds,
                energy=load_reading,
                emissions_kg=self.carbon.emissions_kg(load_reading.total_kwh),
                peak_rss_mb=peak_rss_mb(),
                worker=self.worker,
                warmup_s=warmup_seconds,
            ).to_dict(),
            "idle": None if self.baseline is None else self.baseline.to_dict(),
            "meter": meter.describe(),
            "carbon": self.carbon.to_dict(),
            "performance": performance,
        }
        self._pending.append(event)
        if lazy is not None:
            from .load_chunks import resend_after_chunks

            resend_after_chunks(lazy[0], event, lambda update: self._pending.append(update))
        return OpenModel(loaded=opened, event=event)

    def _check_fit(self, spec: ModelSpec, local_path: Path | None) -> None:
        """Interleaved order holds every model: refuse one that would not fit beside the others."""
        if self.settings.order != "interleaved" or not self._models:
            return
        from ..perf.memory_fit import check_fit, weight_files_bytes

        fit = check_fit(weight_files_bytes(local_path))
        if not fit.fits:
            raise ModelLoadFailed(fit.message(spec.alias, sorted(self._models)))

    @staticmethod
    def _device_of(spec: ModelSpec) -> str:
        try:
            return resolve_device(spec.device)
        except Exception:  # noqa: BLE001 - the load reports a bad device; memory figures just go without CUDA
            return "cpu"

    def bandwidth(self, device: str) -> Bandwidth | None:
        """The machine's bandwidth for ``device``, once per process (cached per machine on disk)."""
        kind = "cuda" if device.startswith("cuda") else device
        if kind not in self._bandwidth:
            try:
                self._bandwidth[kind] = bandwidth_for(self.settings.bandwidth, device)
            except Exception:  # noqa: BLE001 - no MBU rather than no run
                self._bandwidth[kind] = None
        return self._bandwidth[kind]

    def protocol_settings(self) -> ProtocolSettings:
        return ProtocolSettings(warmup=self.settings.protocol_warmup,
                                min_seconds=self.settings.protocol_min_seconds,
                                min_iterations=self.settings.protocol_min_iterations)

    def _performance(self, loaded: LoadedModel, memory: MemoryWindow) -> dict[str, Any]:
        """What the model costs beyond one query: threads, weight bytes, memory, bandwidth, protocol."""
        import torch

        bandwidth = self.bandwidth(loaded.device)
        protocol = None
        if self.settings.decode_protocol:
            protocol = run_protocol(loaded, self.meter, self.protocol_settings())
        return {
            "torch_threads": torch.get_num_threads(),
            "device": loaded.device,
            "dtype": str(loaded.model.dtype).replace("torch.", ""),
            "weight_bytes": loaded.weight_bytes,
            "decode_bytes_per_token": loaded.decode_bytes_per_token,
            "memory": memory.to_dict(),
            "bandwidth": None if bandwidth is None else bandwidth.to_dict(),
            "decode_protocol": protocol,
        }

    def resources(self, alias: str) -> dict[str, Any]:
        """Peak memory so far for the model's window (read after a test, outside its energy window)."""
        device = self._devices.get(alias, "cpu")
        found = {"peak_rss_mb": peak_rss_mb()}
        if device.startswith("cuda"):
            found["cuda_max_allocated_mb"] = cuda_peak_mb(device)
        return found

    def generation_settings(self, spec: ModelSpec) -> dict[str, Any]:
        return {
            "max_new_tokens": spec.max_new_tokens,
            "do_sample": bool(self.settings.temperature),
            "decoding": "sampling" if self.settings.temperature else "greedy",
            "temperature": self.settings.temperature,
            "top_p": self.settings.top_p,
            "seed": self.settings.seed,
            "stops": self.settings.stops,
            "warmup": self.settings.warmup,
            "repeat": self.settings.repeat,
            "prompt_style": spec.prompt_style,
            "prompt_template": spec.prompt_template if spec.prompt_style == "plain" else "tokenizer chat template",
            "inference_mode": True,
            "min_new_tokens": spec.max_new_tokens if spec.source == "random" else None,
            # The load level: requests in flight (served) or rows per generate call (in-process).
            **({"concurrency": spec.concurrency} if spec.backend != "transformers" else {"batch_size": spec.batch_size}),
            "load_level_of": spec.level_of,
        }

    def _warm_up(self, loaded: LoadedModel, spec: ModelSpec) -> float:
        """Warm-up generations outside any window, on the path the queries take: with the prompt
        format's stop strings (transformers builds their token tables on first use) and, at a batch
        size above 1, as a batch (its first padded call sets up kernels a lone query does not)."""
        from ..backends.batched import generate_batch
        from .load_plan import warmup_ask

        ask = warmup_ask(self.settings, spec)
        started = time.perf_counter()
        for _ in range(self.settings.warmup):
            if spec.batch_size > 1:
                generate_batch(loaded, [ask.prompt] * min(spec.batch_size, 2), ask.max_new_tokens,
                               sampling=ask.sampling, stop=ask.stop)
            else:
                loaded.generate(ask.prompt, ask.max_new_tokens, sampling=ask.sampling, stop=ask.stop)
        return time.perf_counter() - started

    def measure_idle(self, seconds: float) -> PowerBaseline:
        """Idle power: the meter's view of the machine doing nothing for ``seconds``."""
        handle = self.meter.start()
        time.sleep(seconds)
        return PowerBaseline.from_reading(self.meter.stop(handle))

    # -- tests ------------------------------------------------------------------------------

    def build_record(self, *, alias: str, observation: TestObservation, outcome: str, error: str | None,
                     test_id: str, started_at: str, call_s: float, collection_index: int,
                     order: dict[str, Any] | None = None) -> QueryRecord:
        from ..perf.background import window_extra

        # Issue 10: where the run order put this query, and what else the machine was doing.
        context = {**self.resources(alias), "order": order, **window_extra(observation.cpu_windows)}
        return build_query_record(
            alias=alias, observation=observation, outcome=outcome, error=error, test_id=test_id,
            started_at=started_at, call_s=call_s, collection_index=collection_index,
            carbon=self.carbon, baseline=self.baseline, worker=self.worker, resources=context)


def build_query_record(
    *,
    alias: str,
    observation: TestObservation,
    outcome: str,
    error: str | None,
    test_id: str,
    started_at: str,
    call_s: float,
    collection_index: int,
    carbon: CarbonContext,
    baseline: PowerBaseline | None,
    worker: str = "main",
    resources: dict[str, Any] | None = None,
) -> QueryRecord:
    """One test's record, per round: the model-work windows' energy and time divided by the rounds."""
    from ..quality import normalized_answer, prompt_opens_think, response_health

    generations: list[Generation] = observation.generations
    rounds = max(1, len(generations))
    from .load_run import idle_seconds, load_share   # load levels: the requests' shares of their windows

    measured = EnergyReading.combine(observation.readings)
    per_round = load_share(generations, measured)
    last = generations[-1] if generations else None
    net = None
    if baseline is not None and per_round.total_kwh is not None:
        idle = baseline.idle_kwh(idle_seconds(generations, measured))
        net = None if idle is None else per_round.total_kwh - idle
    extra: dict[str, Any] = {
        "collection_index": collection_index,
        "worker": worker,
        "call_s": call_s,          # the whole test call; duration_s counts model work only
        "generation_s": median_or_none([g.seconds for g in generations]),
        "decode_tokens_per_s": median_or_none([g.decode_tokens_per_s for g in generations]),
        "hit_eos": last.hit_eos if last else None,
        "scoring_calls": observation.scoring_calls,
        **(resources or {}),
    }
    if last is not None and last.extra:
        extra["backend"] = dict(last.extra)   # served models: token source, server timings, finish reason
    response = last.response if last else str(observation.scores.get("extracted") or "")
    if last is not None:
        think_open = prompt_opens_think(last.rendered_prompt)
        extra["health"] = response_health(last.response, tokens_output=last.tokens_output,
                                          max_new_tokens=last.max_new_tokens, eos_generated=last.hit_eos,
                                          think_open=think_open).to_dict()
        if last.reasoning_tokens is not None:
            extra["reasoning_tokens"] = last.reasoning_tokens
        if len(generations) > 1:
            extra["round_seconds"] = [g.seconds for g in generations]
            extra["round_answers"] = [normalized_answer(g.response, think_open=think_open) for g in generations]
            if len({g.response for g in generations}) > 1:
                extra["round_responses"] = [g.response for g in generations]
    extra.update(workload_extra(observation))   # sampling, stops, load, utilisation (issue 13)
    tokens_input = last.tokens_input if last else observation.scoring_tokens_input
    return QueryRecord(
        model=alias,
        query_id=observation.query_id or test_id,
        query=observation.query or "",
        response=response,
        tokens_input=tokens_input,
        tokens_output=last.tokens_output if last else observation.work_tokens_output,
        duration_s=per_round.duration_s,
        sequence=collection_index,
        outcome=outcome,
        test_id=test_id,
        started_at=started_at,
        rounds=rounds,
        energy=per_round,
        net_energy_kwh=net,
        emissions_kg=carbon.emissions_kg(per_round.total_kwh),
        ttft_s=median_or_none([g.ttft_s for g in generations]),
        decode_s=median_or_none([g.decode_s for g in generations]),
        error=error,
        task=observation.task,
        expected=observation.expected,
        scores=dict(observation.scores),
        extra=extra,
    )


def query_event(record: QueryRecord, timeline: list[list[Any]] | None = None) -> QueryEvent:
    event: QueryEvent = {"kind": "query", "alias": record.model, "record": record.to_dict()}
    if timeline:
        event["timeline"] = timeline   # utilisation rows: primitives, written by the controller only
    return event


def benchmark_extra_info(record: QueryRecord) -> dict[str, Any]:
    """What pytest-benchmark stores with each entry, so its compare tools work on energy runs."""
    energy = record.energy
    return {
        "model": record.model,
        "query_id": record.query_id,
        "energy_kwh": record.energy_kwh,
        "energy_methods": dict(energy.methods) if energy else None,
        "energy_provenance": energy.provenance if energy else "none",
        "emissions_kg": record.emissions_kg,
        "tokens_input": record.tokens_input,
        "tokens_output": record.tokens_output,
        "ttft_s": record.ttft_s,
        "rounds": record.rounds,
    }


def selected_specs(settings: Settings) -> list[ModelSpec]:
    """The models this run measures, with the per-model dtype/device options applied."""
    from ..backends.served import with_base_urls

    from ..workload.variants import expand_load_levels

    specs = select_models(settings.models, registry_for(settings.registry), Path.cwd(), settings.max_new_tokens,
                          dtypes=settings.dtype, devices=settings.device)
    specs = with_base_urls(specs, settings.base_url)   # served models: the server each one is reached at
    specs = expand_load_levels(specs, settings.batch_size, settings.concurrency)
    seen: set[str] = set()
    for spec in specs:
        if spec.alias in seen:
            raise ConfigError(f"two selected models would both be called {spec.alias!r} once load levels "
                                 "are added; select one of them under another alias (data/models.json)")
        seen.add(spec.alias)
    return specs


def check_devices(specs: list[ModelSpec]) -> None:
    """One line for a device or dtype this machine cannot run, before anything is measured.

    Only models placed explicitly on an accelerator are probed: auto/cpu are checked at load.
    """
    for spec in specs:
        if spec.device in ("auto", "cpu"):
            continue
        try:
            check_device(spec.device, spec.dtype)
        except ValueError as exc:
            raise SlmEnergyError(f"{spec.alias}: {exc}") from None

