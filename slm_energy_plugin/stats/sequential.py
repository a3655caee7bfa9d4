"""Sequential verdicts: always-valid intervals for paired log ratios (pure: numpy and scipy, no I/O).

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
* **undecided**, reason ``futile``: neither is reachable by the planned end (below);
* otherwise still open; **undecided** when the queries (or ``--energy-max-queries``) run out.

Both decisions are errors only when the interval misses the truth, so one ``alpha`` bounds both.

Several pairs per metric share ``alpha`` by Bonferroni (the fixed-n statistics use Holm per
metric; Holm needs every p-value at once, which a sequential look does not have).

Futility stop. A pair whose true ratio is a little off 1 (1.06, say) under noisy per-query costs
(sd of the log ratio ~0.6) is neither "different" nor "equivalent within ±5 %" after any number
of queries the run has: its interval stays too wide for the margin and too wide to exclude 1, so
without a futility rule it keeps both models running to the end, and every query is spent on a
verdict that will be "undecided" anyway. At each look from ``futility_from`` paired queries on (a
quarter of the planned queries, at least ``TUNING_FLOOR``: the mean and variance must be estimated
on enough values first), each open pair's *predictive power* is computed (Spiegelhalter, Freedman
& Blackburn 1986; Proschan, Lan & Wittes 2006, ch. 3): the chance, averaged over what the values
so far say about the true mean (normal around the current mean ``m``, variance ``s^2 / t``), that
the interval after the planned ``N`` queries excludes 0 or fits inside the margin. The final mean
is then normal around ``m`` with variance ``s^2 (N - t) / (N t)``, and the final half-width is
``half_widths(N, s^2)``. Below ``FUTILITY_POWER`` (5 %) the pair stops as **undecided**, reason
``futile``, with the projected final interval. The projection reads only the final look, a
slight underestimate of the chance to decide at some look before it.

Why predictive power, a quarter and 5 %: a first version used conditional power under the
current trend (the current mean taken as the truth, variance ``s^2 (N - t) / N^2``). It treats an
early estimate as exact, and in a real run of the default suite it stopped tiny-phi vs tiny-qwen2
(0.66x over all 56 queries) as futile after 18 queries whose mean happened to read 0.86x.
Predictive power keeps the estimate's own uncertainty. Swept on resampled recorded costs of the
tiny models (sd of the log ratio ~0.6, 56 queries): judging from a quarter at 5 % stops A/A pairs
after 23 of 56 queries on average and still finds 1.5x in 94 % of runs, 1.25x in 45 % (without
the stop: 96 % and 49 %, after all 56); the current-trend rule cost about twice that power for ~2
fewer queries, and 10 % instead of 5 % cost agreement with the full run's verdicts for 1-2 % fewer
queries. Tuning the mixture to a third or a quarter of the plan instead of half changed nothing
measurable. Tables: BENCHMARKS.md, "Sequential verdicts".

Why the error control is kept: the futility stop never *makes* a "different" or "equivalent"
decision; it only ends a pair's monitoring at a look chosen from the data seen so far (a stopping
time). The confidence sequence covers the truth at every look at once, so a wrong decision still
needs a miss, and stopping earlier only removes chances of one: the A/A "different" rate with
futility is at most the rate without it (<= alpha). It costs power, not validity: a real difference
whose first queries look small may stop as undecided (measured in BENCHMARKS.md, with futility on
and off). ``--energy-futility off`` runs such pairs to the end.

A model that stops answering. A model whose queries all error (a served model whose server is
down) gives its pairs no values, so they could never be decided, and before this rule they kept
the models paired with it measuring to the last query (and the dead server cost a timeout per
query). A model whose last ``NO_VALUES_AFTER`` (= ``MIN_QUERIES``, 5) queries in a row all
errored (no counted outcome) ends each of its open pairs as **undecided**, reason ``no values``;
it then has no open pair, so it stops being asked, and the models paired with it are held only by
their other pairs. Why 5 in a row: it is the number of paired values before which no verdict is
made at all, so a model dead from the first query costs its partners nothing beyond the earliest
possible verdict; and it is a run, not a share, because pairing already skips queries that errored:
a model erroring on some queries only (one in five at random ends a 56-query run this way with a
chance of about 1 %) keeps its pairs open on the queries it answered. Like the futility stop it never
makes a "different" or "equivalent" decision, so the error control is untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

METHOD = "sequential-t-confidence-sequence"
METHOD_TEXT = ("Lai's sequential t confidence sequence on per-query log ratios (scale-invariant normal "
               "mixture; Wang & Ramdas 2023), Bonferroni over pairs per metric")
# Positive per-query costs compared as ratios (correct/score are shares: not this method's scale).
SEQUENTIAL_METRICS = ("energy", "energy_per_token", "latency", "ttft", "tokens", "emissions")
DIFFERENT, EQUIVALENT, UNDECIDED = "different", "equivalent", "undecided"
MIN_QUERIES = 5          # no decision before 5 paired queries: the exact guarantee holds from 2, but coarse
                         # timers give a few identical early values, and 5 costs little
TUNING_FLOOR = 10        # the mixture is tuned to be tightest at half the planned queries, not before 10
FUTILITY_POWER = 0.05    # an open pair with less predictive power than this stops as undecided ("futile")
FUTILE = 3               # simulate()'s code for a run that stopped as futile (undecided)
NO_VALUES_AFTER = MIN_QUERIES   # a model whose last 5 queries in a row all errored gives its open pairs no more values
# Why a pair ended (run.json ``reason``): the decision's own, or why it stayed undecided.
FUTILE_REASON = "futile"
NO_VALUES = "no values"  # one model of the pair errored on NO_VALUES_AFTER queries in a row: it stopped being asked
REASONS = {1: "excludes 1", 2: "inside margin", FUTILE: FUTILE_REASON}
RAN_OUT, MAX_REACHED = "queries ran out", "max queries reached"


@dataclass(frozen=True)
class Design:
    """Fixed before the first query: what the intervals mean and where they are tightest."""

    alpha: float              # per comparison (the session's alpha divided among the pairs of a metric)
    margin: float             # equivalence: the ratio within 1 - margin .. 1 + margin
    tau2: float               # prior variance of the standardised effect in the mixture
    planned: int = 0          # the queries planned (available, or --energy-max-queries): the futility horizon
    futility: bool = True     # stop a pair as undecided when neither verdict is reachable by ``planned``

    @property
    def futility_from(self) -> int:
        """The first paired query at which futility is judged: a quarter of the plan, at least TUNING_FLOOR."""
        return max(TUNING_FLOOR, self.planned // 4)

    @property
    def equivalence_bounds(self) -> tuple[float, float]:
        return math.log(1.0 - self.margin), math.log(1.0 + self.margin)


def design_for(alpha: float, margin: float, comparisons: int, planned_queries: int, futility: bool = True) -> Design:
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
    return Design(alpha=per, margin=margin, tau2=(log_term + math.log(1.0 + log_term)) / target,
                  planned=planned_queries, futility=futility)


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


def predictive_power(t: NDArray[np.float64], mean: NDArray[np.float64], variance: NDArray[np.float64],
                      total: NDArray[np.float64] | float, design: Design
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Predictive chance of a verdict at the final look, and the projected half-width (vectorised).

    ``t`` values so far with mean ``mean`` and (1/t) variance ``variance``; ``total`` values at the
    planned end. The true mean is taken as normal around ``mean`` with variance ``s^2 / t`` (the
    sample variance ``s^2`` taken as known), so the final mean is normal around ``mean`` with
    variance ``s^2 (total - t) / (total t)``; the final half-width is ``half_widths(total, s^2)``.
    Returns P(final interval excludes 0) + P(it lies inside the margin) (at most 1), and that
    half-width.
    """
    t = np.asarray(t, dtype=float)
    mean = np.asarray(mean, dtype=float)
    end: NDArray[np.float64] = np.maximum(np.asarray(total, dtype=float), t)
    s2 = np.clip(np.asarray(variance, dtype=float), 0.0, None) * t / np.maximum(t - 1.0, 1.0)
    width = half_widths(end, s2, design)
    spread = np.maximum(np.sqrt(s2 * (end - t) / (np.maximum(end, 1.0) * np.maximum(t, 1.0))), 1e-12)
    lower, upper = design.equivalence_bounds
    with np.errstate(invalid="ignore"):
        different = ndtr((mean - width) / spread) + ndtr((-width - mean) / spread)
        inside = np.where(upper - width > lower + width,
                          ndtr((upper - width - mean) / spread) - ndtr((lower + width - mean) / spread), 0.0)
    power = np.nan_to_num(different, nan=0.0) + np.nan_to_num(inside, nan=0.0)
    return np.minimum(power, 1.0), width


