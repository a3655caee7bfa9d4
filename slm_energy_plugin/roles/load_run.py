"""Load levels: a model's planned generations made ahead, N at a time, and shared out by energy.

``--energy-concurrency N`` (served models): every planned request is sent with N in flight, as
vLLM's serving benchmark and ML.ENERGY do, inside ONE window of the meter.
``--energy-batch-size N`` (in-process models): the planned generations run N rows per
``model.generate`` call (left-padded), one meter window per batch.

Each request keeps its own latency, TTFT, tokens and failure; a window's energy is shared among
its requests by time overlap (:mod:`..workload.load`). The tests then run as usual: ``slm.ask``
of a planned generation returns that request's answer (no new generation) and its record carries
the request's share of the energy and its load figures; anything unplanned is generated live.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from ..backends.base import BackendError, ModelBackend
from ..backends.sampling import Sampling
from ..backends.transformers_runtime import Generation
from ..energy import EnergyMeter, EnergyReading
from ..workload.asks import Ask
from ..workload.load import ENERGY_RULE, Throughput, share_by_overlap

LOAD_KEY = "load"   # Generation.extra key holding the request's share of a load window
CONCURRENCY = "concurrency"   # the level's name in records: requests in flight (served)
BATCH_SIZE = "batch_size"     # rows per generate call (in-process)


@dataclass
class LoadRequest:
    ask: Ask
    started: float = 0.0
    ended: float = 0.0
    generation: Generation | None = None
    error: str | None = None


@dataclass(frozen=True)
class LoadWindow:
    """One meter window and the requests it holds."""

    reading: EnergyReading
    begin: float
    end: float
    requests: list[LoadRequest] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.end - self.begin


@dataclass(frozen=True)
class LoadResult:
    level_name: str            # CONCURRENCY or BATCH_SIZE
    level: int
    windows: list[LoadWindow]

    @property
    def requests(self) -> list[LoadRequest]:
        return [request for window in self.windows for request in window.requests]

    @property
    def reading(self) -> EnergyReading | None:
        return EnergyReading.combine([w.reading for w in self.windows]) if self.windows else None

    @property
    def throughput(self) -> Throughput:
        requests = self.requests
        ok = [r.generation for r in requests if r.generation is not None]
        return Throughput(requests=len(ok), errors=len(requests) - len(ok),
                          window_s=sum(w.seconds for w in self.windows),
                          output_tokens=sum(g.tokens_output for g in ok))

    def summary(self) -> dict[str, Any]:
        reading = self.reading
        return {self.level_name: self.level, "windows": len(self.windows), "energy_rule": ENERGY_RULE,
                "energy": None if reading is None else reading.to_dict(), **self.throughput.to_dict()}


def _metered(meter: EnergyMeter, work: Callable[[], list[LoadRequest]]) -> LoadWindow:
    handle = meter.start()
    begin = time.perf_counter()
    requests = work()
    end = time.perf_counter()
    return LoadWindow(meter.stop(handle), begin, end, requests)


def run_concurrent(backend: ModelBackend, asks: Sequence[Ask], concurrency: int, meter: EnergyMeter) -> LoadResult:
    """Send every planned request with ``concurrency`` in flight, inside one meter window."""

    def one(request: LoadRequest) -> None:
        ask = request.ask
        request.started = time.perf_counter()
        try:
            request.generation = backend.generate(ask.prompt, ask.max_new_tokens, ask.min_new_tokens,
                                                  sampling=ask.sampling, stop=ask.stop)
        except BackendError as exc:
            request.error = str(exc)
        finally:
            request.ended = time.perf_counter()

    def send_all() -> list[LoadRequest]:
        requests = [LoadRequest(ask) for ask in asks]
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="slm-load") as pool:
            list(pool.map(one, requests))
        return requests

    return LoadResult(CONCURRENCY, concurrency, [_metered(meter, send_all)])


def batches(asks: Sequence[Ask], size: int) -> list[list[Ask]]:
    """Rows that can share one generate call (same limits, sampling and stops), ``size`` at a time,
    in plan order."""
    groups: dict[tuple[Any, ...], list[Ask]] = {}
    for ask in asks:   # greedy rows share a call whatever their round's (unused) seed
        sampling = None if ask.sampling.greedy else ask.sampling
        groups.setdefault((ask.max_new_tokens, ask.min_new_tokens, sampling, ask.stop), []).append(ask)
    return [rows[i:i + size] for rows in groups.values() for i in range(0, len(rows), size)]


def run_batched(model: Any, asks: Sequence[Ask], batch_size: int, meter: EnergyMeter) -> LoadResult:
    """Generate the planned rows ``batch_size`` per call, one meter window per call.

    A prompt too long for the model's positions is left out (its test generates it live and fails
    there with the one-line reason, as at batch size 1); a batch that fails records the reason on
    each of its rows, and the other batches go on.
    """
    from ..backends.batched import generate_batch

    limit = model.max_positions
    fitting = [a for a in asks if limit is None or model.prompt_tokens(a.prompt) + a.max_new_tokens <= limit]
    windows = []
    for rows in batches(fitting, batch_size):
        def run(rows: list[Ask] = rows) -> list[LoadRequest]:
            first = rows[0]
            requests = [LoadRequest(ask) for ask in rows]
            try:
                out = generate_batch(model, [a.prompt for a in rows], first.max_new_tokens, first.min_new_tokens,
                                     sampling=first.sampling, stop=first.stop)
            except Exception as exc:  # noqa: BLE001 - one failed batch is recorded, the others still run
                reason = f"batch of {len(rows)} failed: {type(exc).__name__}: {exc}".splitlines()[0]
                for request in requests:
                    request.error = reason
                return requests
            for request, generation, row_end in zip(requests, out.generations, out.row_ends):
                request.started, request.ended, request.generation = out.started, row_end, generation
            return requests
        window = _metered(meter, run)
        for request in window.requests:   # a failed batch: its rows span its window
            if request.generation is None:
                request.started, request.ended = window.begin, window.end
        windows.append(window)
    return LoadResult(BATCH_SIZE, batch_size, windows)


def request_readings(result: LoadResult) -> list[tuple[LoadRequest, dict[str, Any]]]:
    """Each request with its load figures: its share of its window's energy (a reading whose
    duration is the request's own latency), the window, the requests in flight beside it."""
    out = []
    for window in result.windows:
        shares = share_by_overlap((window.begin, window.end), [(r.started, r.ended) for r in window.requests])
        reading = window.reading
        for request, share in zip(window.requests, shares):
            def part(value: float | None, fraction: float = share.fraction) -> float | None:
                return None if value is None else value * fraction
            own = EnergyReading(duration_s=request.ended - request.started, cpu_kwh=part(reading.cpu_kwh),
                                gpu_kwh=part(reading.gpu_kwh), ram_kwh=part(reading.ram_kwh),
                                methods=dict(reading.methods), meter=reading.meter, warnings=reading.warnings)
            figures = {result.level_name: result.level, "window_s": window.seconds,
                       "window_requests": len(window.requests), "energy_fraction": share.fraction,
                       "mean_in_flight": share.mean_in_flight, "start_offset_s": request.started - window.begin,
                       "latency_s": request.ended - request.started, "energy": own.to_dict(),
                       "energy_rule": ENERGY_RULE,   # the record's energy is this share, not its own window
                       "error": request.error}
            out.append((request, figures))
    return out


