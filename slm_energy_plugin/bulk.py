"""Building many small objects at once without the cyclic garbage collector walking them.

Pure: no I/O, no pytest. Reading a run (JSON -> validated dicts -> records -> the table) makes
millions of dicts, lists and dataclasses; CPython's cyclic collector runs every few hundred
allocations and, as the heap grows, ever more full passes over everything built so far. For 10
models x 10,000 queries that was ~40% of the loading time and ~10% of the statistics, for
nothing: these objects hold no reference cycles, so reference counting frees them anyway.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; back on at the end (errors included) if it was on.

    Nested uses are fine: only the outermost one turns it back on. Objects freed by reference
    counting are freed as usual; only cycles made inside the block wait for the next collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