def futile_flags(t: NDArray[np.float64], power: NDArray[np.float64], total: NDArray[np.float64] | float,
                 design: Design) -> NDArray[np.bool_]:
    """Where an open pair stops as futile: futility on, enough values, queries left, too little power."""
    t = np.asarray(t, dtype=float)
    return (design.futility & (t >= design.futility_from) & (t < np.asarray(total, dtype=float))
            & (np.asarray(power) < FUTILITY_POWER))


def decision_codes(low: NDArray[np.float64], high: NDArray[np.float64], design: Design) -> NDArray[np.int8]:
    """1 different, 2 equivalent, 0 open, element-wise."""
    lower, upper = design.equivalence_bounds
    different = (low > 0) | (high < 0)
    equivalent = (low >= lower) & (high <= upper)
    return np.where(different, 1, np.where(equivalent, 2, 0)).astype(np.int8)


CODES = {0: UNDECIDED, 1: DIFFERENT, 2: EQUIVALENT}


@dataclass(frozen=True)
class Simulated:
    """First decisions of many simulated runs: codes (0 undecided at the end, 3 futile) and the queries each took."""

    decisions: NDArray[np.int8]
    queries: NDArray[np.int64]

    def rate(self, name: str) -> float:
        """Share of runs ending ``name``: different, equivalent, undecided (at the end) or futile."""
        return float(np.mean(self.decisions == _SIMULATED[name]))

    def median_queries(self, name: str) -> float | None:
        chosen = self.queries[self.decisions == _SIMULATED[name]]
        return float(np.median(chosen)) if chosen.size else None

    @property
    def mean_queries(self) -> float:
        """The queries a pair cost on average, whatever it ended as: what the run spends."""
        return float(np.mean(self.queries))


