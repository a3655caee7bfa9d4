"""One line per model measured at a load level (``--energy-concurrency``, ``--energy-batch-size``):
throughput and energy per request."""

from __future__ import annotations

from typing import Sequence

from ..energy.units import J_PER_KWH
from ..results.performance import PerformanceView
from ..results.records import ModelRun
from ..number_format import num, plural


def load_lines(runs: Sequence[ModelRun]) -> list[str]:
    lines = []
    for run in runs:
        load = PerformanceView.from_block(run.performance).load
        if not load:
            continue
        sent = int(load["requests"]) + int(load["errors"])
        if "batch_size" in load:
            how = f"in batches of {load['batch_size']}, {plural(sent, 'generation')} in {plural(int(load.get('windows') or 0), 'window')}"
        else:
            how = f"under load: {load['concurrency']} in flight, {plural(sent, 'request')}"
        if not sent:
            lines.append(f"{run.alias} {how}: none of its selected tests asks a planned generation; all ran live")
            continue
        energy = (load.get("energy") or {}).get("total_kwh")
        per_request = "-" if energy is None else f"{num(energy * J_PER_KWH / sent)} J/request"
        lines.append(
            f"{run.alias} {how} ({load['errors']} failed) in {num(load['window_s'])} s = "
            f"{num(load['requests_per_s'])} requests/s, {num(load['output_tokens_per_s'])} output tokens/s, "
            f"{per_request} ({(load.get('energy') or {}).get('provenance', 'none')}; shared by time overlap)")
    return lines
