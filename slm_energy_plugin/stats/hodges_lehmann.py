"""Hodges–Lehmann shift estimates with distribution-free confidence intervals.

Pure numpy (no I/O). The paired estimate is the median of the Walsh averages
``(d_i + d_j) / 2, i <= j`` of per-query differences; the two-sample estimate is the
median of all differences ``x_i - y_j``. Their confidence intervals are order
statistics of the same sets, at ranks taken from the null distribution of the
Wilcoxon signed-rank (paired) or rank-sum (two-sample) statistic: the intervals are
exactly the shifts the matching rank test would not reject (Hollander & Wolfe,
Nonparametric Statistical Methods, ch. 3-4; the same ranks as R's ``wilcox.test``).

With 10,000 queries there are 5e7 Walsh averages, too many to list. Order statistics
are therefore *selected* without listing them: a search on the value, with counts
``#{sums <= t}`` computed by binary search in the sorted data (O(n log n) each),
narrows the window until few enough sums are left to list exactly.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.stats import norm

# Exact null distributions up to these sizes (as scipy's "auto" does); normal
# approximation above. Ties make the exact ranks approximate either way.
EXACT_SIGNED_RANK_MAX_N = 50
EXACT_RANK_SUM_MAX_N = 50
# At most this many candidate sums are listed to pick an order statistic exactly.
_LIST_LIMIT = 20_000
_MAX_ROUNDS = 200
# First guesses of where an order statistic lies come from this many sampled sums.
_GUESS_SAMPLE = 4096
_GUESS_SEED = 20240531


@dataclass(frozen=True)
class ShiftInterval:
    """A shift estimate (in the units of the data given) with its interval."""

    estimate: float
    low: float
    high: float
    confidence: float   # achieved confidence of [low, high] (>= the nominal one when exact)
    method: str         # "exact ranks" or "normal-approximation ranks"


# Pure functions of (sizes, alpha), asked again for every pair of models of the same size: kept.
@lru_cache(maxsize=1024)
def signed_rank_rank(n: int, alpha: float) -> tuple[int, float, str]:
    """1-based rank ``k`` of the lower bound among the n(n+1)/2 Walsh averages.

    The interval is ``[W_(k), W_(M+1-k)]``; also returns its confidence and method.
    """
    total = n * (n + 1) // 2
    if n <= EXACT_SIGNED_RANK_MAX_N:
        counts = np.zeros(total + 1, dtype=np.int64)
        counts[0] = 1
        for i in range(1, n + 1):          # subsets of {1..n} by their sum
            counts[i:] = counts[i:] + counts[:-i].copy()
        cdf = np.cumsum(counts) / float(2 ** n)
        k = max(int(np.searchsorted(cdf, alpha / 2 - 1e-12)), 1)   # smallest q with P(T<=q) >= a/2
        return k, 1.0 - 2.0 * float(cdf[k - 1]), "exact ranks"
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
    k = max(int(math.floor(total / 2.0 - norm.ppf(1 - alpha / 2) * sd)), 1)
    conf = 1.0 - 2.0 * float(norm.cdf((k - 0.5 - total / 2.0) / sd))
    return k, conf, "normal-approximation ranks"


@lru_cache(maxsize=1024)
def rank_sum_rank(m: int, n: int, alpha: float) -> tuple[int, float, str]:
    """1-based rank ``k`` of the lower bound among the m*n differences x_i - y_j."""
    total = m * n
    if m <= EXACT_RANK_SUM_MAX_N and n <= EXACT_RANK_SUM_MAX_N:
        # Distribution of U: coefficients of the Gaussian binomial [m+n choose m]_q,
        # built as prod_i (1 - q^(n+i)) / (1 - q^i) with exact Python integers.
        poly = np.zeros(total + 1, dtype=object)
        poly[0] = 1
        for i in range(1, m + 1):
            step = n + i
            if step <= total:
                poly[step:] = poly[step:] - poly[:-step].copy()
            for r in range(i):           # divide by (1 - q^i): running sums with stride i
                poly[r::i] = np.cumsum(poly[r::i])
        cdf = np.cumsum(poly.astype(float)) / float(math.comb(m + n, m))
        k = max(int(np.searchsorted(cdf, alpha / 2 - 1e-12)), 1)
        return k, 1.0 - 2.0 * float(cdf[k - 1]), "exact ranks"
    sd = math.sqrt(m * n * (m + n + 1) / 12.0)
    k = max(int(math.floor(total / 2.0 - norm.ppf(1 - alpha / 2) * sd)), 1)
    conf = 1.0 - 2.0 * float(norm.cdf((k - 0.5 - total / 2.0) / sd))
    return k, conf, "normal-approximation ranks"


class _PairSums:
    """The sums a_i + b_j (all j, or j >= i when ``triangular``) of sorted a, b, never listed whole."""

    def __init__(self, a: np.ndarray, b: np.ndarray, triangular: bool) -> None:
        if triangular and a is not b:
            raise ValueError("triangular sums are the Walsh sums of one sorted array: pass it as a and b")
        self.a, self.b, self.triangular = a, b, triangular
        # t - a is searched in b from a's largest value down: keys ascending, which numpy's
        # search walks faster (a quarter less time) than descending ones; same positions.
        self._a_descending = a[::-1]
        self.start = np.arange(len(a)) if triangular else np.zeros(len(a), dtype=np.intp)
        self.total = int(np.sum(len(b) - self.start))
        self.low = float(a[0] + b[0])
        self.high = float(a[-1] + b[-1])
        self._cache: dict[float, np.ndarray] = {}   # t -> per-row end of the sums <= t

    def _bounds(self, t: float | None, above: bool = False) -> np.ndarray:
        if t is None:   # minus infinity, or plus infinity when ``above``
            return np.full(len(self.a), len(self.b)) if above else self.start
        if t not in self._cache:
            self._cache[t] = self._searched(np.array([t]))[0]
        return self._cache[t]

    def _searched(self, ts: np.ndarray) -> np.ndarray:
        """Per t (rows) and row of a (columns): the end of the sums <= t, max(#{j: b_j <= t - a_i}, start_i)."""
        rows = len(self.a)
        if self.triangular:
            # Walsh sums (b is a): a row i with a_i > t - a_i holds no sum <= t (b_j >= b_i = a_i for
            # j >= i), so its end is its start without a search. t - a_i falls as a_i rises: those
            # rows are the last ones; near the median of the sums, half of them.
            rows = int(np.count_nonzero(self.a <= float(np.max(ts)) - self.a))
        bounds = np.empty((len(ts), len(self.a)), dtype=np.intp)
        bounds[:] = self.start
        keys = ts[:, None] - self._a_descending[None, len(self.a) - rows:]
        found = np.searchsorted(self.b, keys, side="right")[:, ::-1]
        np.maximum(found, self.start[None, :rows], out=bounds[:, :rows])
        return bounds

    def listed(self, lo: float | None, hi: float | None) -> np.ndarray:
        """Every sum in (lo, hi] (None: unbounded on that side)."""
        first, last = self._bounds(lo), self._bounds(hi, above=True)
        sizes = last - first
        ends = np.cumsum(sizes)
        # Row i's sums sit at listed[ends_i - sizes_i : ends_i]: their positions in b are the
        # listed positions shifted by first_i - (ends_i - sizes_i), one shift per row, repeated.
        where = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(first - (ends - sizes), sizes)
        listed: np.ndarray = np.repeat(self.a, sizes) + self.b[where]
        return listed

    def next_above(self, lo: float | None) -> float:
        """The smallest sum > lo."""
        first = self._bounds(lo)
        ok = first < len(self.b)
        return float(np.min(self.a[ok] + self.b[first[ok]])) if ok.any() else math.inf

    def counts(self, ts: np.ndarray) -> np.ndarray:
        """How many sums are <= each t, for many t at once (one vectorised search)."""
        bounds = self._searched(ts)
        self._cache.update(zip(ts.tolist(), bounds))
        counted: np.ndarray = np.sum(bounds, axis=1) - int(self.start.sum())
        return counted

    def _first_guesses(self, ks: list[int]) -> list[float]:
        """Values around the wanted ranks, read off a fixed-seed sample of the sums."""
        i, j = _guess_pairs(len(self.a), len(self.b))
        sample = np.sort(self.a[i] + self.b[j])
        spans: list[tuple[float, float]] = []
        centres: list[float] = []
        for k in ks:
            p = (k - 0.5) / self.total
            margin = 3.0 * math.sqrt(p * (1 - p) / _GUESS_SAMPLE) + 2.0 / _GUESS_SAMPLE
            spans.append((max(p - margin, 0.0), min(p + margin, 1.0)))
            if not centres or p - centres[-1] > 1.0 / _GUESS_SAMPLE:   # ranks k, k + 1: one estimate
                centres.append(p)
        # The ends bracket every rank; the sample's own estimates inside split the bracket, so the
        # next round interpolates over a few times less (a third of the searches of a 10,000-value
        # interval saved).
        guesses: list[float] = np.quantile(sample, _merged_ends(spans) + centres).tolist()
        return guesses

    def select(self, ks: list[int]) -> list[float]:
        """The k-th smallest sums (1-based ranks, sorted), found together.

        Known points (value, number of sums <= value) bracket each rank; each round
        adds points interpolated just below and above every rank not yet bracketed
        closely enough, until few enough sums lie in a bracket to list them.
        """
        knots: dict[float, int] = {-math.inf: 0, math.inf: self.total}
        found: dict[int, float] = {}
        last_gap: dict[int, int] = {}
        probes = self._first_guesses(ks) if self.total > _LIST_LIMIT else []
        for _ in range(_MAX_ROUNDS):
            fresh = np.array(sorted(set(probes) - set(knots)), dtype=float)
            if fresh.size:
                knots.update(zip(fresh.tolist(), self.counts(fresh).tolist()))
            xs = sorted(knots)
            cs = [knots[x] for x in xs]
            brackets: dict[int, list[int]] = {}     # knot position -> ranks inside
            for k in ks:
                if k not in found:
                    brackets.setdefault(bisect_left(cs, k), []).append(k)
            probes = []
            for pos, inside in brackets.items():
                lo, hi, c_lo, c_hi = xs[pos - 1], xs[pos], cs[pos - 1], cs[pos]
                lo_arg = None if lo == -math.inf else lo
                gap = c_hi - c_lo
                if gap <= _LIST_LIMIT:
                    window = self.listed(lo_arg, None if hi == math.inf else hi)
                    for k in inside:
                        found[k] = float(np.partition(window, k - c_lo - 1)[k - c_lo - 1])
                    continue
                x0 = self.low if lo_arg is None else lo
                x1 = self.high if hi == math.inf else hi
                stalled = any(last_gap.get(k, math.inf) <= 2 * gap for k in inside)
                last_gap.update((k, gap) for k in inside)
                if stalled:
                    above = self.next_above(lo_arg)
                    if above >= x1:          # every sum in the bracket is tied
                        found.update((k, above) for k in inside)
                        continue
                    probes.append((x0 + x1) / 2.0)
                delta = max(gap / 128.0, _LIST_LIMIT / 4.0)
                spans = [(max(k - delta, c_lo), min(k + delta, c_hi)) for k in inside]
                probes += [x0 + (x1 - x0) * (c - c_lo) / gap for c in _merged_ends(spans)]
            probes = [t for t in probes if math.isfinite(t)]
            if not probes:
                break
        for k in ks:    # float resolution reached: what is left agrees to the last digit
            if k not in found:
                xs = sorted(knots)
                lo = xs[bisect_left([knots[x] for x in xs], k) - 1]
                found[k] = self.next_above(None if lo == -math.inf else lo)
        return [found[k] for k in ks]


@lru_cache(maxsize=64)
def _guess_pairs(rows: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed-seed sample's (row, column) positions for a size: the same for every pair of that size."""
    rng = np.random.default_rng(_GUESS_SEED)
    i = rng.integers(0, rows, _GUESS_SAMPLE)
    j = rng.integers(0, columns, _GUESS_SAMPLE)
    i.flags.writeable = j.flags.writeable = False
    return i, j


def _merged_ends(spans: list[tuple[float, float]]) -> list[float]:
    """Both ends of each run of overlapping intervals."""
    ends: list[float] = []
    for start, stop in sorted(spans):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], stop)
        else:
            ends += [start, stop]
    return ends


