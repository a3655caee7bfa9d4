"""The run order as a pure function: a permutation, in query blocks, models rotated per block."""

from __future__ import annotations

import random

from slm_energy_plugin.workload.order import OrderKey, group, interleave

MODELS = ("a", "b", "c")


def _grouped(queries: int, models: tuple[str, ...] = MODELS) -> list[OrderKey]:
    """What pytest collects for a session-scoped model parameter: model by model."""
    return [OrderKey(m, ("test_q", q)) for m in models for q in range(queries)]


def test_each_query_runs_on_every_model_before_the_next_with_rotated_model_order() -> None:
    keys = _grouped(4)
    order, placements = interleave(keys)
    ran = [(keys[i].model, keys[i].block[1]) for i in order]
    assert ran == [("a", 0), ("b", 0), ("c", 0), ("b", 1), ("c", 1), ("a", 1),
                   ("c", 2), ("a", 2), ("b", 2), ("a", 3), ("b", 3), ("c", 3)]
    assert sorted(order) == list(range(len(keys)))
    # Balanced: over 3 blocks every model sits at every position once.
    positions = {m: sorted(placements[i].position for i in order[:9] if keys[i].model == m) for m in MODELS}
    assert positions == {m: [0, 1, 2] for m in MODELS}


def test_other_items_keep_their_places_and_nothing_is_added_or_dropped() -> None:
    keys = [OrderKey(None), *_grouped(2, ("a", "b"))[:2], OrderKey(None), *_grouped(2, ("a", "b"))[2:],
            OrderKey(None)]
    order, _ = interleave(keys)
    assert [order[0], order[3], order[6]] == [0, 3, 6]
    assert sorted(order) == list(range(len(keys)))
    assert [keys[i].model for i in order if keys[i].model] == ["a", "b", "b", "a"]


def test_a_selection_is_only_permuted_and_the_order_is_deterministic() -> None:
    keys = _grouped(6)
    rng = random.Random(7)
    for _ in range(20):   # like -k or --lf: any subset
        subset = [k for k in keys if rng.random() < 0.6]
        first, _ = interleave(subset)
        again, _ = interleave(list(subset))
        assert first == again and sorted(first) == list(range(len(subset)))
        blocks = [subset[i].block for i in first]
        # each query block is contiguous
        assert all(blocks.index(b) + blocks.count(b) - 1 == len(blocks) - 1 - blocks[::-1].index(b)
                   for b in set(blocks))


def test_grouped_placements_number_models_and_their_queries() -> None:
    keys = _grouped(2, ("a", "b"))
    order, placed = group(keys)
    assert order == [0, 1, 2, 3]          # already model by model: nothing moves
    assert [(placed[i].block, placed[i].position) for i in order] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert placed[0].to_dict("grouped")["scheme"] == "model-by-model"


def test_grouped_order_gathers_a_model_across_files_and_keeps_other_items_in_place() -> None:
    # Two files, each grouped by pytest within itself: a, b (file 1), then a, b again (file 2).
    keys = [OrderKey("a", "f1q1"), OrderKey("b", "f1q1"), OrderKey(None), OrderKey("a", "f2c1"),
            OrderKey("a", "f2c2"), OrderKey("b", "f2c1")]
    order, placed = group(keys)
    assert [keys[i].model for i in order] == ["a", "a", None, "a", "b", "b"]
    assert order[2] == 2                   # the non-model item keeps its slot
    assert [keys[i].block for i in order if keys[i].model == "a"] == ["f1q1", "f2c1", "f2c2"]   # stable
    assert [(placed[i].block, placed[i].position) for i in order if i != 2] == \
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]


def test_a_shuffle_seed_permutes_whole_query_blocks_the_same_way_every_time() -> None:
    """Sequential verdicts (issue 23): blocks in a seeded random order, each still on every model."""
    keys = [OrderKey(model=m, block=q) for q in range(20) for m in ("a", "b")]
    order, placements = interleave(keys, shuffle_seed=0)
    assert sorted(order) == list(range(40)) and interleave(keys, shuffle_seed=0)[0] == order
    blocks = [keys[i].block for i in order]
    assert blocks[::2] == blocks[1::2] and blocks[::2] != list(range(20))
    assert interleave(keys, shuffle_seed=1)[0] != order and interleave(keys)[0] != order
    assert [placements[i].block for i in order][::2] == list(range(20))
