"""Statistics that tell whether a difference between models is real.

Pure (numpy + scipy, no pytest, no I/O). Input: ``{model alias: {query id: value}}``,
what :func:`slm_energy_plugin.results.metrics.values_by_model` returns. Every model answers
the same queries, so the design is paired; both views are reported:

- unpaired, on every value: Kruskal–Wallis H across models, Mann–Whitney U per pair;
- paired, on the queries the models share: Friedman chi² (with Kendall's W) across
  models, Wilcoxon signed-rank per pair, and the Hodges–Lehmann ratio with its CI;
- right/wrong answers (0/1): Wilson CI of accuracy, McNemar per pair, Cochran's Q.

Pairwise p-values are Holm-adjusted within each test family. Where a number cannot
be had (too few values, all tied, nothing shared, non-finite input, one model) the
result carries ``reason`` instead: never a crash, never an invented p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np

from . import hodges_lehmann as hl
from .rank_tests import WILCOXON, friedman, kruskal, mann_whitney, mann_whitney_sorted, wilcoxon
from .binary import Accuracy, accuracy, cochran_q, discordant_columns, mcnemar_from_counts
from .types import StatResult, holm
from ..number_format import plural

__all__ = [
    "BOOTSTRAP_RESAMPLES", "BOOTSTRAP_SEED", "Accuracy", "Comparison", "ModelSummary",
    "PairComparison", "Shift", "StatResult", "ValueTable", "compare_models", "compare_table", "holm", "summarize",
]

# Percentile bootstrap of the median with a fixed seed. 10,000 resamples: the 2.5% and
# 97.5% points then rest on 250 resamples each. Drawn through order statistics (see
# bootstrap_medians), 10,000 resamples of 10,000 values take about a millisecond.
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20240531


@dataclass(frozen=True)
class ModelSummary:
    """Location and spread of one model's values; CI = bootstrap 95% CI of the median."""

    model: str
    n: int
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    mean: float | None = None
    std: float | None = None          # sample standard deviation (ddof=1)
    ci_low: float | None = None
    ci_high: float | None = None
    dropped: int = 0                  # non-finite values left out
    reason: str | None = None         # why some figures are missing


@dataclass(frozen=True)
class Shift:
    """Hodges–Lehmann estimate of how model a relates to model b.

    ``kind == "ratio"``: a's values are ``estimate`` times b's (HL shift of log values,
    exponentiated), for metrics that are positive. ``kind == "difference"``: a - b in
    the metric's unit, when some value is zero or negative.
    """

    kind: str
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    confidence: float | None = None   # achieved confidence of [low, high]
    n: int = 0
    paired: bool = False
    method: str = ""
    reason: str | None = None


@dataclass(frozen=True)
class PairComparison:
    """Model a against model b (a listed first); effects > 0 mean a's values are larger."""

    a: str
    b: str
    n_a: int
    n_b: int
    n_shared: int                     # query ids both models have a value for
    mann_whitney: StatResult | None = None
    wilcoxon: StatResult | None = None
    shift: Shift | None = None
    mcnemar: StatResult | None = None
    discordant: tuple[int, int] | None = None   # right only for a, right only for b (binary)
    scale: str = "raw"                # values the tests and the shift used: "log" or "raw"
    difference: Shift | None = None   # HL difference a - b in the metric's unit (for reading)
    agreement: str | None = None      # set when the test and the CI on the same scale disagree

    @property
    def paired(self) -> bool:
        return self.n_shared > 0

    @property
    def tests(self) -> tuple[StatResult, ...]:
        return tuple(t for t in (self.mann_whitney, self.wilcoxon, self.mcnemar) if t is not None)


@dataclass(frozen=True)
class Comparison:
    """Everything :func:`compare_models` found for one metric."""

    binary: bool
    alpha: float
    models: tuple[str, ...]
    n_common: int                     # queries every model has a value for
    summaries: tuple[ModelSummary, ...] = ()
    accuracies: tuple[Accuracy, ...] = ()
    omnibus: tuple[StatResult, ...] = ()
    pairs: tuple[PairComparison, ...] = ()
    notes: tuple[str, ...] = ()
    bootstrap_resamples: int = BOOTSTRAP_RESAMPLES
    bootstrap_seed: int = BOOTSTRAP_SEED

    def pair(self, a: str, b: str) -> PairComparison:
        for p in self.pairs:
            if (p.a, p.b) == (a, b) or (p.a, p.b) == (b, a):
                return p
        raise KeyError(f"no pair {a!r} / {b!r}")


def _clean(values: Mapping[str, Mapping[str, float]]) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
    """Finite float values only; how many were dropped per model."""
    clean: dict[str, dict[str, float]] = {}
    dropped: dict[str, int] = {}
    for model, per_query in values.items():
        clean[str(model)], dropped[str(model)] = _finite(per_query)
    return clean, dropped


