"""Sequential verdicts (issue 23): the always-valid interval keeps its error rate under a look
after every query, by simulation (vectorised, seeded, fast), and decides real differences early."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import stats as scipy_stats

from slm_energy_plugin.stats.sequential import (DIFFERENT, EQUIVALENT, FUTILE_REASON, NO_VALUES, NO_VALUES_AFTER,
                                                UNDECIDED, Monitor,
                                                predictive_power, design_for, running_intervals, simulate)

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


@pytest.mark.parametrize(("ratio", "futility", "most_queries", "least_power"),
                         [(1.25, False, 30, 0.9), (1.5, False, 15, 0.99), (1.25, True, 30, 0.85), (1.5, True, 15, 0.99)])
def test_real_differences_are_decided_early_in_the_right_direction(ratio: float, futility: bool, most_queries: int,
                                                                    least_power: float) -> None:
    rng = np.random.default_rng(11)
    design = design_for(0.05, 0.05, comparisons=1, planned_queries=QUERIES, futility=futility)
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
    assert list(design.equivalence_bounds) == pytest.approx([math.log(0.95), math.log(1.05)])
    with pytest.raises(ValueError):
        design_for(0.05, 1.5, 1, 10)


# -- futility: a pair that cannot reach a verdict by the planned end stops as undecided ----------

def _noisy_pair(ratio: float, sd: float, queries: int = QUERIES, seed: int = 5) -> list[tuple[float, float]]:
    """Per-query costs (a, b) whose log ratio is normal around log(ratio) with sd ``sd``."""
    d = np.random.default_rng(seed).normal(math.log(ratio), sd, queries)
    return [(float(math.exp(x)), 1.0) for x in d]


def _run(costs: list[tuple[float, float]], futility: bool) -> Monitor:
    monitor = Monitor(["a", "b"], ["energy"], alpha=0.05, margin=0.05, planned_queries=len(costs), futility=futility)
    for a, b in costs:
        if monitor.decided:
            break
        monitor.look({"energy": {"a": a, "b": b}})
    monitor.finish()
    return monitor


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_near_even_pair_under_noisy_costs_stops_early_as_undecided_futile(seed: int) -> None:
    """The default run's tiny-gpt2 vs tiny-phi: ratio ~1.05, per-query log ratios sd ~0.6, 56 queries.

    Neither 'different' nor 'within ±5 %' is reachable in 56 queries: without futility both models
    ran every query for an 'undecided'; with it the pair stops soon after a quarter of the plan.
    """
    costs = _noisy_pair(1.05, 0.6, seed=seed)
    monitor = _run(costs, futility=True)
    state = monitor.states[0]
    assert state.decision == UNDECIDED and state.reason == FUTILE_REASON
    assert QUERIES // 4 <= state.after_queries <= QUERIES // 2   # type: ignore[operator]
    assert monitor.decided and monitor.done_models() == {"a", "b"}   # both models stop being measured
    assert state.predictive_power is not None and state.predictive_power < 0.05
    entry = monitor.to_dict()["pairs"][0]   # type: ignore[index]
    low, high = entry["projected_ci"]
    ci_low, ci_high = entry["ci"]
    # The projected final interval still straddles 1 and is too wide for ±5 %, yet narrower than today's.
    assert low < 1 < high and high - low > 0.1 and ci_low < low and high < ci_high
    assert entry["reason"] == "futile" and entry["decision"] == "undecided"
    block = monitor.to_dict()
    assert block["futility"] is True and block["futility_power"] == 0.05 and block["futility_from"] == QUERIES // 4
    # Off: the same costs keep the pair open to the end, every query spent, the verdict no better.
    off = _run(costs, futility=False).states[0]
    assert off.decision == UNDECIDED and off.after_queries == QUERIES and off.reason == "queries ran out"


def test_futility_keeps_clear_verdicts_and_the_max_queries_reason() -> None:
    clear = _run(_noisy_pair(1.6, 0.3), futility=True).states[0]
    assert clear.decision == DIFFERENT and clear.reason == "excludes 1"
    assert clear.after_queries is not None and clear.after_queries < QUERIES // 4
    same = _run([(1.0 + 0.001 * (i % 3), 1.0) for i in range(QUERIES)], futility=True).states[0]
    assert same.decision == EQUIVALENT and same.reason == "inside margin"
    capped = Monitor(["a", "b"], ["energy"], 0.05, 0.05, planned_queries=3)
    for a, b in _noisy_pair(1.05, 0.6, queries=3):
        capped.look({"energy": {"a": a, "b": b}})
    capped.finish("max queries reached")
    assert capped.to_dict()["pairs"][0]["reason"] == "max queries reached"   # type: ignore[index]


def test_with_futility_aa_runs_say_different_at_most_alpha_and_stop_before_half_the_queries() -> None:
    """2,000 A/A runs, looked at after every query, futility on: error <= alpha, and no more than without."""
    rng = np.random.default_rng(29)
    d = _log_ratios(rng, 1.0, sigma=0.45)   # sd of the log ratio ~0.64, as recorded on the tiny models
    with_futility = simulate(d, design_for(0.05, 0.05, comparisons=1, planned_queries=QUERIES))
    without = simulate(d, design_for(0.05, 0.05, comparisons=1, planned_queries=QUERIES, futility=False))
    assert with_futility.rate(DIFFERENT) <= 0.05
    assert with_futility.rate(DIFFERENT) <= without.rate(DIFFERENT)
    assert with_futility.rate(FUTILE_REASON) > 0.9 and with_futility.mean_queries < QUERIES / 2
    assert without.mean_queries > 0.9 * QUERIES


def test_heavy_tailed_aa_runs_keep_the_error_with_futility_over_three_pairs() -> None:
    """Bonferroni over 3 pairs, heavy tails (t with 3 df), 1,000 runs per pair: still <= alpha per metric."""
    rng = np.random.default_rng(31)
    design = design_for(0.05, 0.05, comparisons=3, planned_queries=QUERIES)
    rates = [simulate(rng.standard_t(3, (1000, QUERIES)) * 0.4, design).rate(DIFFERENT) for _ in range(3)]
    assert sum(rates) <= 0.05


def test_predictive_power_is_certain_at_the_end_and_small_for_a_hopeless_trend() -> None:
    design = design_for(0.05, 0.05, comparisons=1, planned_queries=QUERIES)
    t = np.array([56.0, 56.0, 20.0, 20.0])
    mean = np.array([1.0, 0.0, 0.05, 0.6])
    variance = np.array([0.36, 0.36, 0.36, 0.36])
    power, width = predictive_power(t, mean, variance, 56.0, design)
    assert power[0] == pytest.approx(1.0) and power[1] == pytest.approx(0.0)   # nothing left to come
    assert power[2] < 0.05 < 0.9 < power[3]                                     # 1.05x hopeless, 1.8x likely
    assert np.all(width[:2] == width[0]) and np.all(np.isfinite(width))


def test_the_summary_says_undecided_futile_and_the_block_keeps_every_earlier_field() -> None:
    from slm_energy_plugin.render.sequential_lines import sequential_lines

    monitor = _run(_noisy_pair(1.05, 0.6), futility=True)
    block = monitor.to_dict()
    # Readers of run.json (compare, report) rely on these names: futility only adds fields.
    assert {"method", "method_text", "alpha", "alpha_per_pair", "equivalence_margin", "tau2", "looks",
            "pairs"} <= set(block)
    entry = block["pairs"][0]   # type: ignore[index]
    assert {"pair", "metric", "decision", "after_queries", "ratio", "ci", "paired_queries"} <= set(entry)
    block.update(queries_run=monitor.looks, queries_planned=QUERIES, seed=0, stop_reason="verdicts decided or futile",
                 tests_deselected=2 * (QUERIES - monitor.looks), energy_j=1.0)
    text = "\n".join(sequential_lines(block, "measured"))
    assert re.search(r"^a vs b +energy +undecided \(futile\) ", text, re.MULTILINE)


# -- a model that stops answering: its pairs end undecided ("no values"), the others go on ----------

TOKENS = {"a": 16.0, "b": 24.0, "c": 24.0}


def _block(errored: set[str]) -> tuple[dict[str, dict[str, float]], dict[str, bool]]:
    """One query block on a, b, c: the models in ``errored`` had only errors (no value, no counted outcome)."""
    return ({"tokens": {m: v for m, v in TOKENS.items() if m not in errored}},
            {m: m not in errored for m in TOKENS})


def test_a_model_erroring_on_every_query_ends_its_pairs_after_five_and_frees_the_others() -> None:
    monitor = Monitor(["dead", "a", "b"], ["tokens"], alpha=0.05, margin=0.05, planned_queries=12)
    ended = []
    for _ in range(NO_VALUES_AFTER):
        values, answered = _block(set())
        ended += monitor.look(values, {**answered, "dead": False})
    assert NO_VALUES_AFTER == 5
    by_pair = {s.pair: s for s in monitor.states}
    for name in ("dead vs a", "dead vs b"):
        state = by_pair[name]
        assert (state.decision, state.reason, state.after_queries, state.log_ratios) == (UNDECIDED, NO_VALUES, 5, [])
        assert state in ended
    assert monitor.no_values == {"dead": 5} and "dead" in monitor.done_models()
    # a vs b is judged on its own values as before: the dead model no longer holds a or b.
    while not monitor.decided:
        monitor.look(*_block(set()))
    assert by_pair["a vs b"].decision == DIFFERENT and monitor.done_models() == {"dead", "a", "b"}
    block = monitor.to_dict()
    assert block["models_no_values"] == {"dead": 5} and block["no_values_after"] == 5
    assert [p["reason"] for p in block["pairs"]] == [NO_VALUES, NO_VALUES, "excludes 1"]   # type: ignore[index]


def test_occasional_errors_only_skip_their_queries_and_never_end_a_pair() -> None:
    """Four errors in a row, then an answer, again and again: the streak restarts at every counted outcome."""
    monitor = Monitor(["flaky", "a"], ["tokens"], alpha=0.05, margin=0.05, planned_queries=60, futility=False)
    for query in range(60):
        answers = query % 5 == 0
        values = {"a": 16.0, "flaky": 24.0} if answers else {"a": 16.0}
        monitor.look({"tokens": values}, {"flaky": answers, "a": True})
    [state] = monitor.states
    assert monitor.no_values == {} and state.reason != NO_VALUES
    assert state.decision == DIFFERENT and state.after_queries is not None
    assert len(state.log_ratios) == (state.after_queries - 1) // 5 + 1 >= 5   # paired only where it answered


def test_a_model_that_dies_mid_run_keeps_its_values_and_a_model_that_did_not_run_keeps_its_count() -> None:
    monitor = Monitor(["late", "a"], ["energy"], alpha=0.05, margin=0.05, planned_queries=40, futility=False)
    rng = np.random.default_rng(3)
    for _ in range(8):   # noisy and even: open after 8 paired queries
        monitor.look({"energy": {"late": float(rng.lognormal()), "a": float(rng.lognormal())}},
                     {"late": True, "a": True})
    [state] = monitor.states
    assert state.decision is None and len(state.log_ratios) == 8
    for _ in range(4):
        monitor.look({}, {"late": False, "a": True})
    monitor.look({}, {"a": True})           # "late" did not run in this block: neither an answer nor an error
    assert state.decision is None
    monitor.look({}, {"late": False, "a": True})
    assert (state.decision, state.reason, state.after_queries) == (UNDECIDED, NO_VALUES, 14)
    assert len(state.log_ratios) == 8 and state.ci is not None and state.ratio is not None   # what was measured stays


def test_the_summary_names_the_model_that_stopped_and_an_older_block_still_reads() -> None:
    from slm_energy_plugin.render.sequential_lines import sequential_lines

    monitor = Monitor(["openai-a", "b"], ["tokens"], alpha=0.05, margin=0.05, planned_queries=12)
    for _ in range(5):
        monitor.look({"tokens": {"b": 24.0}}, {"openai-a": False, "b": True})
    block = monitor.to_dict()
    block.update(queries_run=5, queries_planned=12, seed=0, stop_reason="verdicts decided or no values",
                 tests_deselected=14, energy_j=None)
    text = " ".join(" ".join(sequential_lines(block, "none")).split())
    assert "openai-a vs b tokens undecided (no values) 5" in text
    assert ("Stopped asking openai-a (after 5 queries): its last 5 queries in a row errored, so its pairs are "
            "undecided (no values) and its remaining tests were deselected.") in text
    for field in ("models_no_values", "no_values_after"):   # a block written before this rule
        del block[field]
    assert "Stopped asking" not in " ".join(sequential_lines(block, "none"))
