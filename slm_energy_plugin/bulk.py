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
from typing import Any, Iterator, TypeVar

T = TypeVar("T")


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


def frozen_instance(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen dataclass ``cls`` holding ``fields`` (every field, by name; the
    dict becomes the instance's own), made without ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``: for a query
    record of 22 fields that was half of reading it from a file, 10,000 times per model. Only for
    classes without ``__post_init__`` or ``__slots__``; the readers that use it are tested to give
    every field (equal to the instance ``__init__`` makes)."""
    instance = object.__new__(cls)
    object.__setattr__(instance, "__dict__", fields)
    return instance