_SIMULATED = {UNDECIDED: 0, DIFFERENT: 1, EQUIVALENT: 2, REASONS[FUTILE]: FUTILE}


def simulate(d: NDArray[np.float64], design: Design) -> Simulated:
    """Each row one run's log ratios in run order: its first decision and when (vectorised).

    The futility horizon is the row's length (``design.planned`` is the plan the design was tuned
    for; a simulation plans all its values). A run that never decides nor stops as futile is
    undecided after all its values.
    """
    d = np.atleast_2d(np.asarray(d, dtype=float))
    mean, low, high = running_intervals(d, design)
    codes = decision_codes(low, high, design)
    t = np.arange(1, d.shape[-1] + 1, dtype=float)
    variance = np.cumsum(d * d, axis=-1) / t - mean * mean
    power, _ = predictive_power(t, mean, variance, float(d.shape[-1]), design)
    codes = np.where(codes > 0, codes, np.where(futile_flags(t, power, float(d.shape[-1]), design),
                                                FUTILE, 0)).astype(np.int8)
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
    reason: str | None = None            # why it ended: REASONS, NO_VALUES, RAN_OUT or MAX_REACHED
    predictive_power: float | None = None            # at the last look (None before futility is judged)
    projected_ci: tuple[float, float] | None = None  # the final interval projected at that look

    @property
    def pair(self) -> str:
        return f"{self.first} vs {self.second}"

    def to_dict(self) -> dict[str, object]:
        return {"pair": self.pair, "metric": self.metric, "decision": self.decision or UNDECIDED,
                "after_queries": self.after_queries, "ratio": self.ratio,
                "ci": None if self.ci is None else [_finite(v) for v in self.ci], "paired_queries": len(self.log_ratios),
                "reason": self.reason, "predictive_power": self.predictive_power,
                "projected_ci": None if self.projected_ci is None else [_finite(v) for v in self.projected_ci]}


