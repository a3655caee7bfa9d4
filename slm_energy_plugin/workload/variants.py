"""Load levels as models: ``--energy-batch-size 1,8`` / ``--energy-concurrency 1,4``.

One level applies to every model of its kind under the model's own alias. Several levels turn
each model of that kind into one model per level, ``ALIAS-b8`` (rows per batch, in-process) or
``ALIAS-c4`` (requests in flight, served), so "the same model at batch 1 and at batch 8" is one
paired comparison in one session, with the statistics every other pair of models gets.
Pure: specs in, specs out.
"""

from __future__ import annotations

from dataclasses import replace

from ..backends.spec import ModelSpec


def expand_load_levels(specs: list[ModelSpec], batch_sizes: tuple[int, ...],
                       concurrencies: tuple[int, ...]) -> list[ModelSpec]:
    """Each spec at its kind's level(s), in selection order then level order."""
    expanded: list[ModelSpec] = []
    for spec in specs:
        served = spec.backend != "transformers"
        levels = concurrencies if served else batch_sizes
        letter = "c" if served else "b"
        for level in levels:
            if len(levels) == 1:
                named = spec
            else:
                named = replace(spec, alias=f"{spec.alias}-{letter}{level}", level_of=spec.level_of or spec.alias)
            expanded.append(replace(named, concurrency=level) if served else replace(named, batch_size=level))
    return expanded
