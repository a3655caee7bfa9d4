"""Two models' right/wrong answers on the same queries: the paired difference in accuracy (pure).

- the difference in accuracy (candidate - reference) with Newcombe's (1998, method 10)
  hybrid score interval for paired proportions, built from the two Wilson intervals and the
  correlation of the 2x2 table; on the proportion scale;
- McNemar's test on the discordant pairs (``stats.binary.mcnemar``: exact binomial below 25
  discordant pairs, else chi-squared with continuity correction), two-sided.

Used by the fine-tuning trade-off (finetune/) and the lm-eval per-task pairs (quality/), which is
why it lives here rather than in either of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from .binary import mcnemar, wilson_interval

CI_METHOD = "Newcombe hybrid score interval for paired proportions (method 10)"


@dataclass(frozen=True)
class PairedAccuracy:
    """Two models' right/wrong answers on one task's shared queries."""

    task: str
    reference: str
    candidate: str
    n: int
    both: int = 0
    only_reference: int = 0          # right for the reference only
    only_candidate: int = 0          # right for the candidate only
    neither: int = 0
    difference: float | None = None  # accuracy(candidate) - accuracy(reference), proportion
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None     # McNemar, two-sided
    test: str = ""
    reason: str | None = None

    @property
    def reference_accuracy(self) -> float | None:
        return (self.both + self.only_reference) / self.n if self.n else None

    @property
    def candidate_accuracy(self) -> float | None:
        return (self.both + self.only_candidate) / self.n if self.n else None


def hybrid_score_interval(p_a: float, interval_a: tuple[float, float], p_b: float,
                          interval_b: tuple[float, float], phi: float = 0.0) -> tuple[float, float]:
    """Newcombe's square-and-add of two Wilson intervals into one for p_a - p_b; ``phi`` is the
    correlation of paired answers (0 gives the independent-samples method 10 of Newcombe 1998a)."""
    l_a, u_a = interval_a
    l_b, u_b = interval_b
    diff = p_a - p_b
    delta = math.sqrt(max(0.0, (p_a - l_a) ** 2 - 2 * phi * (p_a - l_a) * (u_b - p_b) + (u_b - p_b) ** 2))
    epsilon = math.sqrt(max(0.0, (u_a - p_a) ** 2 - 2 * phi * (u_a - p_a) * (p_b - l_b) + (p_b - l_b) ** 2))
    return max(-1.0, diff - delta), min(1.0, diff + epsilon)


def newcombe_paired_ci(both: int, only_a: int, only_b: int, neither: int,
                       alpha: float = 0.05) -> tuple[float, float]:
    """CI of p_a - p_b for paired proportions (Newcombe 1998b, method 10, no continuity correction)."""
    n = both + only_a + only_b + neither
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    phi = (both * neither - only_a * only_b) / math.sqrt(margins) if margins > 0 else 0.0
    return hybrid_score_interval((both + only_a) / n, wilson_interval(both + only_a, n, 1 - alpha),
                                 (both + only_b) / n, wilson_interval(both + only_b, n, 1 - alpha), phi)


def paired_accuracy(task: str, reference: str, ref_answers: Mapping[str, float], candidate: str,
                    cand_answers: Mapping[str, float], alpha: float = 0.05) -> PairedAccuracy:
    shared = sorted(ref_answers.keys() & cand_answers.keys())
    if not shared:
        return PairedAccuracy(task, reference, candidate, 0, reason="no shared query ids")
    both = sum(1 for q in shared if ref_answers[q] == 1.0 and cand_answers[q] == 1.0)
    only_ref = sum(1 for q in shared if ref_answers[q] == 1.0 and cand_answers[q] == 0.0)
    only_cand = sum(1 for q in shared if ref_answers[q] == 0.0 and cand_answers[q] == 1.0)
    neither = len(shared) - both - only_ref - only_cand
    # Newcombe's interval for candidate - reference: "a" is the candidate.
    low, high = newcombe_paired_ci(both, only_cand, only_ref, neither, alpha)
    test = mcnemar(dict(cand_answers), dict(ref_answers))
    return PairedAccuracy(
        task, reference, candidate, len(shared), both, only_ref, only_cand, neither,
        difference=(only_cand - only_ref) / len(shared), ci_low=low, ci_high=high, p_value=test.p_value,
        test=f"McNemar ({test.method})" if test.method else "McNemar", reason=test.reason)
