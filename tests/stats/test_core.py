"""Per-model summaries, the bootstrap, omnibus tests, Holm, and compare_models end to end."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats as sps

from slm_energy_plugin.stats.rank_tests import average_ranks, friedman, kruskal
from slm_energy_plugin.stats.core import (
    BOOTSTRAP_RESAMPLES, Comparison, bootstrap_median_ci, bootstrap_medians, compare_models, summarize,
)
from slm_energy_plugin.stats.types import holm


def _walk_numbers(obj):
    """Every float found in a (nested) result, to check that none is NaN or infinite."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _walk_numbers(getattr(obj, f.name))
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _walk_numbers(item)
    elif isinstance(obj, float):
        yield obj


def _p_values(comparison: Comparison):
    for test in comparison.omnibus:
        yield test.p_value
    for pair in comparison.pairs:
        for test in pair.tests:
            yield test.p_value
            yield test.p_holm


def _by_query(*columns):
    return {f"m{i}": {f"q{j:03d}": float(v) for j, v in enumerate(col)} for i, col in enumerate(columns)}


# --- per-model summary -------------------------------------------------------------

def test_summary_matches_numpy_and_hand_values():
    s = summarize("gpt2", [4.0, 1.0, 3.0, 2.0, 10.0])
    assert (s.n, s.median, s.mean) == (5, 3.0, 4.0)
    assert (s.q1, s.q3) == (2.0, 4.0)                         # numpy's linear quantiles
    assert s.std == pytest.approx(math.sqrt(((0 + 9 + 1 + 4 + 36) / 4)))
    assert s.ci_low <= s.median <= s.ci_high
    assert s.reason is None


def test_summary_with_ties_and_zero_variance():
    s = summarize("m", [2.0, 2.0, 2.0, 2.0])
    assert (s.median, s.q1, s.q3, s.std, s.ci_low, s.ci_high) == (2.0, 2.0, 2.0, 0.0, 2.0, 2.0)


@pytest.mark.parametrize("values, reason", [([], "no values"), ([7.0], "only 1 value")])
def test_summary_of_too_few_values_gives_a_reason(values, reason):
    s = summarize("m", values)
    assert reason in s.reason
    assert s.std is None and s.ci_low is None and s.ci_high is None


def test_bootstrap_medians_follow_the_exact_bootstrap_distribution():
    # For odd n, P(resampled median <= x_(j)) = P(Binomial(n, j/n) >= (n+1)/2) (Efron 1979).
    x = np.sort(np.random.default_rng(3).normal(size=11))
    medians = bootstrap_medians(x, resamples=200_000, seed=1)
    for j in range(1, 12):
        exact = sps.binom.sf(5, 11, j / 11)
        assert np.mean(medians <= x[j - 1]) == pytest.approx(exact, abs=0.005)


def test_bootstrap_medians_match_brute_force_resampling_for_even_n():
    x = np.sort(np.random.default_rng(4).lognormal(size=40))
    ours = bootstrap_medians(x, resamples=40_000, seed=2)
    rng = np.random.default_rng(5)
    brute = np.median(x[rng.integers(0, len(x), size=(40_000, len(x)))], axis=1)
    assert sps.ks_2samp(ours, brute).statistic < 0.02


def test_bootstrap_ci_agrees_with_scipy_bootstrap():
    x = np.random.default_rng(6).lognormal(size=201)
    ours = bootstrap_median_ci(np.sort(x))
    theirs = sps.bootstrap((x,), np.median, method="percentile", n_resamples=BOOTSTRAP_RESAMPLES,
                           random_state=np.random.default_rng(7)).confidence_interval
    spacing = np.median(np.diff(np.sort(x)))
    assert ours[0] == pytest.approx(theirs.low, abs=6 * spacing)
    assert ours[1] == pytest.approx(theirs.high, abs=6 * spacing)


def test_bootstrap_is_reproducible_with_its_fixed_seed():
    x = np.sort(np.random.default_rng(8).normal(size=30))
    assert bootstrap_median_ci(x) == bootstrap_median_ci(x)


# --- ranks, Holm -----------------------------------------------------------------------

def test_average_ranks_match_scipy_with_ties():
    v = np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    ranks, tie_term = average_ranks(v)
    assert np.array_equal(ranks, sps.rankdata(v))
    assert tie_term == (27 - 3) + (8 - 2)


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([None, 0.02, 0.5]) == [None, pytest.approx(0.04), pytest.approx(0.5)]
    assert holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])    # capped at 1, monotone
    assert holm([]) == []


