"""A real Prometheus exposition on 127.0.0.1 (prometheus_client's own server) with counters the test
sets and advances, named exactly as the exporters name them; the ``prometheus_exporter`` fixture."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator, NamedTuple
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric

from .local_http import LOOPBACK


class Counters:
    """A collector exposing counters exactly as the exporters name them (DCGM's has no _total)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        # Seconds each scrape stalls before its first byte, as an exporter stuck on a slow collector
        # (an NFS mount, a hung GPU driver) does; 0: answers at once.
        self.stall_s = 0.0
        self.closing = threading.Event()   # ends a stall when the exporter shuts down

    def set(self, name: str, value: float, **labels: str) -> None:
        self.values[(name, tuple(sorted(labels.items())))] = value

    def add(self, name: str, amount: float, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        self.values[key] = self.values.get(key, 0.0) + amount

    def collect(self) -> Iterator[Metric]:
        if self.stall_s:
            self.closing.wait(self.stall_s)
        families: dict[str, Metric] = {}
        for (name, labels), value in sorted(self.values.items()):
            family_name = name[:-len("_total")] if name.endswith("_total") else name
            family = families.setdefault(name, Metric(family_name, f"{name} (test)", "counter"))
            family.add_sample(name, dict(labels), value)
        yield from families.values()


class Exporter(NamedTuple):
    url: str            # the exposition: http://127.0.0.1:PORT/metrics
    counters: Counters

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, for a URL the test writes itself (with credentials, say)."""
        return urlsplit(self.url).netloc


@contextmanager
def serve_exporter() -> Iterator[Exporter]:
    """The exposition served from a thread on a free port, no counters yet; shut down on leaving."""
    registry = CollectorRegistry(auto_describe=False)
    counters = Counters()
    registry.register(counters)
    server, _ = start_http_server(0, addr=LOOPBACK, registry=registry)
    try:
        yield Exporter(f"http://{LOOPBACK}:{server.server_address[1]}/metrics", counters)
    finally:
        counters.closing.set()
        server.shutdown()
        server.server_close()