class Monitor:
    """Pairs of models on positive metrics, updated after each block with its values.

    ``look`` takes one block: per metric, model -> the block's value (a model without a
    positive value simply gives its pairs no pair for that query), and which models answered
    (model -> True when at least one of its queries in the block had a counted outcome, False when
    every one errored; a model that did not run is absent).
    """

    def __init__(self, models: Sequence[str], metrics: Sequence[str], alpha: float, margin: float,
                 planned_queries: int, futility: bool = True) -> None:
        pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
        self.design = design_for(alpha, margin, len(pairs), planned_queries, futility)
        self.session_alpha = alpha
        self.states = [PairState(a, b, metric) for metric in metrics for a, b in pairs]
        self.looks = 0
        self.errors_in_a_row: dict[str, int] = {}
        self.no_values: dict[str, int] = {}     # model -> the look at which its errors ended its pairs

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

    def look(self, block: Mapping[str, Mapping[str, float]],
             answered: Mapping[str, bool] | None = None) -> list[PairState]:
        """Add one block's values; return the pairs this look ended (futile and no values included)."""
        self.looks += 1
        silent = self._count_errors(answered or {})
        newly = []
        for state in self.states:
            if state.decision is not None:
                continue
            if silent & {state.first, state.second}:
                state.decision, state.after_queries, state.reason = UNDECIDED, self.looks, NO_VALUES
                newly.append(state)
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
            if not code and self._futile(state, mean):
                code = FUTILE
            if code:
                state.decision, state.after_queries = CODES.get(code, UNDECIDED), self.looks
                state.reason = REASONS[code]
                newly.append(state)
        return newly

    def _count_errors(self, answered: Mapping[str, bool]) -> set[str]:
        """Models whose last NO_VALUES_AFTER queries in a row all errored, as of this look."""
        for model, ok in answered.items():
            self.errors_in_a_row[model] = 0 if ok else self.errors_in_a_row.get(model, 0) + 1
            if self.errors_in_a_row[model] >= NO_VALUES_AFTER:
                self.no_values.setdefault(model, self.looks)
        return {model for model, look in self.no_values.items() if look == self.looks}

    def _futile(self, state: PairState, mean: float) -> bool:
        """Judge futility on the pair's values: the plan's remaining looks may each add one."""
        t = len(state.log_ratios)
        if not self.design.futility or t < self.design.futility_from:
            return False
        total = t + max(0, self.design.planned - self.looks)
        values = np.array(state.log_ratios, dtype=float)
        power, width = predictive_power(np.array(float(t)), np.array(mean), np.array(float(values.var())),
                                         float(total), self.design)
        state.predictive_power = float(power)
        state.projected_ci = (_exp(mean - float(width)), _exp(mean + float(width)))
        return bool(futile_flags(np.array(float(t)), power, float(total), self.design))

    def finish(self, reason: str = RAN_OUT) -> None:
        """The queries ran out (or the cap was reached): every open pair is undecided, with its last interval."""
        for state in self.states:
            if state.decision is None:
                state.decision, state.after_queries, state.reason = UNDECIDED, self.looks, reason

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
                "tau2": self.design.tau2, "looks": self.looks, "futility": self.design.futility,
                "futility_power": FUTILITY_POWER, "futility_from": self.design.futility_from,
                "no_values_after": NO_VALUES_AFTER, "models_no_values": dict(self.no_values),
                "pairs": [state.to_dict() for state in self.states]}


def _finite(value: float) -> float | None:
    """JSON has no infinity: an unbounded side is null."""
    return value if math.isfinite(value) else None


def _exp(value: float) -> float:
    """exp, with an infinite bound kept as 0 or infinity (JSON writers store those as null)."""
    return 0.0 if value == -math.inf else math.inf if value == math.inf else math.exp(value)

