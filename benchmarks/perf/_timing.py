"""What the scripts in benchmarks/perf share: one timing loop and one markdown table writer.

The scripts run as files (``python benchmarks/perf/NAME.py``), so this folder is first on
``sys.path`` and they import this module as ``_timing``. The table is tabulate's "github"
markdown, the format ``render.stats_tables`` writes its markdown tables in.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Iterable, Sequence

from tabulate import tabulate


def timed(fn: Callable[[], object], repeats: int, *, warm_up: bool = False,
          clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` (after one untimed call with ``warm_up``).

    ``clock=time.process_time`` measures CPU time: on a shared machine wall time counts the
    other processes too."""
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return times


def median_seconds(fn: Callable[[], object], repeats: int, **options: Any) -> float:
    """The median of :func:`timed`."""
    return statistics.median(timed(fn, repeats, **options))


def markdown_table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown (GitHub) table, cells written as given (no number re-formatting)."""
    return tabulate([list(row) for row in rows], headers=list(head), tablefmt="github", disable_numparse=True)
