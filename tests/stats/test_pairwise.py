"""Pairwise tests: Mann–Whitney U, Wilcoxon signed-rank, Hodges–Lehmann ratio and its CI."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as sps

from slm_energy_plugin.stats import hodges_lehmann as hl
from slm_energy_plugin.stats.rank_tests import mann_whitney, mann_whitney_sorted, wilcoxon
from slm_energy_plugin.stats.core import ValueTable, compare_table, shift

RNG = np.random.default_rng(12)


# --- Mann–Whitney U ---------------------------------------------------------------------

def test_mann_whitney_by_hand_with_a_tie():
    res = mann_whitney(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 5.0]))
    # U of x: 1 beats nothing, 2 ties 2 (1/2), 3 beats 2 -> 1.5; r = 2 * 1.5 / 9 - 1
    assert res.statistic == 1.5 and res.effect == pytest.approx(-2 / 3)
    # One tie of size 2: sd = sqrt(9/12 * (7 - 6/30)); z = (7.5 - 4.5 - 0.5) / sd
    z = 2.5 / math.sqrt(9 / 12 * (7 - 6 / 30))
    assert res.p_value == pytest.approx(2 * sps.norm.sf(z))
    assert res.method == "normal approximation" and res.test == "Mann-Whitney U"


@pytest.mark.parametrize("n1, n2, ties", [(3, 4, False), (8, 20, False), (12, 15, False), (12, 15, True),
                                          (200, 150, True), (5, 5, True), (40, 3, False)])
def test_mann_whitney_matches_scipy(n1, n2, ties):
    draw = (lambda n: RNG.integers(0, 6, n).astype(float)) if ties else (lambda n: RNG.normal(size=n))
    x, y = draw(n1), draw(n2) + 0.3
    ours = mann_whitney(x, y)
    theirs = sps.mannwhitneyu(x, y, alternative="two-sided", method="auto")
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert ours.effect == pytest.approx(2 * theirs.statistic / (n1 * n2) - 1)


def test_mann_whitney_rank_biserial_is_cliffs_delta():
    x, y = RNG.normal(size=30), RNG.normal(size=25)
    delta = np.mean(np.sign(x[:, None] - y[None, :]))
    assert mann_whitney(x, y).effect == pytest.approx(delta)


@pytest.mark.parametrize("x, y, reason", [
    ([1.0], [1.0, 2.0], "at least 2 values"),
    ([], [], "at least 2 values"),
    ([2.0, 2.0], [2.0, 2.0, 2.0], "tied"),
])
def test_mann_whitney_degenerate(x, y, reason):
    res = mann_whitney(np.array(x), np.array(y))
    assert reason in res.reason and res.p_value is None


# --- Wilcoxon signed-rank ------------------------------------------------------------------

def test_wilcoxon_by_hand_with_a_zero():
    # d = [1, -2, 3, 4, 0]: the zero is left out; ranks 1..4; R+ = 8, R- = 2.
    x = np.array([11.0, 8.0, 13.0, 14.0, 10.0])
    res = wilcoxon(x, np.full(5, 10.0))
    assert res.statistic == 2.0 and res.effect == pytest.approx(0.6)
    # 16 sign patterns of ranks {1,2,3,4}: R+ >= 8 in 3 of them, <= 2 in 3 -> p = 6/16.
    assert res.p_value == pytest.approx(6 / 16)
    assert res.method == "exact permutation" and "1 tied pair" in res.note


@pytest.mark.parametrize("n, kind", [(10, "distinct"), (30, "distinct"), (30, "ties"), (12, "zeros"),
                                     (40, "zeros"), (300, "ties"), (1000, "zeros")])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_wilcoxon_matches_scipy(n, kind, alternative):
    y = RNG.lognormal(size=n)
    if kind == "distinct":
        x = y * RNG.lognormal(0.2, 0.3, n)
    elif kind == "ties":
        x = y + RNG.integers(-2, 4, n)
    else:
        x = y + RNG.integers(-1, 3, n) * (RNG.random(n) < 0.7)
    ours = wilcoxon(x, y, alternative=alternative)
    theirs = sps.wilcoxon(x, y, alternative=alternative, method="auto")
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert ours.statistic == pytest.approx(theirs.statistic)


def test_wilcoxon_matched_pairs_rank_biserial_by_definition():
    x, y = RNG.normal(size=60), RNG.normal(size=60)
    d = x - y
    ranks = sps.rankdata(np.abs(d))
    expected = (ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum()
    assert wilcoxon(x, y).effect == pytest.approx(expected)


@pytest.mark.parametrize("x, y, reason", [
    ([1.0], [2.0], "at least 2 shared"),
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "identical values"),
])
def test_wilcoxon_degenerate(x, y, reason):
    res = wilcoxon(np.array(x), np.array(y))
    assert reason in res.reason and res.p_value is None


# --- exact ranks for the HL intervals -------------------------------------------------------

def test_signed_rank_rank_by_brute_force_and_table():
    for n in range(1, 13):
        sums = [sum(r for r, s in zip(range(1, n + 1), signs) if s)
                for signs in itertools.product([0, 1], repeat=n)]
        k, conf, method = hl.signed_rank_rank(n, 0.05)
        cdf = lambda q: np.mean(np.array(sums) <= q)   # noqa: E731
        expected = max(next(q for q in range(n * (n + 1) // 2 + 1) if cdf(q) >= 0.025), 1)
        assert k == expected and conf == pytest.approx(1 - 2 * cdf(k - 1)) and method == "exact ranks"
    assert hl.signed_rank_rank(10, 0.05)[0] == 9        # table: critical T = 8 for n = 10
    assert hl.signed_rank_rank(5, 0.05)[:2] == (1, pytest.approx(1 - 2 / 32))


def test_rank_sum_rank_by_brute_force():
    for m, n in [(2, 2), (3, 4), (5, 5), (4, 7)]:
        us = [sum(sum(1 for j in range(m + n) if j not in chosen and j < i) for i in chosen)
              for chosen in itertools.combinations(range(m + n), m)]
        cdf = lambda q: np.mean(np.array(us) <= q)     # noqa: E731
        k, conf, _ = hl.rank_sum_rank(m, n, 0.05)
        expected = max(next(q for q in range(m * n + 1) if cdf(q) >= 0.025), 1)
        assert k == expected and conf == pytest.approx(1 - 2 * cdf(k - 1))
    assert hl.rank_sum_rank(10, 12, 0.05)[0] == 30      # table: critical U = 29 for (10, 12)


def test_large_samples_use_the_normal_approximation():
    assert hl.signed_rank_rank(51, 0.05)[2] == "normal-approximation ranks"
    k, conf, _ = hl.rank_sum_rank(80, 90, 0.05)
    assert conf == pytest.approx(0.95, abs=0.002)


# --- Hodges–Lehmann estimates -----------------------------------------------------------------

def test_hl_ratio_by_hand():
    # log ratios ln2 * [1, 2, 3]: Walsh averages 1, 1.5, 2, 2, 2.5, 3 (x ln2); median 2 -> 4x.
    sh = shift(np.array([2.0, 4.0, 8.0]), np.array([1.0, 1.0, 1.0]), paired=True, alpha=0.05)
    assert sh.kind == "ratio" and sh.estimate == pytest.approx(4.0)
    # n = 3 cannot reach 95%: the widest interval [W_(1), W_(6)] has confidence 1 - 2/8.
    assert (sh.low, sh.high) == (pytest.approx(2.0), pytest.approx(8.0))
    assert sh.confidence == pytest.approx(0.75)


def test_hl_two_sample_difference_by_hand():
    # differences x - y: 1, -4, 2, -3, 3, -2 -> median of the six: (-2 + 1) / 2
    sh = shift(np.array([1.0, 2.0, 3.0]), np.array([0.0, 5.0]), paired=False, alpha=0.05)
    assert sh.kind == "difference" and not sh.paired and sh.estimate == pytest.approx(-0.5)


def test_hl_interval_is_the_inverted_exact_wilcoxon_test():
    d = np.round(RNG.normal(0.5, 1.0, 14), 6)
    est = hl.paired_shift(d, 0.05)
    alpha_achieved = 1 - est.confidence
    eps = 1e-7

    def p(theta):
        return sps.wilcoxon(d - theta, method="exact").pvalue

    assert p(est.low - eps) <= alpha_achieved + 1e-12 < p(est.low + eps)
    assert p(est.high + eps) <= alpha_achieved + 1e-12 < p(est.high - eps)
    assert p(est.estimate) > 0.5


def test_hl_two_sample_interval_is_the_inverted_exact_mann_whitney_test():
    x, y = RNG.normal(1.0, 1.0, 9), RNG.normal(0.0, 1.0, 11)
    est = hl.two_sample_shift(x, y, 0.05)
    alpha_achieved = 1 - est.confidence

    def p(theta):
        return sps.mannwhitneyu(x - theta, y, method="exact").pvalue

    assert p(est.low - 1e-9) <= alpha_achieved + 1e-12 < p(est.low + 1e-9)
    assert p(est.high + 1e-9) <= alpha_achieved + 1e-12 < p(est.high - 1e-9)


@pytest.mark.parametrize("kind", ["normal", "integers", "cauchy", "rounded"])
def test_selection_equals_listing_every_walsh_average(kind, monkeypatch):
    draw = {"normal": lambda n: RNG.normal(size=n), "integers": lambda n: RNG.integers(-3, 4, n) * 1.0,
            "cauchy": lambda n: RNG.standard_cauchy(n), "rounded": lambda n: np.round(RNG.lognormal(size=n), 1)}[kind]
    for limit in (20_000, 7):   # a tiny listing limit forces the search to do all the work
        monkeypatch.setattr(hl, "_LIST_LIMIT", limit)
        for n in (1, 2, 5, 40, 600):
            d = np.sort(draw(n))
            i, j = np.triu_indices(n)
            walsh = np.sort(d[i] + d[j])
            ranks = sorted({1, len(walsh), (len(walsh) + 1) // 2, int(RNG.integers(1, len(walsh) + 1))})
            got = hl._PairSums(d, d, triangular=True).select(ranks)
            assert got == pytest.approx([walsh[k - 1] for k in ranks], rel=1e-12, abs=1e-12)
            y = np.sort(-draw(max(n // 2, 1)))
            diffs = np.sort((d[:, None] + y[None, :]).ravel())
            got = hl._PairSums(d, y, triangular=False).select([1, (len(diffs) + 1) // 2, len(diffs)])
            assert got == pytest.approx([diffs[0], diffs[(len(diffs) + 1) // 2 - 1], diffs[-1]], rel=1e-12)


def _walsh_counts(d: np.ndarray, value: float) -> tuple[int, int]:
    """Brute force: how many Walsh sums d_i + d_j (i <= j, added as floats) are < and <= value."""
    below = at_most = 0
    for r0 in range(0, len(d), 500):      # 500 rows at a time: 5e7 sums never held at once
        rows = np.arange(r0, min(r0 + 500, len(d)))
        sums = d[rows, None] + d[None, :]
        upper = np.arange(len(d))[None, :] >= rows[:, None]
        below += int(np.count_nonzero((sums < value) & upper))
        at_most += int(np.count_nonzero((sums <= value) & upper))
    return below, at_most


@pytest.mark.parametrize("kind", ["log ratios", "rounded"])
def test_hl_at_10000_queries_picks_the_exact_order_statistics(kind):
    """The size the report compares (10,000 shared queries: 5e7 Walsh sums): every sum the
    selection returns has exactly the rank asked for, counted by brute force over all sums."""
    n = 10_000
    if kind == "log ratios":
        d = np.log(RNG.lognormal(0, 0.2, n)) - np.log(RNG.lognormal(0.1, 0.2, n))
    else:   # many ties, as rounded meter readings give
        d = np.round(RNG.lognormal(0, 0.3, n), 2) - np.round(RNG.lognormal(0, 0.3, n), 2)
    d = np.sort(d)
    sums = hl._PairSums(d, d, triangular=True)
    k, _, _ = hl.signed_rank_rank(n, 0.05)
    ranks = sorted([k, sums.total + 1 - k, sums.total // 2, sums.total // 2 + 1])
    for rank, value in zip(ranks, sums.select(ranks)):
        below, at_most = _walsh_counts(d, value)
        assert below < rank <= at_most, (rank, value, below, at_most)


def test_hl_on_many_tied_values_is_exact():
    d = RNG.integers(0, 3, 3000).astype(float)     # e.g. token counts that often coincide
    est = hl.paired_shift(d)
    i, j = np.triu_indices(len(d))
    assert est.estimate == np.median((d[i] + d[j]) / 2)


@pytest.mark.parametrize("x, y, reason", [([1.0], [2.0], "at least 2 shared")])
def test_hl_degenerate(x, y, reason):
    sh = shift(np.array(x), np.array(y), paired=True, alpha=0.05)
    assert reason in sh.reason and sh.estimate is None


def test_ratio_beyond_float_range_gives_a_reason():
    for x, y in (([1e-300, 2e-300], [1e300, 3e300]), ([1e300, 3e300], [1e-300, 2e-300])):
        sh = shift(np.array(x), np.array(y), paired=True, alpha=0.05)
        assert sh.estimate is None and "floating-point range" in sh.reason


# --- Each model's column read once for all its pairs ---------------------------------------


@pytest.mark.parametrize("kind", ["continuous", "ties within", "ties across", "small exact", "signed"])
def test_mann_whitney_on_sorted_values_is_mann_whitney(kind):
    """The comparison sorts each model's values once and hands them sorted: the same U, p, r."""
    draw = {"continuous": lambda n: RNG.lognormal(size=n),
            "ties within": lambda n: np.repeat(RNG.normal(size=n // 3 + 1), 3)[:n],
            "ties across": lambda n: RNG.integers(0, 6, n) * 1.0,
            "small exact": lambda n: RNG.normal(size=min(n, 7)),
            "signed": lambda n: RNG.normal(size=n) * 1e3}[kind]
    for n1, n2 in ((7, 9), (40, 25), (300, 301)):
        x, y = draw(n1), draw(n2)
        assert mann_whitney_sorted(np.sort(x), np.sort(y)) == mann_whitney(x, y)


def test_pairs_of_the_query_table_equal_the_tests_run_pair_by_pair():
    """compare_table reads each model's column (its logs, its sorted values) once for all its pairs:
    every pair's tests and shifts equal the functions run on that pair's own values."""
    n = 400
    table = np.exp(RNG.normal(size=(n, 4)))
    table[RNG.random(n) < 0.2, 1] = np.nan          # gaps: fewer shared queries
    table[5, 2] = 0.0                               # one value not positive: raw scale for its pairs
    table[: n // 2, 3] = np.nan                     # shares only half the queries
    comparison = compare_table(ValueTable(("a", "b", "c", "d"), table, {m: 0 for m in "abcd"}))
    for (i, j), pair in zip(itertools.combinations(range(4), 2), comparison.pairs):
        x, y = table[:, i], table[:, j]
        xa, xb = x[~np.isnan(x)], y[~np.isnan(y)]
        both = ~np.isnan(x) & ~np.isnan(y)
        pa, pb = x[both], y[both]
        positive = bool(np.all(pa > 0) and np.all(pb > 0))
        unpaired = (np.log(xa), np.log(xb)) if np.all(xa > 0) and np.all(xb > 0) else (xa, xb)
        assert pair.mann_whitney == replace(mann_whitney(*unpaired), p_holm=pair.mann_whitney.p_holm)
        assert pair.wilcoxon == replace(wilcoxon(*((np.log(pa), np.log(pb)) if positive else (pa, pb))),
                                        p_holm=pair.wilcoxon.p_holm)
        assert pair.shift == shift(pa, pb, paired=True, alpha=0.05)
        assert pair.difference == shift(pa, pb, paired=True, alpha=0.05, raw=True)
        assert pair.scale == ("log" if positive else "raw")
