"""Sequential verdicts: always-valid intervals for paired log ratios (pure: numpy only, no I/O).

The question is the one the fixed-n statistics answer ("does model A cost more than model B per
query, and by how much?"), asked again after every query block so a run can stop as soon as the
answer is clear. Looking after every block and stopping when an interval excludes 1 would break a
fixed-n test's error rate (each look is another chance to be wrong); a *confidence sequence*
keeps it: with probability at least 1 - alpha its intervals cover the true value at every look
at once, so stopping at any look, for any reason, keeps the guarantee.

Method: Lai's (1976) sequential t confidence sequence, the scale-invariant normal mixture of
Wang & Ramdas (2023, "Anytime-valid t-tests and confidence sequences for Gaussian means with
unknown variance"). For one pair and metric, each query gives ``d = log(A) - log(B)``; for a
candidate mean ``m`` the mixture likelihood ratio of the maximal scale invariant is

    M_t(m) = (1 + t tau^2)^(-1/2) * ((V + D) / (V + D / (1 + t tau^2)))^(t/2),

with ``V`` the (1/t) variance of the ``d`` and ``D = (mean - m)^2``. ``M_t(m)`` is a
nonnegative martingale under ``m`` for i.i.d. normal ``d`` whatever their variance, so by Ville's
inequality the set ``{m : M_t(m) < 1/alpha}`` misses the true mean at some look with probability
at most ``alpha``: an exact, finite-sample guarantee for normal log ratios, unknown variance. For
other shapes (recorded costs) it is approximate; the tests and BENCHMARKS.md measure it by
simulation. Solving ``M_t(m) = 1/alpha`` gives the interval below (``half_widths``).

The estimand is the mean log ratio: ``exp`` of it is the ratio of geometric means per query.
Decisions (frozen at the first look that makes them):

* **different**: the interval excludes 0 (ratio 1);
* **equivalent**: the interval lies inside ``[log(1 - margin), log(1 + margin)]``;
* otherwise still open; **undecided** when the queries (or ``--energy-max-queries``) run out.

Both decisions are errors only when the interval misses the truth, so one ``alpha`` bounds both.
Several pairs per metric share ``alpha`` by Bonferroni (the fixed-n statistics use Holm per
metric; Holm needs every p-value at once, which a sequential look does not have).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

METHOD = "sequential-t-confidence-sequence"
METHOD_TEXT = ("Lai's sequential t confidence sequence on per-query log ratios (scale-invariant normal "
               "mixture; Wang & Ramdas 2023), Bonferroni over pairs per metric")
# Positive per-query costs compared as ratios (correct/score are shares: not this method's scale).
SEQUENTIAL_METRICS = ("energy", "energy_per_token", "latency", "ttft", "tokens", "emissions")
DIFFERENT, EQUIVALENT, UNDECIDED = "different", "equivalent", "undecided"
MIN_QUERIES = 5          # no decision before 5 paired queries: the exact guarantee holds from 2, but coarse
                         # timers give a few identical early values, and 5 costs little
TUNING_FLOOR = 10        # the mixture is tuned to be tightest at half the planned queries, not before 10


@dataclass(frozen=True)
class Design:
    """Fixed before the first query: what the intervals mean and where they are tightest."""

    alpha: float              # per comparison (the session's alpha divided among the pairs of a metric)
    margin: float             # equivalence: the ratio within 1 - margin .. 1 + margin
    tau2: float               # prior variance of the standardised effect in the mixture

    @property
    def equivalence_bounds(self) -> tuple[float, float]:
        return math.log(1.0 - self.margin), math.log(1.0 + self.margin)


def design_for(alpha: float, margin: float, comparisons: int, planned_queries: int) -> Design:
    """The design of a run: ``alpha`` shared by ``comparisons`` pairs, tuned for the planned queries.

    The normal mixture's boundary is tightest near ``t* = (-2 log a + log(1 - 2 log a)) / tau^2``
    (the usual tuning of a normal mixture's width, Howard et al. 2021); ``t*`` is half the planned queries
    (the point of stopping early), at least ``TUNING_FLOOR``.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie between 0 and 1")
    if not 0 < margin < 1:
        raise ValueError("the equivalence margin must lie between 0 and 1 (e.g. 0.05 for ±5%)")
    per = alpha / max(1, comparisons)
    target = max(TUNING_FLOOR, planned_queries // 2)
    log_term = -2.0 * math.log(per)
    return Design(alpha=per, margin=margin, tau2=(log_term + math.log(1.0 + log_term)) / target)


def half_widths(t: NDArray[np.float64], variance: NDArray[np.float64], design: Design) -> NDArray[np.float64]:
    """The interval's half-width after ``t`` values whose (1/t) variance is ``variance``; vectorised.

    ``inf`` where the boundary cannot exclude anything yet (few values, or ``t < MIN_QUERIES``).
    """
    t = np.asarray(t, dtype=float)
    variance = np.clip(np.asarray(variance, dtype=float), 0.0, None)
    grow = 1.0 + t * design.tau2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_r = (2.0 / np.maximum(t, 1.0)) * (0.5 * np.log(grow) - math.log(design.alpha))
        r = np.exp(log_r)
        room = 1.0 - r / grow
        width = np.sqrt(variance * (r - 1.0) / room)
    return np.where((room > 0) & (t >= MIN_QUERIES), width, np.inf)


def running_intervals(d: NDArray[np.float64], design: Design
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Mean, low and high of the interval after each value along the last axis (vectorised)."""
    d = np.asarray(d, dtype=float)
    t = np.arange(1, d.shape[-1] + 1, dtype=float)
    mean = np.cumsum(d, axis=-1) / t
    variance = np.cumsum(d * d, axis=-1) / t - mean * mean
    width = half_widths(t, variance, design)
    return mean, mean - width, mean + width


def decision_codes(low: NDArray[np.float64], high: NDArray[np.float64], design: Design) -> NDArray[np.int8]:
    """1 different, 2 equivalent, 0 open, element-wise."""
    lower, upper = design.equivalence_bounds
    different = (low > 0) | (high < 0)
    equivalent = (low >= lower) & (high <= upper)
    return np.where(different, 1, np.where(equivalent, 2, 0)).astype(np.int8)


CODES = {0: UNDECIDED, 1: DIFFERENT, 2: EQUIVALENT}


@dataclass(frozen=True)
class Simulated:
    """First decisions of many simulated runs: codes (0 undecided) and the queries each took."""

    decisions: NDArray[np.int8]
    queries: NDArray[np.int64]

    def rate(self, name: str) -> float:
        code = {v: k for k, v in CODES.items()}[name]
        return float(np.mean(self.decisions == code))

    def median_queries(self, name: str) -> float | None:
        code = {v: k for k, v in CODES.items()}[name]
        chosen = self.queries[self.decisions == code]
        return float(np.median(chosen)) if chosen.size else None


def simulate(d: NDArray[np.float64], design: Design) -> Simulated:
    """Each row one run's log ratios in run order: its first decision and when (vectorised).

    A run that never decides is undecided after all its values.
    """
    d = np.atleast_2d(np.asarray(d, dtype=float))
    _, low, high = running_intervals(d, design)
    codes = decision_codes(low, high, design)
    decided = codes > 0
    first = np.where(decided.any(axis=1), decided.argmax(axis=1), d.shape[1] - 1)
    rows = np.arange(d.shape[0])
    return Simulated(decisions=np.where(decided.any(axis=1), codes[rows, first], 0).astype(np.int8),
                     queries=(first + 1).astype(np.int64))


# -- one run's monitor: pairs of models, looked at after every query block ---------------------

@dataclass
class PairState:
    """One (pair, metric) comparison during a run."""

    first: str
    second: str
    metric: str
    log_ratios: list[float] = field(default_factory=list)
    decision: str | None = None          # None while open
    after_queries: int | None = None     # query blocks looked at when decided (or at the end)
    ratio: float | None = None           # exp(mean log ratio): first / second, geometric mean per query
    ci: tuple[float, float] | None = None

    @property
    def pair(self) -> str:
        return f"{self.first} vs {self.second}"

    def to_dict(self) -> dict[str, object]:
        return {"pair": self.pair, "metric": self.metric, "decision": self.decision or UNDECIDED,
                "after_queries": self.after_queries, "ratio": self.ratio,
                "ci": None if self.ci is None else [_finite(v) for v in self.ci], "paired_queries": len(self.log_ratios)}


class Monitor:
    """Pairs of models on positive metrics, updated after each block with its values.

    ``look`` takes one block: per metric, model -> the block's value (a model without a
    positive value simply gives its pairs no pair for that query).
    """

    def __init__(self, models: Sequence[str], metrics: Sequence[str], alpha: float, margin: float,
                 planned_queries: int) -> None:
        pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
        self.design = design_for(alpha, margin, len(pairs), planned_queries)
        self.session_alpha = alpha
        self.states = [PairState(a, b, metric) for metric in metrics for a, b in pairs]
        self.looks = 0

    @property
    def decided(self) -> bool:
        """Every pair decided (no pairs: nothing to decide, so never "decided": the run goes on)."""
        return bool(self.states) and all(state.decision is not None for state in self.states)

    def done_models(self) -> set[str]:
        """Models every one of whose pairs is decided: measuring them further would change nothing.

        (Stopping a model keeps the other pairs' guarantee: each interval holds at any stopping time.)
        """
        models = {state.first for state in self.states} | {state.second for state in self.states}
        return {m for m in models if all(s.decision is not None for s in self.states if m in (s.first, s.second))}

    def look(self, block: Mapping[str, Mapping[str, float]]) -> list[PairState]:
        """Add one block's values; return the pairs this look decided."""
        self.looks += 1
        newly = []
        for state in self.states:
            if state.decision is not None:
                continue
            values = block.get(state.metric, {})
            a, b = values.get(state.first), values.get(state.second)
            if a is not None and b is not None and a > 0 and b > 0:
                state.log_ratios.append(math.log(a) - math.log(b))
            mean, low, high = self._interval(state.log_ratios)
            if mean is None:
                continue
            code = int(decision_codes(np.array(low), np.array(high), self.design))
            self._set(state, mean, low, high)
            if code:
                state.decision, state.after_queries = CODES[code], self.looks
                newly.append(state)
        return newly

    def finish(self) -> None:
        """The queries ran out: every open pair is undecided, with its last interval."""
        for state in self.states:
            if state.decision is None:
                state.decision, state.after_queries = UNDECIDED, self.looks

    def _interval(self, values: Sequence[float]) -> tuple[float | None, float, float]:
        if not values:
            return None, -math.inf, math.inf
        mean, low, high = running_intervals(np.array(values, dtype=float), self.design)
        return float(mean[-1]), float(low[-1]), float(high[-1])

    @staticmethod
    def _set(state: PairState, mean: float, low: float, high: float) -> None:
        state.ratio = math.exp(mean)
        state.ci = (_exp(low), _exp(high))

    def to_dict(self) -> dict[str, object]:
        return {"method": METHOD, "method_text": METHOD_TEXT, "alpha": self.session_alpha,
                "alpha_per_pair": self.design.alpha, "equivalence_margin": self.design.margin,
                "tau2": self.design.tau2, "looks": self.looks,
                "pairs": [state.to_dict() for state in self.states]}


def _finite(value: float) -> float | None:
    """JSON has no infinity: an unbounded side is null."""
    return value if math.isfinite(value) else None


def _exp(value: float) -> float:
    """exp, with an infinite bound kept as 0 or infinity (JSON writers store those as null)."""
    return 0.0 if value == -math.inf else math.inf if value == math.inf else math.exp(value)

