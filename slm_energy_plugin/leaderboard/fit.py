"""Power-law fits: ordinary least squares of log10(metric) on log10(parameters).

Pure (numpy/scipy only). The slope is an elasticity: 10x the parameters multiplies the
metric by 10**slope. Its 95% CI is slope +- t(0.975, n-2) x its standard error, the
textbook OLS interval under normal, homoscedastic residuals on the log10 scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from ..render.format import plural

CONFIDENCE = 0.95
MIN_POINTS = 3  # two points always fit exactly: no residual variance, no interval


@dataclass(frozen=True)
class LogLogFit:
    """log10(y) = intercept + slope x log10(x), with what the band and residuals need."""

    n: int
    slope: float
    intercept: float
    r2: float
    slope_ci95: tuple[float, float]
    slope_stderr: float
    residual_std: float          # s, on the log10 scale, n - 2 degrees of freedom
    x_mean_log: float            # mean of log10(x)
    sxx_log: float               # sum of squared deviations of log10(x)
    x_range: tuple[float, float]  # observed min, max of x (not logged)

    def predict_log10(self, x: float) -> float:
        return self.intercept + self.slope * math.log10(x)

    def residual_log10(self, x: float, y: float) -> float:
        """log10(observed) - log10(trend): 0.3 means twice the trend, -1 a tenth."""
        return math.log10(y) - self.predict_log10(x)

    def band(self, xs: Sequence[float]) -> tuple[list[float], list[float], list[float]]:
        """(trend, lower, upper) at ``xs``, not logged: the 95% confidence band of the mean line."""
        t = _t_quantile(self.n)
        trend, lower, upper = [], [], []
        for x in xs:
            lx = math.log10(x)
            centre = self.intercept + self.slope * lx
            half = t * self.residual_std * math.sqrt(1.0 / self.n + (lx - self.x_mean_log) ** 2 / self.sxx_log)
            trend.append(10.0 ** centre)
            lower.append(10.0 ** (centre - half))
            upper.append(10.0 ** (centre + half))
        return trend, lower, upper


class FitError(ValueError):
    """Why no fit could be made (too few points, a single size), as one sentence."""


def _t_quantile(n: int) -> float:
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2.0, n - 2))


def fit_loglog(x: Sequence[float], y: Sequence[float]) -> LogLogFit:
    """Fit log10(y) on log10(x); every value must be positive and finite."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape:
        raise FitError(f"{xs.size} sizes but {ys.size} values")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys)) and np.all(xs > 0) and np.all(ys > 0)):
        raise FitError("a log-log fit needs positive, finite sizes and values")
    n = int(xs.size)
    if n < MIN_POINTS:
        raise FitError(f"{plural(n, 'point')}; a fit with a confidence interval needs at least {MIN_POINTS}")
    lx, ly = np.log10(xs), np.log10(ys)
    sxx = float(np.sum((lx - lx.mean()) ** 2))
    if sxx == 0.0:
        raise FitError("every model has the same size; the slope is undefined")
    result = stats.linregress(lx, ly)
    slope, intercept = float(result.slope), float(result.intercept)
    stderr = float(result.stderr)
    half = _t_quantile(n) * stderr
    residuals = ly - (intercept + slope * lx)
    residual_std = math.sqrt(float(np.sum(residuals ** 2)) / (n - 2))
    return LogLogFit(
        n=n, slope=slope, intercept=intercept, r2=float(result.rvalue) ** 2,
        slope_ci95=(slope - half, slope + half), slope_stderr=stderr, residual_std=residual_std,
        x_mean_log=float(lx.mean()), sxx_log=sxx, x_range=(float(xs.min()), float(xs.max())),
    )
