"""What the report, the summary and ``compare`` read off every record of a model run, in one pass.

Pure: no pytest, no I/O. The energy header, the trust lines and the model table each asked every
record again (provenance four times per model, the method labels, errors, extras, tokens): for
10 models x 10,000 queries that was a third of the report's time. One pass per run object gives
all of them; the answer is kept on the run object (``ModelRun.facts``) (runs are frozen: it cannot change).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

from ..energy.reading import provenance
from .records import ModelRun, combine_provenance


@dataclass(frozen=True)
class RunFacts:
    provenance: str                         # as ModelRun.energy_provenance
    methods: frozenset[str]                 # every energy method label its records carry
    errors: int                             # records whose test errored
    extras: tuple[Mapping[str, Any], ...]   # the records' non-empty ``extra`` blocks, in record order
    tokens_median: int | None               # output tokens of the middle record by tokens (upper one when even)
    meter_warnings: Mapping[str, int]       # each meter warning of its records: how many carry it, first seen first


def facts_of(run: ModelRun) -> RunFacts:
    """The facts of ``run`` (read them as :attr:`ModelRun.facts`: computed once per run object)."""
    records = run.records
    readings = [r.energy for r in records if r.energy is not None]
    # A run's records carry a few distinct sets of method labels: each set's provenance is asked once.
    label_sets = {tuple(methods.values()): methods for methods in [reading.methods for reading in readings]}
    tokens = sorted([r.tokens_output for r in records])
    return RunFacts(
        provenance=combine_provenance(provenance(methods) for methods in label_sets.values()),
        methods=frozenset(label for labels in label_sets for label in labels),
        errors=[r.outcome for r in records].count("error"),
        extras=tuple([r.extra for r in records if r.extra]),
        tokens_median=tokens[len(tokens) // 2] if tokens else None,
        meter_warnings=Counter([message for reading in readings for message in reading.warnings]))
