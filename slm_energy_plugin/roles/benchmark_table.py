"""Hide pytest-benchmark's table when each query ran one round (it would be rows of ``Rounds 1``).

With one round per query the table's min/max/mean/stddev are all the same number: hundreds
of rows that say nothing the slm-energy summary does not say better. With ``--energy-repeat``
above 1 they are real statistics and the table stays. Only the display is affected: grouping
is pytest-benchmark's display step, ``--benchmark-json`` and ``--benchmark-save`` keep every entry.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


class OneRoundTableHider:
    """A pytest-benchmark hook implementation (registered only when pytest-benchmark is there)."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.hidden = 0

    @pytest.hookimpl(wrapper=True)
    def pytest_benchmark_group_stats(self, config: Any, benchmarks: Any, group_by: Any) -> Generator[None, Any, Any]:
        groups = yield
        if self.repeat > 1:
            return groups
        kept = []
        for name, entries in groups:
            ours = [e for e in entries if "energy_provenance" in (e.get("extra_info") or {})]
            if ours and all(int((e.get("stats") or {}).get("rounds", e.get("rounds", 1)) or 1) <= 1 for e in ours):
                self.hidden += len(ours)
                entries = [e for e in entries if e not in ours]
            if entries:
                kept.append((name, entries))
        return kept