def _finite(per_query: Mapping[str, float]) -> tuple[dict[str, float], int]:
    """One model's finite values as floats (keys as text), and how many were left out."""
    numbers = np.asarray(list(per_query.values()))
    if numbers.dtype.kind not in "biuf":     # text, None, objects: each value on its own
        return _finite_one_by_one(per_query)
    # Numbers only (the usual case): converted and checked at once, as float() would one by one.
    as_float = numbers.astype(float)
    finite = np.isfinite(as_float)
    keys = [q if type(q) is str else str(q) for q in per_query]
    floats = as_float.tolist()
    if finite.all():
        return dict(zip(keys, floats)), 0
    return {q: v for q, v, ok in zip(keys, floats, finite.tolist()) if ok}, int(np.count_nonzero(~finite))


def _finite_one_by_one(per_query: Mapping[str, float]) -> tuple[dict[str, float], int]:
    kept: dict[str, float] = {}
    bad = 0
    for qid, value in per_query.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            bad += 1
            continue
        if math.isfinite(number):
            kept[str(qid)] = number
        else:
            bad += 1
    return kept, bad


def bootstrap_medians(sorted_values: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                      seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Medians of ``resamples`` bootstrap resamples of ``sorted_values`` (ascending, n >= 1).

    Drawn through order statistics: resampling n values with replacement picks sorted
    positions floor(n U_i) for uniform U_i, so the k-th smallest resampled value is the
    value at position floor(n U_(k)) with U_(k) ~ Beta(k, n - k + 1); for even n the next
    one is the least of the n - k uniforms above U_(k). Same distribution, O(1) each.
    """
    x = sorted_values
    n = len(x)
    rng = np.random.default_rng(seed)

    def value(u: np.ndarray) -> np.ndarray:
        return x[np.minimum((u * n).astype(np.intp), n - 1)]

    k = (n + 1) // 2
    u_k = rng.beta(k, n - k + 1, resamples)
    if n % 2:
        return value(u_k)
    u_next = u_k + (1.0 - u_k) * rng.beta(1, n - k, resamples)
    mid: np.ndarray = (value(u_k) + value(u_next)) / 2.0
    return mid


def bootstrap_median_ci(sorted_values: np.ndarray, confidence: float = 0.95,
                        resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap CI of the median (same seed for every model: reproducible,
    and independent of which other models are compared)."""
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(bootstrap_medians(sorted_values, resamples, seed), [tail, 1.0 - tail])
    return float(low), float(high)


def summarize(model: str, values: Sequence[float], dropped: int = 0, *, confidence: float = 0.95,
              resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> ModelSummary:
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    note = f"; {plural(dropped, 'non-finite value')} left out" if dropped else ""
    if n == 0:
        return ModelSummary(model, 0, dropped=dropped, reason="no values" + note)
    q1, median, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    base = ModelSummary(model, n, float(median), float(q1), float(q3), float(np.mean(x)), dropped=dropped)
    if n < 2:
        return replace(base, reason="only 1 value: no standard deviation or CI" + note)
    low, high = bootstrap_median_ci(x, confidence, resamples, seed)
    return replace(base, std=float(np.std(x, ddof=1)), ci_low=low, ci_high=high,
                   reason=note[2:] or None)


def on_log_scale(*columns: np.ndarray) -> bool:
    """Positive metrics are compared on log values (ratios); anything else on raw values."""
    return all(bool(np.all(c > 0)) for c in columns)


def shift(x: np.ndarray, y: np.ndarray, paired: bool, alpha: float, *, raw: bool = False,
          logs: tuple[np.ndarray, np.ndarray] | None = None) -> Shift:
    """HL ratio a/b on log values when all are positive (and not ``raw``), else HL difference a - b.

    ``logs``: np.log of x and y where the caller has them already."""
    positive = on_log_scale(x, y) and not raw
    kind = "ratio" if positive else "difference"
    how = "paired (Walsh averages of per-query" if paired else "unpaired (all pairwise"
    method = f"Hodges-Lehmann, {how} {'log ratios' if positive else 'differences'})"
    base = Shift(kind, n=len(x) if paired else len(x) + len(y), paired=paired, method=method)
    if min(len(x), len(y)) < 2:
        return replace(base, reason="needs at least 2 values per model" if not paired
                       else "needs at least 2 shared queries")
    lx, ly = (logs if logs is not None else (np.log(x), np.log(y))) if positive else (x, y)
    est = hl.paired_shift(lx - ly, alpha) if paired else hl.two_sample_shift(lx, ly, alpha)
    with np.errstate(over="ignore"):
        numbers = [float(np.exp(v)) if positive else float(v) for v in (est.estimate, est.low, est.high)]
    if not all(math.isfinite(v) and (v > 0 or not positive) for v in numbers):
        return replace(base, reason="the ratio is beyond floating-point range")
    return replace(base, estimate=numbers[0], low=numbers[1], high=numbers[2], confidence=est.confidence,
                   method=f"{method}, {est.method}")


def excludes_null(sh: Shift | None) -> bool | None:
    """Whether the shift's CI leaves out "no difference" (ratio 1, difference 0)."""
    if sh is None or sh.low is None or sh.high is None:
        return None
    null = 1.0 if sh.kind == "ratio" else 0.0
    return not sh.low <= null <= sh.high


def agreement_note(test: StatResult, sh: Shift | None, alpha: float) -> str | None:
    """Says so when the test (unadjusted p) and the CI on the same scale disagree.

    They are built from the same signed ranks, so they disagree only through discreteness: the
    CI's ranks come from the exact null distribution (no ties), while the test drops zero
    differences and corrects for ties, and an exact CI reaches a confidence >= 1 - alpha.
    """
    rejects = None if test.p_value is None else test.p_value < alpha   # the CI is per pair: unadjusted p
    excluded = excludes_null(sh)
    if rejects is None or excluded is None or rejects == excluded:
        return None
    assert sh is not None
    what = "ratio" if sh.kind == "ratio" else "difference"
    return (f"{test.test} p = {test.p_value:.3g} {'<' if rejects else '>='} {alpha:g} but the {what} CI "
            f"{'excludes' if excluded else 'includes'} {'1' if sh.kind == 'ratio' else '0'}: a borderline "
            "case (discreteness of the exact ranks, ties or zero differences)")


@dataclass(frozen=True)
class _Column:
    """One model's column of the query table, with what every pair it is in asks of it: worked out
    once per model instead of once per pair (9 pairs each for 10 models)."""

    values: np.ndarray      # per query id, NaN where the model has none
    has: np.ndarray         # where it has a value
    logs: np.ndarray        # np.log(values), read only where the values used are all positive
    ranked: np.ndarray      # its values, sorted: log values when all are positive (the unpaired scale)
    positive: bool          # every value > 0

    @classmethod
    def of(cls, values: np.ndarray) -> "_Column":
        has = ~np.isnan(values)
        present = values[has]
        positive = on_log_scale(present)
        with np.errstate(divide="ignore", invalid="ignore"):   # zero or negative: logs not read
            logs = np.log(values)
        # The log of each value as np.log(present) gives it (elementwise: the same numbers).
        return cls(values, has, logs, np.sort(logs[has] if positive else present), positive)


def _pair(a: str, b: str, col_a: _Column, col_b: _Column, alpha: float) -> PairComparison:
    """Model a against b from their columns of the query table (NaN = no value).

    One scale per row: the tests, their effect sizes and the HL ratio are computed on the same
    values, log values when every value is positive (so the Wilcoxon test is on per-query log
    ratios, the statistic the ratio's CI inverts), raw values otherwise. The HL difference in the
    metric's unit is given beside the ratio, for reading only.
    """
    shared = col_a.has & col_b.has
    n_shared = int(shared.sum())
    if n_shared:
        pa, pb = col_a.values[shared], col_b.values[shared]
        log = on_log_scale(pa, pb)
        logs = (col_a.logs[shared], col_b.logs[shared]) if log else None
        wil = wilcoxon(*(logs if logs is not None else (pa, pb)))
        sh = shift(pa, pb, paired=True, alpha=alpha, logs=logs)
        diff = shift(pa, pb, paired=True, alpha=alpha, raw=True) if log else sh
        note = agreement_note(wil, sh, alpha)
    else:
        xa, xb = col_a.values[col_a.has], col_b.values[col_b.has]
        wil = StatResult(WILCOXON, statistic_name="T", paired=True,
                         reason="no shared query ids: only the unpaired test applies")
        sh = shift(xa, xb, paired=False, alpha=alpha)
        log = on_log_scale(xa, xb)
        diff = shift(xa, xb, paired=False, alpha=alpha, raw=True) if log else sh
        note = None
    # Mann-Whitney U is rank-based: on log values it gives the same U and p as on raw values,
    # and it is computed on the same values as the unpaired HL ratio for that reason. Both
    # columns' values come sorted (on log values when both are all positive).
    if col_a.positive == col_b.positive:
        mwu = mann_whitney_sorted(col_a.ranked, col_b.ranked)
    else:   # one column has a value <= 0: both on raw values
        xa, xb = col_a.values[col_a.has], col_b.values[col_b.has]
        mwu = mann_whitney(xa, xb)
    if not n_shared:
        note = agreement_note(mwu, sh, alpha)
    return PairComparison(a, b, int(col_a.has.sum()), int(col_b.has.sum()), n_shared, mwu, wil, sh,
                          scale="log" if log else "raw", difference=diff, agreement=note)


def _holm_family(pairs: list[PairComparison], attr: str) -> list[PairComparison]:
    results = [getattr(p, attr) for p in pairs]
    adjusted = holm([None if r is None else r.p_value for r in results])
    return [p if r is None else replace(p, **{attr: replace(r, p_holm=q)})
            for p, r, q in zip(pairs, results, adjusted)]


@dataclass(frozen=True)
class ValueTable:
    """Every model's finite values of one metric as a table: a row per query id (sorted as text),
    a column per model, NaN where a model has none; what :func:`compare_models` builds from
    ``{model: {query id: value}}`` and compares. ``dropped``: non-finite values left out per model."""

    models: tuple[str, ...]
    table: np.ndarray
    dropped: Mapping[str, int]

    def has_values(self) -> bool:
        """Whether any model has a value (a non-finite one counts: it is said to be left out)."""
        return bool(np.any(~np.isnan(self.table))) or any(self.dropped.values())


def compare_models(values: Mapping[str, Mapping[str, float]], *, binary: bool = False,
                   alpha: float = 0.05, bootstrap_resamples: int = BOOTSTRAP_RESAMPLES,
                   seed: int = BOOTSTRAP_SEED) -> Comparison:
    """All statistics for one metric. ``binary``: values are 1 (right) / 0 (wrong)."""
    clean, dropped = _clean(values)
    models = tuple(clean)
    odd_notes = []
    if binary:
        for m, per_query in clean.items():
            odd = [q for q, v in per_query.items() if v not in (0.0, 1.0)]
            if odd:
                odd_notes.append(f"{m}: {plural(len(odd), 'value')} neither 0 nor 1 left out (e.g. {odd[0]})")
                clean[m] = {q: v for q, v in per_query.items() if v in (0.0, 1.0)}
    # One row per query id, one column per model, NaN where a model has no value.
    ids = sorted(set().union(*clean.values()))
    row = {q: i for i, q in enumerate(ids)}
    table = np.full((len(ids), len(models)), np.nan)
    for j, m in enumerate(models):
        table[[row[q] for q in clean[m]], j] = list(clean[m].values())
    return compare_table(ValueTable(models, table, dropped), binary=binary, alpha=alpha,
                         bootstrap_resamples=bootstrap_resamples, seed=seed, notes=odd_notes)


def compare_table(values: ValueTable, *, binary: bool = False, alpha: float = 0.05,
                  bootstrap_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                  notes: Sequence[str] = ()) -> Comparison:
    """:func:`compare_models` on values already in a table (binary: every value 0 or 1)."""
    models, table, dropped = values.models, values.table, values.dropped
    all_notes = [f"{m}: {plural(c, 'non-finite value')} left out" for m, c in dropped.items() if c] + list(notes)
    if len(models) < 2:
        all_notes.append("only one model: nothing to compare" if models else "no models")
    common = table[~np.isnan(table).any(axis=1)]
    base = Comparison(binary, alpha, models, len(common), notes=tuple(all_notes),
                      bootstrap_resamples=bootstrap_resamples, bootstrap_seed=seed)
    columns = [table[~np.isnan(table[:, j]), j] for j in range(len(models))]
    if binary:
        pairs = []
        for i, j in combinations(range(len(models)), 2):
            # Counted on the table's columns: 45 pairs of 10 models.
            shared, only_a, only_b = discordant_columns(table[:, i], table[:, j])
            a, b = models[i], models[j]
            pairs.append(PairComparison(a, b, len(columns[i]), len(columns[j]), shared,
                                        mcnemar=mcnemar_from_counts(shared, only_a, only_b),
                                        discordant=(only_a, only_b)))
        return replace(base, accuracies=tuple(accuracy(m, columns[j].tolist(), alpha) for j, m in enumerate(models)),
                       omnibus=(cochran_q(common),), pairs=tuple(_holm_family(pairs, "mcnemar")))
    groups = dict(zip(models, columns))
    summaries = tuple(summarize(m, groups[m], dropped[m], confidence=1 - alpha,
                                resamples=bootstrap_resamples, seed=seed) for m in models)
    model_columns = [_Column.of(table[:, j]) for j in range(len(models))]
    pairs = [_pair(models[i], models[j], model_columns[i], model_columns[j], alpha)
             for i, j in combinations(range(len(models)), 2)]
    pairs = _holm_family(_holm_family(pairs, "mann_whitney"), "wilcoxon")
    return replace(base, summaries=summaries, omnibus=(kruskal(groups), friedman(common)), pairs=tuple(pairs))
