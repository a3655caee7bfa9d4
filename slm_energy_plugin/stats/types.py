"""The result of one statistical test, and the Holm adjustment shared by all families.

Pure. Kept apart from :mod:`slm_energy_plugin.stats.core` so the binary tests and the
renderers can use it without importing every test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class StatResult:
    """One test's outcome; ``reason`` says why the numbers are missing, when they are."""

    test: str                          # e.g. "Wilcoxon signed-rank": every figure names its test
    statistic: float | None = None
    statistic_name: str = ""           # "U", "T", "H", "chi2", "Q", "b/c"
    p_value: float | None = None
    p_holm: float | None = None        # Holm-adjusted across the pairs of one test family
    df: int | None = None
    effect: float | None = None
    effect_name: str | None = None     # "rank-biserial r", "Kendall's W", ...
    n: int = 0                         # values, queries or pairs the test used
    paired: bool = False
    method: str | None = None          # "exact", "normal approximation", ...
    note: str | None = None            # a caveat that does not void the result
    reason: str | None = None

    @property
    def p(self) -> float | None:
        """The p-value to judge by: Holm-adjusted when the test was one of several."""
        return self.p_holm if self.p_holm is not None else self.p_value

    def significant(self, alpha: float) -> bool | None:
        return None if self.p is None else self.p < alpha


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values (None stays None and is not counted).

    Sort the m available p-values ascending; the i-th (1-based) becomes
    max over j <= i of min(1, (m - j + 1) p_(j)).
    """
    present = [(p, i) for i, p in enumerate(p_values) if p is not None]
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(present)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