# --- omnibus tests -------------------------------------------------------------------

def test_kruskal_by_hand_and_against_scipy():
    res = kruskal({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([4.0, 5.0, 6.0])})
    # H = 12 / (6 * 7) * (6^2/3 + 15^2/3) - 3 * 7
    assert res.statistic == pytest.approx(12 / 42 * (36 / 3 + 225 / 3) - 21)
    assert res.p_value == pytest.approx(sps.chi2.sf(res.statistic, 1))
    assert res.effect == pytest.approx(res.statistic / 5) and res.test == "Kruskal-Wallis H"
    groups = {"a": np.array([1, 2, 2, 5, 7.0]), "b": np.array([2, 3, 9, 9.0]), "c": np.array([0.5, 2, 4, 4, 8, 8.0])}
    assert kruskal(groups).statistic == pytest.approx(sps.kruskal(*groups.values()).statistic)
    assert kruskal(groups).p_value == pytest.approx(sps.kruskal(*groups.values()).pvalue)


def test_friedman_by_hand():
    matrix = np.array([[1.0, 2.0, 3.0]] * 4)          # every query ranks the models the same way
    res = friedman(matrix)
    assert res.statistic == pytest.approx(8.0)         # 12/(4*3*4) * (4^2 + 8^2 + 12^2) - 3*4*4
    assert res.effect == pytest.approx(1.0)            # Kendall's W: perfect agreement
    assert res.p_value == pytest.approx(math.exp(-4.0))
    assert res.df == 2 and res.paired and res.effect_name == "Kendall's W"


def test_friedman_with_ties_matches_scipy():
    rng = np.random.default_rng(9)
    matrix = rng.integers(0, 4, size=(25, 4)).astype(float)
    ours = friedman(matrix)
    theirs = sps.friedmanchisquare(*matrix.T)
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.p_value == pytest.approx(theirs.pvalue)
    assert ours.effect == pytest.approx(theirs.statistic / (25 * 3))


@pytest.mark.parametrize("groups, reason", [
    ({"a": np.array([1.0, 2.0])}, "at least 2 models"),
    ({"a": np.array([1.0]), "b": np.array([2.0])}, "more values than models"),
    ({"a": np.array([3.0, 3.0]), "b": np.array([3.0, 3.0, 3.0])}, "tied"),
])
def test_kruskal_degenerate(groups, reason):
    res = kruskal(groups)
    assert reason in res.reason and res.p_value is None and res.statistic is None


@pytest.mark.parametrize("matrix, reason", [
    (np.ones((5, 2)), "at least 3 models"),
    (np.ones((1, 3)), "at least 2 queries"),
    (np.empty((0, 3)), "at least 2 queries"),
    (np.full((6, 3), 2.5), "ties across all models"),
])
def test_friedman_degenerate(matrix, reason):
    res = friedman(matrix)
    assert reason in res.reason and res.p_value is None


# --- compare_models end to end --------------------------------------------------------

def test_compare_models_on_fixed_data_matches_scipy_throughout():
    rng = np.random.default_rng(10)
    base = rng.lognormal(0, 0.4, 30)
    values = _by_query(base * 1.0, base * 1.6 * rng.lognormal(0, 0.1, 30), base * 4.0 * rng.lognormal(0, 0.1, 30))
    c = compare_models(values)
    cols = [np.array(list(v.values())) for v in values.values()]
    kw, fr = c.omnibus
    assert kw.statistic == pytest.approx(sps.kruskal(*cols).statistic)
    assert fr.statistic == pytest.approx(sps.friedmanchisquare(*cols).statistic)
    assert c.n_common == 30
    for pair, (i, j) in zip(c.pairs, [(0, 1), (0, 2), (1, 2)]):
        assert (pair.a, pair.b) == (f"m{i}", f"m{j}")
        mw = sps.mannwhitneyu(cols[i], cols[j])
        wx = sps.wilcoxon(cols[i], cols[j])
        assert pair.mann_whitney.p_value == pytest.approx(mw.pvalue)
        assert pair.wilcoxon.p_value == pytest.approx(wx.pvalue)
        assert pair.wilcoxon.statistic == pytest.approx(wx.statistic)
        assert pair.n_shared == 30 and pair.paired
    raw = [p.wilcoxon.p_value for p in c.pairs]
    assert [p.wilcoxon.p_holm for p in c.pairs] == pytest.approx(holm(raw))
    ratio = c.pair("m0", "m2").shift
    assert ratio.kind == "ratio" and ratio.paired
    assert ratio.estimate == pytest.approx(0.25, rel=0.1)
    assert ratio.low < ratio.estimate < ratio.high and ratio.confidence == pytest.approx(0.95, abs=0.01)
    assert c.pair("m2", "m0") is c.pair("m0", "m2")


