"""What load levels add to a sequential run's ``sequential`` block (``--energy-until decided``).

A model at level N makes its answers N query blocks at a time (roles/load_chunks.py) and is stopped
only where every level's chunk ends (``look_stride`` blocks). So, rather than lose them silently:

* tests that ran after every pair of their model was decided (their answers were already made, in
  the chunk in progress) are counted with their measured energy (part of ``energy_j``);
* generations made under load that no test took (a chunk whose tests were then not run: the
  session stopped by ``-x``, a keyboard interrupt) are counted with their share of the windows'
  energy, which is in the model's ``performance.load`` summary and in no record.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..energy import EnergyReading
from ..energy.units import J_PER_KWH
from ..results.records import QueryRecord
from ..stats.sequential import Monitor
from .load_run import LOAD_KEY


def load_fields(stride: int, monitor: Monitor, records: Mapping[str, list[QueryRecord]],
                block_of: Mapping[str, int], model_events: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """``look_stride``, the tests run after their model's verdicts, and the generations no test took."""
    after_tests, after_j = _after_decision(monitor, records, block_of)
    unused, unused_j = _unused(records, model_events)
    return {"look_stride": stride, "tests_after_decision": after_tests, "energy_j_after_decision": after_j,
            "generations_unused": unused, "energy_j_unused": unused_j}


def _after_decision(monitor: Monitor, records: Mapping[str, list[QueryRecord]],
                    block_of: Mapping[str, int]) -> tuple[int, float | None]:
    decided_after = {model: max(s.after_queries or 0 for s in monitor.states if model in (s.first, s.second))
                     for model in monitor.done_models()}
    count, energy, seen = 0, 0.0, False
    for alias, found in records.items():
        for record in found:
            block = block_of.get(record.test_id)
            if alias not in decided_after or block is None or block < decided_after[alias]:
                continue
            count += 1
            if record.energy_kwh is not None:
                energy, seen = energy + record.energy_kwh * record.rounds * J_PER_KWH, True
    return count, energy if seen else None


def _unused(records: Mapping[str, list[QueryRecord]],
            model_events: Mapping[str, Sequence[Mapping[str, Any]]]) -> tuple[int, float | None]:
    """Made under load (the latest load summary of each model) minus what its records took."""
    count, energy, seen = 0, 0.0, False
    for alias, events in model_events.items():
        summaries = [(e.get("performance") or {}).get("load") for e in events]
        load = next((s for s in reversed(summaries) if s), None)
        if not load:
            continue
        taken = [r for r in records.get(alias, []) if LOAD_KEY in (r.extra.get("backend") or {})]
        count += max(0, int(load.get("requests", 0)) + int(load.get("errors", 0)) - sum(r.rounds for r in taken))
        made_kwh = EnergyReading.from_dict(load["energy"]).total_kwh if load.get("energy") else None
        if made_kwh is None:
            continue
        taken_kwh = sum((r.energy_kwh or 0.0) * r.rounds for r in taken)
        energy, seen = energy + max(0.0, made_kwh - taken_kwh) * J_PER_KWH, True
    return count, energy if seen else None
