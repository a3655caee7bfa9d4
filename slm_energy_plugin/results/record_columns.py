"""A model run's records as columns: each field the lean table and the efficiency rows read, once.

Pure (no I/O, no pandas). Reading a field of every record is a pass over 10,000 objects spread
through memory; the lean table (:mod:`.frame`) and the efficiency rows
(:mod:`slm_energy_plugin.quality.efficiency`) read the same fields, so :func:`record_columns`
reads each once and both take them from here (for 10 models x 10,000 queries, the passes were
most of their time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..energy.reading import EnergyReading
from .metrics import metric_arrays
from .records import ModelRun

# extra.* fields the lean table has a column for (the per-load figure groups by them); 'load' also
# names an efficiency row's task (summary@long).
EXTRA_FIELDS = ("concurrency", "load")

LabelSet = Mapping[str, str]


@dataclass(frozen=True)
class RecordColumns:
    """One value per record of a run, in record order (lists as the records hold them)."""

    query_id: list[str]
    outcome: list[str]
    task: list[str | None]
    tokens_input: list[int]
    tokens_output: list[int]
    duration_s: list[float]
    ttft_s: list[float | None]
    decode_s: list[float | None]
    energy_kwh: list[float | None]       # the reading's total; None without a reading or figure
    emissions_kg: list[float | None]
    sequence: list[int]
    rounds: list[int]
    scores: list[Mapping[str, Any]]
    correct: list[Any]                    # scores['correct'], None when not scored
    score: list[Any]                      # scores['score']
    extra: dict[str, list[Any]]           # EXTRA_FIELDS some record carries -> each record's value (or None)
    label_sets: list[LabelSet | None]     # the distinct sets of energy method labels (None: no reading)
    label_codes: np.ndarray               # each record's index into label_sets
    metrics: dict[str, np.ndarray]        # metrics.metric_arrays of the records

    def __len__(self) -> int:
        return len(self.query_id)


def record_columns(run: ModelRun) -> RecordColumns:
    """The columns of ``run``'s records (see :class:`RecordColumns`)."""
    records = run.records
    energies = [r.energy for r in records]
    energy_kwh = [None if e is None else e.total_kwh for e in energies]
    tokens_output = [r.tokens_output for r in records]
    duration_s = [r.duration_s for r in records]
    ttft_s = [r.ttft_s for r in records]
    emissions_kg = [r.emissions_kg for r in records]
    scores = [r.scores for r in records]
    correct = [s.get("correct") for s in scores]
    score = [s.get("score") for s in scores]
    extras = [r.extra for r in records]
    carried = set().union(*extras)       # every extra field some record carries, in one pass
    label_sets, label_codes = _label_sets(energies)
    return RecordColumns(
        query_id=[r.query_id for r in records], outcome=[r.outcome for r in records],
        task=[r.task for r in records], tokens_input=[r.tokens_input for r in records],
        tokens_output=tokens_output, duration_s=duration_s, ttft_s=ttft_s,
        decode_s=[r.decode_s for r in records], energy_kwh=energy_kwh, emissions_kg=emissions_kg,
        sequence=[r.sequence for r in records], rounds=[r.rounds for r in records],
        scores=scores, correct=correct, score=score,
        extra={name: [x.get(name) for x in extras] for name in EXTRA_FIELDS if name in carried},
        label_sets=label_sets, label_codes=label_codes,
        metrics=metric_arrays(energy_kwh, tokens_output, duration_s, emissions_kg, correct, score))


def _label_sets(energies: Sequence[EnergyReading | None]) -> tuple[list[LabelSet | None], np.ndarray]:
    """The distinct method label sets of the readings (equal mappings are one set) and each
    reading's index into them. A run's readings nearly always carry one set: that is checked
    first by comparing with it (half the cost of a key per reading)."""
    methods: list[LabelSet | None] = [None if e is None else e.methods for e in energies]
    first = next((m for m in methods if m is not None), None)
    present = np.array([m is not None for m in methods], dtype=np.intp)
    if first is None or methods.count(first) == present.sum():
        return [None, first], present
    keys = [None if m is None else frozenset(m.items()) for m in methods]
    index: dict[frozenset[tuple[str, str]] | None, int] = {}
    distinct: list[LabelSet | None] = []
    for key, labels in zip(keys, methods):
        if key not in index:
            index[key] = len(distinct)
            distinct.append(labels)
    return distinct, np.array([index[k] for k in keys], dtype=np.intp)