def test_compare_models_reports_unshared_queries_as_unpaired():
    values = {"a": {"q1": 1.0, "q2": 2.0, "q3": 3.0}, "b": {"q4": 4.0, "q5": 5.0, "q6": 6.0}}
    c = compare_models(values)
    pair = c.pairs[0]
    assert pair.n_shared == 0 and not pair.paired
    assert "no shared query ids" in pair.wilcoxon.reason and pair.wilcoxon.p_value is None
    assert pair.mann_whitney.p_value == pytest.approx(sps.mannwhitneyu([1, 2, 3], [4, 5, 6]).pvalue)
    assert not pair.shift.paired and pair.shift.estimate == pytest.approx(1 / 2.5, rel=0.3)
    assert c.n_common == 0
    assert c.omnibus[1].reason  # Friedman has nothing to rank


def test_compare_models_drops_non_finite_values_and_says_so():
    values = {"a": {"q1": 1.0, "q2": float("nan"), "q3": 3.0, "q4": float("inf")},
              "b": {"q1": 2.0, "q2": 2.5, "q3": 4.0, "q4": None}}
    c = compare_models(values)
    assert c.summaries[0].n == 2 and c.summaries[0].dropped == 2
    assert any("a: 2 non-finite" in note for note in c.notes)
    assert c.pairs[0].n_shared == 2


def test_single_model_and_no_models():
    one = compare_models({"gpt2": {"q1": 1.0, "q2": 2.0}})
    assert one.pairs == () and "only one model" in one.notes[0]
    assert all(t.reason for t in one.omnibus)
    assert one.summaries[0].median == 1.5
    none = compare_models({})
    assert none.models == () and none.summaries == () and "no models" in none.notes[0]


def test_identical_models_give_reasons_not_p_values():
    values = {"a": {"q1": 1.0, "q2": 1.0, "q3": 1.0}, "b": {"q1": 1.0, "q2": 1.0, "q3": 1.0}}
    pair = compare_models(values).pairs[0]
    assert "tied" in pair.mann_whitney.reason and pair.mann_whitney.p_value is None
    assert "identical values" in pair.wilcoxon.reason and pair.wilcoxon.p_value is None
    assert pair.shift.estimate == 1.0


def test_difference_instead_of_ratio_when_values_are_not_positive():
    values = _by_query([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    shift = compare_models(values).pairs[0].shift
    assert shift.kind == "difference" and shift.estimate == pytest.approx(-1.0)


def test_random_degenerate_inputs_never_crash_and_never_give_nan():
    rng = np.random.default_rng(11)
    pool = [0.0, 1.0, 1.0, 2.0, float("nan"), float("inf"), -1.0, 5.5]
    for trial in range(150):
        k = int(rng.integers(0, 5))
        values = {}
        for m in range(k):
            n = int(rng.integers(0, 7))
            ids = rng.choice(8, size=n, replace=False)
            values[f"m{m}"] = {f"q{i}": float(rng.choice(pool)) for i in ids}
        for binary in (False, True):
            c = compare_models(values, binary=binary)
            assert all(math.isfinite(x) for x in _walk_numbers(c)), (trial, values)
            assert all(p is None or 0.0 <= p <= 1.0 for p in _p_values(c))
            tests = list(c.omnibus) + [t for pair in c.pairs for t in pair.tests]
            assert all(t.p_value is not None or t.reason for t in tests)


def test_numbers_are_cleaned_at_once_as_one_by_one():
    """The vectorised path for numeric values keeps, converts and counts exactly as float() per value."""
    from slm_energy_plugin.stats import core

    cases = [
        {"q1": 1, 2: 2.5, "q3": float("inf"), "q4": True, "q5": np.float64(3.0), "q6": float("nan"), "q7": -0.0},
        {"q1": 0.1, "q2": 0.2},
        {},
        {"q1": 1.0, "q2": None, "q3": "2.5", "q4": "x"},     # not all numbers: one by one
    ]
    for per_query in cases:
        fast, slow = core._finite(per_query), core._finite_one_by_one(per_query)
        assert fast == slow
        assert [type(v) for v in fast[0].values()] == [float] * len(fast[0])
        assert list(fast[0]) == list(slow[0])
