"""Right/wrong answers: Wilson interval, McNemar, Cochran's Q."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from slm_energy_plugin.stats.core import compare_models
from slm_energy_plugin.stats.binary import (accuracy, cochran_q, discordant, discordant_columns, mcnemar,
                                          mcnemar_from_counts, wilson_interval)


def _answers(*rows):
    return {q: float(v) for q, v in zip((f"q{i}" for i in range(len(rows))), rows)}


def test_wilson_by_hand_and_against_scipy():
    low, high = wilson_interval(8, 10)
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    for k, n in [(0, 7), (7, 7), (3, 50), (49, 50), (1, 1)]:
        ci = sps.binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_interval(k, n) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_accuracy_and_its_degenerate_case():
    acc = accuracy("gpt2", [1.0, 0.0, 1.0, 1.0])
    assert (acc.n, acc.correct, acc.accuracy) == (4, 3, 0.75)
    assert acc.ci_low < 0.75 < acc.ci_high
    empty = accuracy("gpt2", [])
    assert empty.accuracy is None and "no scored answers" in empty.reason


def test_mcnemar_exact_by_hand():
    a = _answers(*([1] * 6 + [0] + [1, 1, 0]))
    b = _answers(*([0] * 6 + [1] + [1, 1, 0]))
    res = mcnemar(a, b)
    # 7 discordant pairs, 6 vs 1: p = 2 * P(X <= 1 | n = 7, 1/2) = 2 * 8 / 128
    assert res.p_value == pytest.approx(0.125) and res.method == "exact binomial"
    assert res.p_value == pytest.approx(sps.binomtest(6, 7, 0.5).pvalue)
    assert res.effect == pytest.approx(0.5) and res.n == 10


def test_mcnemar_chi_squared_for_many_discordant_pairs():
    a = _answers(*([1] * 30 + [0] * 10 + [1] * 5))
    b = _answers(*([0] * 30 + [1] * 10 + [1] * 5))
    res = mcnemar(a, b)
    assert res.statistic == pytest.approx((abs(30 - 10) - 1) ** 2 / 40)
    assert res.p_value == pytest.approx(sps.chi2.sf((19 ** 2) / 40, 1))
    assert "continuity" in res.method


def test_mcnemar_degenerate():
    same = _answers(1, 0, 1)
    assert "no discordant pairs" in mcnemar(same, same).reason and mcnemar(same, same).p_value is None
    assert "no shared" in mcnemar({"q1": 1.0}, {"q2": 0.0}).reason


def test_cochran_q_by_hand():
    matrix = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0], [1, 0, 1]], dtype=float)
    res = cochran_q(matrix)
    # Q = (k-1)(k sum C^2 - T^2) / (k T - sum R^2) = 2 (3*21 - 49) / (21 - 13)
    assert res.statistic == pytest.approx(3.5) and res.df == 2
    assert res.p_value == pytest.approx(math.exp(-1.75))


def test_cochran_q_for_two_models_equals_uncorrected_mcnemar():
    rng = np.random.default_rng(13)
    matrix = (rng.random((60, 2)) < [0.7, 0.5]).astype(float)
    b = np.sum((matrix[:, 0] == 1) & (matrix[:, 1] == 0))
    c = np.sum((matrix[:, 0] == 0) & (matrix[:, 1] == 1))
    assert cochran_q(matrix).statistic == pytest.approx((b - c) ** 2 / (b + c))


@pytest.mark.parametrize("matrix, reason", [
    (np.ones((5, 3)), "all right or all wrong"),
    (np.array([[1.0, 0.0, 1.0]]), "at least 2 queries"),
    (np.ones((5, 1)), "at least 2 models"),
])
def test_cochran_q_degenerate(matrix, reason):
    res = cochran_q(matrix)
    assert reason in res.reason and res.p_value is None


def test_compare_models_binary_end_to_end():
    values = {
        "phi2": _answers(1, 1, 1, 1, 0, 1, 1, 1, 1, 1),
        "gpt2": _answers(0, 0, 1, 0, 0, 0, 1, 0, 0, 0),
        "deepseek-r1-1.5b": _answers(1, 1, 1, 0, 0, 1, 1, 1, 0, 1),
    }
    c = compare_models(values, binary=True)
    assert c.binary and c.summaries == ()
    assert [a.accuracy for a in c.accuracies] == [0.9, 0.2, 0.7]
    assert c.omnibus[0].test == "Cochran's Q" and c.omnibus[0].p_value < 0.05
    raw = [p.mcnemar.p_value for p in c.pairs]
    assert all(p.mcnemar.p_holm >= r for p, r in zip(c.pairs, raw))
    assert all(p.mann_whitney is None and p.wilcoxon is None for p in c.pairs)


def test_binary_values_that_are_not_zero_or_one_are_left_out_with_a_note():
    c = compare_models({"a": {"q1": 1.0, "q2": 0.5}, "b": {"q1": 0.0, "q2": 1.0}}, binary=True)
    assert c.accuracies[0].n == 1
    assert any("neither 0 nor 1" in note for note in c.notes)


def test_counts_on_columns_match_the_mapping_version() -> None:
    # compare_models counts on the query table's columns (NaN = no value); mcnemar on dicts.
    a = {"q1": 1.0, "q2": 0.0, "q3": 1.0, "q4": 0.0, "q5": 1.0}
    b = {"q1": 0.0, "q2": 1.0, "q3": 1.0, "q5": 0.0, "q6": 1.0}
    ids = sorted(a.keys() | b.keys())
    col_a = np.array([a.get(q, np.nan) for q in ids])
    col_b = np.array([b.get(q, np.nan) for q in ids])
    shared, only_a, only_b = discordant_columns(col_a, col_b)
    assert (shared, only_a, only_b) == (4, 2, 1)
    assert (only_a, only_b) == discordant(a, b)
    assert mcnemar_from_counts(shared, only_a, only_b) == mcnemar(a, b)
