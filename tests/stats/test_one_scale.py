"""One scale per row: the paired test, its r and the HL ratio with its CI use the same log values.

Constructed data where the raw-scale and log-scale Wilcoxon tests disagree, and many random data
sets on which ratio, CI, p and r must agree in direction and significance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from slm_energy_plugin.stats.core import compare_models, excludes_null
from slm_energy_plugin.stats.rank_tests import wilcoxon

ALPHA = 0.05


def _values(a: np.ndarray, b: np.ndarray) -> dict[str, dict[str, float]]:
    return {"a": {f"q{i}": float(x) for i, x in enumerate(a)}, "b": {f"q{i}": float(x) for i, x in enumerate(b)}}


def _constructed() -> tuple[np.ndarray, np.ndarray]:
    """Nine small queries where a uses 10% less, three large ones where it uses 5% more: per query
    a is mostly cheaper (log scale), but the raw differences are dominated by the large queries."""
    b = np.array([1.0, 1.3, 1.7, 2.2, 2.9, 3.7, 4.8, 6.2, 8.1, 1000.0, 1400.0, 1900.0])
    factors = np.array([0.90, 0.91, 0.89, 0.90, 0.92, 0.88, 0.90, 0.91, 0.89, 1.05, 1.06, 1.04])
    return b * factors, b


def test_raw_and_log_scale_tests_disagree_on_constructed_data_and_the_row_uses_log() -> None:
    a, b = _constructed()
    raw = wilcoxon(a, b)
    assert raw.p_value is not None and raw.p_value > ALPHA and raw.effect is not None
    pair = compare_models(_values(a, b)).pairs[0]
    assert pair.scale == "log"
    wil, ratio = pair.wilcoxon, pair.shift
    assert wil is not None and ratio is not None and ratio.high is not None and ratio.estimate is not None
    logs = wilcoxon(np.log(a), np.log(b))
    assert wil.p_value == pytest.approx(logs.p_value) and wil.p_value < ALPHA
    # ratio, CI, p and r agree: a is smaller, significantly.
    assert ratio.kind == "ratio" and ratio.estimate < 1 and ratio.high < 1
    assert wil.effect is not None and wil.effect < 0
    assert pair.agreement is None
    # The HL difference in the metric's unit is given beside the ratio, for reading.
    assert pair.difference is not None and pair.difference.kind == "difference"
    assert pair.difference.estimate is not None


def test_unpaired_columns_use_log_values_too() -> None:
    a, b = _constructed()
    values = {"a": {f"x{i}": float(v) for i, v in enumerate(a)}, "b": {f"y{i}": float(v) for i, v in enumerate(b)}}
    pair = compare_models(values).pairs[0]
    assert pair.n_shared == 0 and pair.scale == "log" and pair.shift is not None
    assert pair.shift.kind == "ratio" and pair.mann_whitney is not None
    mw_rejects = pair.mann_whitney.p_value is not None and pair.mann_whitney.p_value < ALPHA
    assert mw_rejects == bool(excludes_null(pair.shift)) or pair.agreement is not None


def test_a_metric_with_zeros_stays_on_raw_values() -> None:
    a = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    pair = compare_models(_values(a, a + 1.0)).pairs[0]
    assert pair.scale == "raw" and pair.shift is not None and pair.shift.kind == "difference"
    assert pair.difference is pair.shift


@pytest.mark.parametrize("seed", range(6))
def test_ratio_ci_p_and_r_agree_in_direction_and_significance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    checked = disagreements = 0
    for _ in range(60):
        n = int(rng.integers(6, 41))
        b = rng.lognormal(0.0, 1.0, n)
        a = b * np.exp(rng.normal(rng.choice([0.0, 0.1, 0.3]), 0.3, n))
        pair = compare_models(_values(a, b)).pairs[0]
        wil, ratio = pair.wilcoxon, pair.shift
        assert wil is not None and ratio is not None and wil.p_value is not None and ratio.estimate is not None
        assert wil.effect is not None
        rejects, excluded = wil.p_value < ALPHA, bool(excludes_null(ratio))
        checked += 1
        if rejects != excluded:
            disagreements += 1
            assert pair.agreement is not None and "borderline" in pair.agreement   # said, never silent
        else:
            assert pair.agreement is None
        # Direction: r > 0 exactly when more Walsh averages of log ratios are positive, i.e.
        # when the HL ratio is above 1 (continuous data, no ties).
        if abs(wil.effect) > 1e-9 and abs(math.log(ratio.estimate)) > 1e-12:
            assert (wil.effect > 0) == (ratio.estimate > 1)
        if excluded:
            assert (ratio.low > 1) == (wil.effect > 0)
    # With exact ranks on continuous data (n <= 50) test and CI are the same statement.
    assert disagreements == 0, f"{disagreements} of {checked}"
