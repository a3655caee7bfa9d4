"""Right/wrong answers: Wilson CI of accuracy, McNemar per pair, Cochran's Q across models.

Pure (numpy + scipy). Values are 1.0 (right) and 0.0 (wrong), keyed by query id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
from scipy import stats as sps

from .types import StatResult

MCNEMAR = "McNemar"
COCHRAN = "Cochran's Q"
# Below this many discordant pairs the chi-squared approximation is poor: use the
# exact binomial test (the usual rule of thumb, e.g. statsmodels' guidance).
MCNEMAR_EXACT_BELOW = 25


@dataclass(frozen=True)
class Accuracy:
    """Share of right answers with its Wilson score interval."""

    model: str
    n: int
    correct: int
    accuracy: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = None


def wilson_interval(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval (no continuity correction), as Newcombe (1998) method 3."""
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    p = correct / n
    denom = 2 * (n + z * z)
    centre = (2 * n * p + z * z) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z * z)
    low = 0.0 if correct == 0 else centre - delta
    high = 1.0 if correct == n else centre + delta
    return low, high


def accuracy(model: str, values: Sequence[float], alpha: float = 0.05) -> Accuracy:
    n = len(values)
    correct = int(sum(1 for v in values if v == 1.0))
    if n == 0:
        return Accuracy(model, 0, 0, reason="no scored answers")
    low, high = wilson_interval(correct, n, 1 - alpha)
    return Accuracy(model, n, correct, correct / n, low, high)


def discordant(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[int, int]:
    """On shared queries: (right only for a, right only for b)."""
    shared = a.keys() & b.keys()
    return (sum(1 for q in shared if a[q] == 1.0 and b[q] == 0.0),
            sum(1 for q in shared if a[q] == 0.0 and b[q] == 1.0))


def mcnemar(a: Mapping[str, float], b: Mapping[str, float]) -> StatResult:
    """McNemar on shared queries: exact binomial below 25 discordant pairs, else
    chi-squared with continuity correction. Effect: accuracy of a minus b on them."""
    only_a, only_b = discordant(a, b)
    return mcnemar_from_counts(len(a.keys() & b.keys()), only_a, only_b)


def discordant_columns(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    """:func:`discordant` on two aligned columns (NaN = no value), with the shared count first:
    (shared, right only for a, right only for b). Counted in numpy: every pair of 10 models."""
    shared = int((~np.isnan(a) & ~np.isnan(b)).sum())
    return shared, int(((a == 1.0) & (b == 0.0)).sum()), int(((a == 0.0) & (b == 1.0)).sum())


def mcnemar_from_counts(shared: int, only_a: int, only_b: int) -> StatResult:
    """:func:`mcnemar` from the number of shared queries and the two discordant counts."""
    base = StatResult(MCNEMAR, statistic_name="b/c", n=shared, paired=True)
    if not shared:
        return replace(base, reason="no shared query ids")
    n_discordant = only_a + only_b
    effect = (only_a - only_b) / shared
    if n_discordant == 0:
        return replace(base, effect=0.0, effect_name="accuracy difference",
                       reason="no discordant pairs: both models are right or wrong on the same queries")
    if n_discordant < MCNEMAR_EXACT_BELOW:
        p = float(sps.binomtest(only_a, n_discordant, 0.5).pvalue)
        return replace(base, statistic=float(min(only_a, only_b)), statistic_name="min(b, c)", p_value=p,
                       effect=effect, effect_name="accuracy difference", method="exact binomial")
    chi2 = (abs(only_a - only_b) - 1) ** 2 / n_discordant
    return replace(base, statistic=float(chi2), statistic_name="chi2", df=1, p_value=float(sps.chi2.sf(chi2, 1)),
                   effect=effect, effect_name="accuracy difference",
                   method="chi-squared, continuity-corrected")


def cochran_q(matrix: np.ndarray) -> StatResult:
    """Cochran's Q on queries x models of 0/1; effect eta² = Q / (N (k - 1))."""
    n, k = matrix.shape
    base = StatResult(COCHRAN, statistic_name="Q", n=n, paired=True)
    if k < 2:
        return replace(base, reason="needs at least 2 models")
    if n < 2:
        return replace(base, reason=f"needs at least 2 queries every model answered (found {n})")
    col = matrix.sum(axis=0)
    row = matrix.sum(axis=1)
    total = float(row.sum())
    denom = k * total - float(np.sum(row ** 2))
    if denom <= 0:
        return replace(base, reason="on every shared query the models are all right or all wrong")
    q = (k - 1) * (k * float(np.sum(col ** 2)) - total ** 2) / denom
    note = "fewer than 10 queries: chi-squared approximation is rough" if n < 10 else None
    return replace(base, statistic=q, df=k - 1, p_value=float(sps.chi2.sf(q, k - 1)), effect=q / (n * (k - 1)),
                   effect_name="eta2 (Q / N(k-1))", method="chi-squared approximation", note=note)