class LoadedAnswers:
    """A backend whose planned generations were already made under load.

    ``generate`` of a planned request (same prompt, limits, sampling and stops) returns the stored
    generation once (its ``extra['load']`` holds the request's energy share) or raises its stored
    error; anything else is generated by the backend itself, live.
    """

    def __init__(self, backend: Any, result: LoadResult) -> None:
        self._backend = backend
        self.spec = backend.spec
        self._lock = threading.Lock()
        self._stored: dict[Ask, deque[tuple[LoadRequest, dict[str, Any]]]] = {}
        self._store(result)

    def _store(self, result: LoadResult) -> None:
        with self._lock:
            for request, figures in request_readings(result):
                self._stored.setdefault(request.ask, deque()).append((request, figures))

    def _has_stored(self, key: Ask) -> bool:
        with self._lock:
            return bool(self._stored.get(key))

    @staticmethod
    def key(query: str, max_new_tokens: int, min_new_tokens: int | None, sampling: Sampling | None,
            stop: tuple[str, ...]) -> Ask:
        """The planned ask a ``generate`` call is (same prompt, limits, sampling and stops)."""
        return Ask(query, max_new_tokens, min_new_tokens, sampling or Sampling(), tuple(stop))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    @property
    def alias(self) -> str:
        return str(self._backend.alias)

    def generate(self, query: str, max_new_tokens: int, min_new_tokens: int | None = None, *,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = ()) -> Generation:
        key = self.key(query, max_new_tokens, min_new_tokens, sampling, stop)
        with self._lock:
            waiting = self._stored.get(key)
            entry = waiting.popleft() if waiting else None
        if entry is None:
            return self._backend.generate(query, max_new_tokens, min_new_tokens,  # type: ignore[no-any-return]
                                          sampling=sampling, stop=stop)
        request, figures = entry
        if request.generation is None:
            raise BackendError(f"under load: {request.error}")
        return replace(request.generation, extra={**request.generation.extra, LOAD_KEY: figures})


def load_share(generations: list[Generation], measured: EnergyReading) -> EnergyReading:
    """A record's energy per round when some rounds' answers came from load windows.

    Rounds made under load bring their shares; rounds generated live are in ``measured`` (the
    test's own windows, which also hold the instant it took to hand over a stored answer).
    """
    shares = [EnergyReading.from_dict(g.extra[LOAD_KEY]["energy"]) for g in generations if LOAD_KEY in g.extra]
    rounds = max(1, len(generations))
    if not shares:
        return measured.scaled(1.0 / rounds)
    if len(shares) == len(generations):
        return EnergyReading.combine(shares).scaled(1.0 / rounds)
    return EnergyReading.combine([measured, *shares]).scaled(1.0 / rounds)


def idle_seconds(generations: list[Generation], measured: EnergyReading) -> float:
    """Seconds of idle power to take off a record's energy per round (its net energy).

    A request under load carries ``fraction`` of its window's energy, so it carries the same
    fraction of the window's idle energy: fraction x window seconds, not its own latency (rows of
    a batch overlap: charging each its whole latency would take the idle power off eight times).
    """
    shares = [g.extra[LOAD_KEY] for g in generations if LOAD_KEY in g.extra]
    rounds = max(1, len(generations))
    if not shares:
        return measured.duration_s / rounds
    live = measured.duration_s if len(shares) < len(generations) else 0.0
    return (live + sum(float(f["energy_fraction"]) * float(f["window_s"]) for f in shares)) / rounds
