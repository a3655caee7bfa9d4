"""Sequential verdicts (issue 23): the always-valid interval keeps its error rate under a look
after every query, by simulation (vectorised, seeded, fast), and decides real differences early."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from slm_energy_plugin.stats.sequential import (DIFFERENT, EQUIVALENT, UNDECIDED, Monitor, design_for,
                                                running_intervals, simulate)

RUNS = 2000
QUERIES = 56   # the suite's math queries


def _log_ratios(rng: np.random.Generator, ratio: float, sigma: float = 0.5, runs: int = RUNS,
                queries: int = QUERIES) -> np.ndarray:
    """Per-query log ratios of two models whose costs are log-normal (``sigma``) per query."""
    a = rng.lognormal(0.0, sigma, (runs, queries)) * ratio
    b = rng.lognormal(0.0, sigma, (runs, queries))
    return np.log(a) - np.log(b)


def test_aa_runs_say_different_at_most_alpha_of_the_time_under_continuous_monitoring() -> None:
    rng = np.random.default_rng(23)
    design = design_for(0.05, 0.05, comparisons=1, planned_queries=QUERIES)
    result = simulate(_log_ratios(rng, 1.0), design)
    assert result.rate(DIFFERENT) <= 0.05
    # The trap it avoids: a fixed-n t-test looked at after every query rejects far more often.
    d = _log_ratios(np.random.default_rng(23), 1.0)
    t = np.arange(1, QUERIES + 1)
    mean, sd = np.cumsum(d, 1) / t, None
    sd = np.sqrt(np.maximum(np.cumsum(d * d, 1) / t - mean ** 2, 1e-300) * t / np.maximum(t - 1, 1))
    p = 2 * scipy_stats.t.sf(np.abs(mean / (sd / np.sqrt(t))), np.maximum(t - 1, 1))
    peeking = float(np.mean((p[:, 4:] < 0.05).any(axis=1)))
    assert peeking > 2 * 0.05


def test_aa_error_stays_under_alpha_over_a_long_run_of_heavy_tailed_log_ratios() -> None:
    rng = np.random.default_rng(7)
    design = design_for(0.05, 0.05, comparisons=1, planned_queries=500)
    d = rng.standard_t(3, (1000, 500)) * 0.3   # symmetric, as any A/A difference is
    assert simulate(d, design).rate(DIFFERENT) <= 0.05


@pytest.mark.parametrize(("ratio", "most_queries", "least_power"), [(1.25, 30, 0.9), (1.5, 15, 0.99)])
def test_real_differences_are_decided_early_in_the_right_direction(ratio: float, most_queries: int,
                                                                    least_power: float) -> None:
    rng = np.random.default_rng(11)
    design = design_for(0.05, 0.05, comparisons=1, planned_queries=QUERIES)
    d = _log_ratios(rng, ratio, sigma=0.25)
    result = simulate(d, design)
    assert result.rate(DIFFERENT) >= least_power
    median = result.median_queries(DIFFERENT)
    assert median is not None and median <= most_queries
    mean, _, _ = running_intervals(d, design)
    assert float(np.mean(mean[:, -1] > 0)) > 0.99   # the estimate points the right way


def test_equal_constant_costs_are_equivalent_and_a_constant_ratio_is_different() -> None:
    monitor = Monitor(["a", "b", "c"], ["tokens"], alpha=0.05, margin=0.05, planned_queries=20)
    looks = 0
    while not monitor.decided:
        monitor.look({"tokens": {"a": 16.0, "b": 16.0, "c": 24.0}})
        looks += 1
    # No variance: the mixture's own growth decides, the same look for every pair (7 at alpha 0.05 / 3).
    found = {(s.pair, s.decision, s.after_queries) for s in monitor.states}
    assert found == {("a vs b", EQUIVALENT, looks), ("a vs c", DIFFERENT, looks), ("b vs c", DIFFERENT, looks)}
    assert 5 <= looks <= 8 and monitor.done_models() == {"a", "b", "c"}
    entry = monitor.to_dict()["pairs"][1]   # type: ignore[index]
    assert entry["ratio"] == pytest.approx(16 / 24) and entry["ci"] == [pytest.approx(16 / 24)] * 2


def test_a_missing_value_gives_its_pair_no_query_and_open_pairs_end_undecided() -> None:
    monitor = Monitor(["a", "b"], ["energy"], alpha=0.05, margin=0.05, planned_queries=10)
    monitor.look({"energy": {"a": 1.0}})            # b failed on this query
    monitor.look({"energy": {"a": 1.0, "b": 0.0}})  # not a positive cost
    assert monitor.states[0].log_ratios == [] and monitor.done_models() == set()
    monitor.finish()
    data = monitor.to_dict()
    assert data["looks"] == 2 and data["pairs"][0]["decision"] == UNDECIDED   # type: ignore[index]
    assert data["pairs"][0]["ci"] is None   # type: ignore[index]


def test_no_pairs_never_count_as_decided() -> None:
    assert not Monitor(["only"], ["energy"], 0.05, 0.05, 10).decided


def test_bonferroni_shares_alpha_among_pairs_and_tuning_is_fixed_before_data() -> None:
    design = design_for(0.05, 0.05, comparisons=3, planned_queries=56)
    assert design.alpha == pytest.approx(0.05 / 3)
    assert design.equivalence_bounds == (pytest.approx(math.log(0.95)), pytest.approx(math.log(1.05)))
    with pytest.raises(ValueError):
        design_for(0.05, 1.5, 1, 10)
