"""Run order: which model answers which query when (pure: no pytest, no I/O).

A model-by-model ("grouped") order confounds the model with time: anything that drifts during a
run (another job on the machine, thermal state, frequency scaling) lands on whichever model ran
then, and a paired test reads it as a model difference. The interleaved order runs each query on
every selected model before the next query, and rotates the models' order from one query block
to the next (block ``b`` starts with model ``b mod k``), so each model runs first, second, ... equally
often and slow drift lands on every model alike.

The functions below only permute: it never adds or drops an item (``-k``/``--lf`` selections are
kept), it is deterministic (every xdist worker computes the same order), and items that are not
model x query items keep their positions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Hashable, Sequence

ORDERS = ("interleaved", "grouped")
SCHEME = "rotated"   # recorded with each record: how models are ordered within a query block


@dataclass(frozen=True)
class OrderKey:
    """What the order needs to know about one collected item."""

    model: str | None          # None: not a model x query item; it keeps its position
    block: Hashable = None     # the query's key: the same for one query's items on every model


@dataclass(frozen=True)
class Placement:
    """Where a model x query item landed: its query block and its position inside the block."""

    block: int
    position: int

    def to_dict(self, mode: str) -> dict[str, object]:
        return {"mode": mode, "scheme": SCHEME if mode == "interleaved" else "model-by-model",
                "block": self.block, "position": self.position}


def _into_slots(count: int, slots: list[int], ordered: list[int]) -> list[int]:
    """The permutation that puts ``ordered`` into the model items' ``slots``; other items stay put."""
    order = list(range(count))
    for slot, i in zip(slots, ordered):
        order[slot] = i
    return order


def interleave(keys: Sequence[OrderKey], shuffle_seed: int | None = None
               ) -> tuple[list[int], dict[int, Placement]]:
    """The interleaved order of ``keys``: a permutation of their indices, and each moved item's place.

    Model x query items fill the slots model items had, in query blocks (in order of each query's
    first appearance); inside block ``b`` the models present run in their first-appearance order
    rotated by ``b``. Items for the same model and block keep their relative order.

    ``shuffle_seed``: the blocks in a random order fixed by the seed (sequential verdicts, issue
    23: stopping early reads the first queries as a random sample; a file's order is not one).
    """
    slots = [i for i, key in enumerate(keys) if key.model is not None]
    model_rank: dict[str, int] = {}
    blocks: dict[Hashable, dict[str, list[int]]] = {}
    for i in slots:
        key = keys[i]
        assert key.model is not None
        model_rank.setdefault(key.model, len(model_rank))
        blocks.setdefault(key.block, {}).setdefault(key.model, []).append(i)
    in_order = list(blocks.values())
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(in_order)
    ordered: list[int] = []
    placements: dict[int, Placement] = {}
    for b, per_model in enumerate(in_order):
        models = sorted(per_model, key=model_rank.__getitem__)
        shift = b % len(models)
        for position, model in enumerate(models[shift:] + models[:shift]):
            for i in per_model[model]:
                placements[i] = Placement(block=b, position=position)
                ordered.append(i)
    return _into_slots(len(keys), slots, ordered), placements


def group(keys: Sequence[OrderKey]) -> tuple[list[int], dict[int, Placement]]:
    """The model-by-model order: every item of the first model (in order of first appearance),
    then the next model's; block = the model's rank, position = the item's place in its block.

    pytest alone does not give this across test files: a session-scoped fixture parametrized
    per module (queries, task cases) is grouped within a module, so a model's items came back in
    every file and its weights were loaded again each time its block started over.
    """
    slots = [i for i, key in enumerate(keys) if key.model is not None]
    per_model: dict[str, list[int]] = {}
    for i in slots:
        model = keys[i].model
        assert model is not None
        per_model.setdefault(model, []).append(i)
    ordered: list[int] = []
    placements: dict[int, Placement] = {}
    for rank, items in enumerate(per_model.values()):
        for position, i in enumerate(items):
            placements[i] = Placement(block=rank, position=position)
            ordered.append(i)
    return _into_slots(len(keys), slots, ordered), placements
