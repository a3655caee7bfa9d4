"""One line per model measured under load (``--energy-concurrency``): throughput and energy per request."""

from __future__ import annotations

from typing import Any, Sequence

from ..energy.units import J_PER_KWH
from ..results.records import ModelRun
from .format import num


def load_lines(runs: Sequence[ModelRun]) -> list[str]:
    lines = []
    for run in runs:
        load: dict[str, Any] | None = (run.performance or {}).get("load")
        if not load:
            continue
        sent = int(load["requests"]) + int(load["errors"])
        energy = (load.get("energy") or {}).get("total_kwh")
        per_request = "-" if energy is None or not sent else f"{num(energy * J_PER_KWH / sent)} J/request"
        lines.append(
            f"{run.alias} under load: {load['concurrency']} in flight, {sent} requests "
            f"({load['errors']} failed) in {num(load['window_s'])} s = {num(load['requests_per_s'])} requests/s, "
            f"{num(load['output_tokens_per_s'])} output tokens/s, {per_request} "
            f"({(load.get('energy') or {}).get('provenance', 'none')}; shared by time overlap)")
    return lines