def _ordered(sums: _PairSums, ranks: list[int]) -> list[float]:
    unique = sorted(set(ranks))
    values = dict(zip(unique, sums.select(unique)))
    return [values[k] for k in ranks]


def _median_ranks(total: int) -> list[int]:
    return [(total + 1) // 2] if total % 2 else [total // 2, total // 2 + 1]


def paired_shift(d: np.ndarray, alpha: float = 0.05) -> ShiftInterval:
    """One-sample HL estimate of the centre of differences ``d`` (len >= 1), with CI."""
    d = np.sort(np.asarray(d, dtype=float))
    sums = _PairSums(d, d, triangular=True)
    k, conf, method = signed_rank_rank(len(d), alpha)
    mids = _median_ranks(sums.total)
    low, high, *values = _ordered(sums, [k, sums.total + 1 - k, *mids])
    return ShiftInterval(float(np.mean(values)) / 2.0, low / 2.0, high / 2.0, conf, method)


def two_sample_shift(x: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> ShiftInterval:
    """Two-sample HL estimate of the shift x - y (len >= 1 each), with CI."""
    a = np.sort(np.asarray(x, dtype=float))
    b = np.sort(-np.asarray(y, dtype=float))
    sums = _PairSums(a, b, triangular=False)
    k, conf, method = rank_sum_rank(len(a), len(b), alpha)
    mids = _median_ranks(sums.total)
    low, high, *values = _ordered(sums, [k, sums.total + 1 - k, *mids])
    return ShiftInterval(float(np.mean(values)), low, high, conf, method)
