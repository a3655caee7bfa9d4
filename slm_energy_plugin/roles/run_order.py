"""Applies the run order (workload/order.py) to pytest's collected items.

Kept apart from the measuring role so the hook stays one call. Items are keyed by the model they
run (the ``slm_model`` parameter) and by their query: the test function plus the value of every
other parameter (see _value_key), which are the same on every worker (xdist needs every worker to
collect the same items in the same order, and the order here depends on nothing else).
"""

from __future__ import annotations

from typing import Hashable

import pytest

from ..workload.order import OrderKey, group, interleave

MODEL_PARAM = "slm_model"


def order_key(item: pytest.Item) -> OrderKey:
    callspec = getattr(item, "callspec", None)
    if callspec is None or MODEL_PARAM not in callspec.params:
        return OrderKey(model=None)
    query: Hashable = (item.nodeid.split("[", 1)[0],
                       tuple(sorted((k, _value_key(v)) for k, v in callspec.params.items() if k != MODEL_PARAM)))
    return OrderKey(model=str(callspec.params[MODEL_PARAM]), block=query)


def block_numbers(items: list[pytest.Item]) -> dict[str, int]:
    """Node id -> its query block's number, in run order (model x query items not marked skip only)."""
    keys: dict[Hashable, int] = {}
    numbers = {}
    for item in items:
        key = order_key(item)
        if key.model is not None and item.get_closest_marker("skip") is None:
            numbers[item.nodeid] = keys.setdefault(key.block, len(keys))
    return numbers


def _value_key(value: object) -> Hashable:
    """A parameter value as a key: its ``id`` (queries, task cases), else itself, else its repr.

    (``callspec.indices`` will not do: pytest numbers a parameter's values across the whole
    product, so one query gets a different index under each model.)
    """
    ident = getattr(value, "id", None)
    if isinstance(ident, str):
        return (type(value).__name__, ident)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def apply_order(items: list[pytest.Item], mode: str, shuffle_seed: int | None = None) -> dict[str, dict[str, object]]:
    """Reorder ``items`` in place for ``mode``; returns each model item's ``extra.order`` by node id.

    ``shuffle_seed``: query blocks in a seeded random order (interleaved only; sequential verdicts)."""
    keys = [order_key(item) for item in items]
    order, placements = interleave(keys, shuffle_seed) if mode == "interleaved" else group(keys)
    items[:] = [items[i] for i in order]
    by_old = {i: placement for i, placement in placements.items()}
    return {items[new].nodeid: by_old[old].to_dict(mode)
            for new, old in enumerate(order) if old in by_old}
