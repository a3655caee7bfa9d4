"""Fits of a metric against model size: log-log power laws (the default) or straight lines.

Pure (numpy/scipy only). Log-log: OLS of log10(metric) on log10(parameters); the slope is an
elasticity (10x the parameters multiplies the metric by 10**slope). Linear (``--fit linear``,
as the original analysis drew it): OLS of the metric on parameters in B; the slope is metric
units per billion parameters. Either slope's 95% CI is slope +- t(0.975, n-2) x its standard
error, the textbook OLS interval under normal, homoscedastic residuals on the fitted scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from ..number_format import plural

CONFIDENCE = 0.95
MIN_POINTS = 3  # two points always fit exactly: no residual variance, no interval
LOG_LOG = "log-log"
LINEAR = "linear"
FIT_KINDS = (LOG_LOG, LINEAR)


@dataclass(frozen=True)
class LogLogFit:
    """log10(y) = intercept + slope x log10(x) (kind log-log), or y = intercept + slope x x (kind linear),
    with what the band and residuals need. ``x_mean_log``/``sxx_log`` are on the fitted x scale."""

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
    kind: str = LOG_LOG

    def _x(self, x: float) -> float:
        return math.log10(x) if self.kind == LOG_LOG else x

    def _back(self, value: float) -> float:
        return 10.0 ** value if self.kind == LOG_LOG else value

    def predict(self, x: float) -> float:
        """The trend at ``x``, not logged."""
        centre = self.intercept + self.slope * self._x(x)
        return 10.0 ** centre if self.kind == LOG_LOG else centre

    def predict_log10(self, x: float) -> float:
        """log10 of the trend; -inf where a straight line is at or below zero."""
        if self.kind == LOG_LOG:
            return self.intercept + self.slope * math.log10(x)
        value = self.predict(x)
        return math.log10(value) if value > 0 else float("-inf")

    def residual_log10(self, x: float, y: float) -> float:
        """log10(observed) - log10(trend): 0.3 means twice the trend, -1 a tenth."""
        return math.log10(y) - self.predict_log10(x)

    def band(self, xs: Sequence[float]) -> tuple[list[float], list[float], list[float]]:
        """(trend, lower, upper) at ``xs``, not logged: the 95% confidence band of the mean line."""
        t = _t_quantile(self.n)
        trend, lower, upper = [], [], []
        for x in xs:
            lx = self._x(x)
            centre = self.intercept + self.slope * lx
            half = t * self.residual_std * math.sqrt(1.0 / self.n + (lx - self.x_mean_log) ** 2 / self.sxx_log)
            trend.append(self._back(centre))
            lower.append(self._back(centre - half))
            upper.append(self._back(centre + half))
        return trend, lower, upper


class FitError(ValueError):
    """Why no fit could be made (too few points, a single size), as one sentence."""


def _t_quantile(n: int) -> float:
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2.0, n - 2))


def fit_size(x: Sequence[float], y: Sequence[float], kind: str = LOG_LOG) -> LogLogFit:
    """The fit of ``kind`` (log-log or linear)."""
    if kind == LINEAR:
        return fit_linear(x, y)
    return fit_loglog(x, y)


def fit_linear(x: Sequence[float], y: Sequence[float]) -> LogLogFit:
    """Fit y on x (parameters in B) by OLS; values must be finite, sizes positive."""
    xs, ys = _checked(x, y, LINEAR)
    return _ols(xs, ys, xs, ys, LINEAR)


def _checked(x: Sequence[float], y: Sequence[float], kind: str) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.shape != ys.shape:
        raise FitError(f"{xs.size} sizes but {ys.size} values")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys)) and np.all(xs > 0)
            and (kind == LINEAR or np.all(ys > 0))):
        raise FitError(f"a {kind} fit needs positive, finite sizes" + (" and values" if kind == LOG_LOG else ""))
    n = int(xs.size)
    if n < MIN_POINTS:
        raise FitError(f"{plural(n, 'point')}; a fit with a confidence interval needs at least {MIN_POINTS}")
    return xs, ys


def fit_loglog(x: Sequence[float], y: Sequence[float]) -> LogLogFit:
    """Fit log10(y) on log10(x); every value must be positive and finite."""
    xs, ys = _checked(x, y, LOG_LOG)
    return _ols(xs, ys, np.log10(xs), np.log10(ys), LOG_LOG)


def _ols(xs: np.ndarray, ys: np.ndarray, lx: np.ndarray, ly: np.ndarray, kind: str) -> LogLogFit:
    n = int(xs.size)
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
        x_mean_log=float(lx.mean()), sxx_log=sxx, x_range=(float(xs.min()), float(xs.max())), kind=kind,
    )
