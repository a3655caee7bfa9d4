"""Paired accuracy (stats/paired_accuracy.py): Newcombe's interval on published and constructed 2x2 tables."""

from __future__ import annotations

import pytest

from slm_energy_plugin.stats.binary import wilson_interval
from slm_energy_plugin.stats.paired_accuracy import hybrid_score_interval, newcombe_paired_ci


def test_newcombe_interval_reproduces_the_published_independent_example() -> None:
    # Newcombe (1998a), 56/70 vs 48/80: method 10 gives 0.0524 to 0.3339.
    low, high = hybrid_score_interval(56 / 70, wilson_interval(56, 70), 48 / 80, wilson_interval(48, 80))
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


@pytest.mark.parametrize("table", [(1, 14, 2, 13), (12, 9, 2, 21), (0, 0, 0, 40), (40, 0, 0, 0), (5, 0, 9, 6)])
def test_the_paired_interval_holds_the_difference_and_stays_in_range(table) -> None:
    both, only_a, only_b, neither = table
    n = sum(table)
    low, high = newcombe_paired_ci(*table)
    assert -1.0 <= low <= (only_a - only_b) / n <= high <= 1.0
    # Positive correlation of paired answers narrows the interval against the independent one.
    independent = hybrid_score_interval((both + only_a) / n, wilson_interval(both + only_a, n),
                                         (both + only_b) / n, wilson_interval(both + only_b, n))
    if both * neither > only_a * only_b:
        assert high - low < independent[1] - independent[0]
