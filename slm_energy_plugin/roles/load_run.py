"""``--energy-concurrency N``: a served model's queries sent with N in flight, in one energy window.

When a served model opens, every query of the run is sent to it with N requests in flight
(as vLLM's serving benchmark and ML.ENERGY do), inside ONE window of the meter. Each request's
latency, TTFT, tokens and failure are kept; the window's energy is shared among the requests
by time overlap (:mod:`..workload.load`). The tests then run as usual: ``slm.ask`` of a query
that was sent under load returns that request's answer (no new request), and its record carries
the request's share of the window's energy and its load figures.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from ..backends.base import BackendError, ModelBackend
from ..backends.transformers_runtime import Generation
from ..energy import EnergyMeter, EnergyReading
from ..workload.load import ENERGY_RULE, Throughput, share_by_overlap
from ..backends.sampling import Sampling

LOAD_KEY = "load"   # Generation.extra key holding the request's share of a load window


@dataclass
class LoadRequest:
    prompt: str
    started: float = 0.0
    ended: float = 0.0
    generation: Generation | None = None
    error: str | None = None


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    reading: EnergyReading
    requests: list[LoadRequest]
    window: tuple[float, float]

    @property
    def throughput(self) -> Throughput:
        ok = [r for r in self.requests if r.generation is not None]
        return Throughput(requests=len(ok), errors=len(self.requests) - len(ok),
                          window_s=self.window[1] - self.window[0],
                          output_tokens=sum(r.generation.tokens_output for r in ok if r.generation))

    def summary(self) -> dict[str, Any]:
        return {"concurrency": self.concurrency, "energy_rule": ENERGY_RULE, "energy": self.reading.to_dict(),
                **self.throughput.to_dict()}


def run_load(backend: ModelBackend, prompts: list[str], max_new_tokens: int, concurrency: int,
             meter: EnergyMeter) -> LoadResult:
    """Send every prompt with ``concurrency`` in flight, inside one meter window."""
    requests = [LoadRequest(prompt) for prompt in prompts]

    def one(request: LoadRequest) -> None:
        request.started = time.perf_counter()
        try:
            request.generation = backend.generate(request.prompt, max_new_tokens)
        except BackendError as exc:
            request.error = str(exc)
        finally:
            request.ended = time.perf_counter()

    handle = meter.start()
    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="slm-load") as pool:
        list(pool.map(one, requests))
    end = time.perf_counter()
    reading = meter.stop(handle)
    return LoadResult(concurrency, reading, requests, (begin, end))


def request_readings(result: LoadResult) -> list[tuple[EnergyReading, dict[str, Any]]]:
    """Each request's share of the window's energy (a reading whose duration is its own latency)
    and its load figures."""
    shares = share_by_overlap(result.window, [(r.started, r.ended) for r in result.requests])
    reading = result.reading
    out = []
    for request, share in zip(result.requests, shares):
        def part(value: float | None, fraction: float = share.fraction) -> float | None:
            return None if value is None else value * fraction
        own = EnergyReading(duration_s=request.ended - request.started, cpu_kwh=part(reading.cpu_kwh),
                            gpu_kwh=part(reading.gpu_kwh), ram_kwh=part(reading.ram_kwh),
                            methods=dict(reading.methods), meter=reading.meter,
                            warnings=(*reading.warnings, "energy: share of a load window (" + ENERGY_RULE + ")"))
        figures = {"concurrency": result.concurrency, "window_s": result.window[1] - result.window[0],
                   "window_requests": len(result.requests), "energy_fraction": share.fraction,
                   "mean_in_flight": share.mean_in_flight, "start_offset_s": request.started - result.window[0],
                   "latency_s": request.ended - request.started, "energy": own.to_dict(),
                   "error": request.error}
        out.append((own, figures))
    return out


class LoadedAnswers:
    """A served backend whose answers to the load's prompts were already fetched under load.

    ``generate`` of such a prompt returns the stored generation once (its ``extra['load']`` holds
    the request's energy share) or raises its stored error; anything else goes to the server.
    """

    def __init__(self, backend: Any, result: LoadResult) -> None:
        self._backend = backend
        self.spec = backend.spec
        self._lock = threading.Lock()
        self._stored: dict[str, list[tuple[LoadRequest, dict[str, Any]]]] = {}
        for request, (_, figures) in zip(result.requests, request_readings(result)):
            self._stored.setdefault(request.prompt, []).append((request, figures))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    @property
    def alias(self) -> str:
        return str(self._backend.alias)

    def generate(self, query: str, max_new_tokens: int, min_new_tokens: int | None = None, *,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = ()) -> Generation:
        with self._lock:
            waiting = self._stored.get(query)
            entry = waiting.pop(0) if waiting else None
        if entry is None:
            return self._backend.generate(query, max_new_tokens, min_new_tokens,  # type: ignore[no-any-return]
                                          sampling=sampling, stop=stop)
        request, figures = entry
        if request.generation is None:
            raise BackendError(f"under load: {request.error}")
        return replace(request.generation, extra={**request.generation.extra, LOAD_KEY: figures})


def load_share(generations: list[Generation]) -> EnergyReading | None:
    """The record's energy when its answer came from a load window: that request's share."""
    last = generations[-1] if generations else None
    figures = last.extra.get(LOAD_KEY) if last is not None else None
    return EnergyReading.from_dict(figures["energy"]) if figures else None
