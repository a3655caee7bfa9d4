"""Load levels under ``--energy-until decided``: a model's planned generations made lazily, a chunk at a time.

Under ``--energy-until all`` a model at level N makes every planned generation when it opens
(roles/load_run.py). A sequential run may stop a model after any look, so making everything first
would spend the energy the stop is meant to save. Here the plan is cut into chunks of N query blocks
(roles/load_plan.py ``planned_chunks``: N rows of one batch, or N requests in flight, with one test
per query and one round), and a chunk is made, in its own meter window(s), only when one of its tests
is about to run (before that test's own window opens: meter windows do not nest). The sequential role stops models only at chunk boundaries, so a stopped
model has made no generation for a test that will not run.

The model event is sent when the model opens, before any chunk is made; after each chunk the
measurer re-sends it (:func:`load_update`) with the level's summary over every chunk made so far,
and the collector keeps the latest (results/collector.py).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Sequence

from ..backends.sampling import Sampling
from ..backends.transformers_runtime import Generation
from ..results.events import ModelEvent
from ..workload.asks import Ask
from .load_plan import PlannedChunk
from .load_run import LoadedAnswers, LoadResult, LoadWindow

LAZY_NOTE = "--energy-until decided: generations made one chunk at a time, when a test first asks for one"


class ChunkedAnswers(LoadedAnswers):
    """A backend whose planned generations are made one chunk at a time, when a test first needs one."""

    def __init__(self, backend: Any, level_name: str, level: int, chunks: Sequence[PlannedChunk],
                 make: Callable[[list[Ask]], LoadResult]) -> None:
        super().__init__(backend, LoadResult(level_name, level, []))
        self._level_name, self._level = level_name, level
        self._waiting: deque[PlannedChunk] = deque(chunk for chunk in chunks if chunk.asks)
        self._chunks_planned = len(self._waiting)
        self._requests_planned = sum(len(chunk.asks) for chunk in self._waiting)
        self._make = make
        self._making = threading.Lock()
        self.windows: list[LoadWindow] = []
        self._made = 0
        # Called with the level's summary after each chunk (the measurer re-sends the model event).
        self.on_chunk: Callable[[dict[str, Any]], None] | None = None

    def summary(self) -> dict[str, Any]:
        """The level's figures over every chunk made so far (the energy of all their windows)."""
        return {**LoadResult(self._level_name, self._level, list(self.windows)).summary(), "lazy": LAZY_NOTE,
                "chunks_made": self._made, "chunks_planned": self._chunks_planned,
                "requests_planned": self._requests_planned}

    def make_for_test(self, nodeid: str) -> None:
        """Make the chunk holding ``nodeid``'s generations before its test's own energy window opens
        (meter windows do not nest): the chunk's energy is its windows', shared among its requests."""
        with self._making:
            upto = next((i for i, chunk in enumerate(self._waiting) if nodeid in chunk.tests), None)
            self._make_upto(upto)

    def generate(self, query: str, max_new_tokens: int, min_new_tokens: int | None = None, *,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = ()) -> Generation:
        self._make_through(self.key(query, max_new_tokens, min_new_tokens, sampling, stop))
        return super().generate(query, max_new_tokens, min_new_tokens, sampling=sampling, stop=stop)

    def _make_through(self, key: Ask) -> None:
        """Make the next chunk if it holds ``key``: normally :meth:`make_for_test` made it already; this
        covers an ask from outside a planned test's call. Anything else is generated live, as at level 1."""
        with self._making:
            if not self._has_stored(key) and self._waiting and key in self._waiting[0].asks:
                self._make_upto(0)

    def _make_upto(self, upto: int | None) -> None:
        """Make the waiting chunk at index ``upto`` (in run order: the next one) in its windows. Chunks
        before it are dropped unmade: the tests run in plan order, so theirs were passed by (skipped,
        or failed in setup) and will not ask."""
        if upto is None:
            return
        for _ in range(upto):
            self._waiting.popleft()
        result = self._make(self._waiting.popleft().asks)
        self._made += 1
        self._store(result)
        self.windows += result.windows
        if self.on_chunk is not None:
            self.on_chunk(self.summary())


def load_update(event: ModelEvent, summary: dict[str, Any]) -> ModelEvent:
    """The model event again, its ``performance.load`` covering every chunk made so far.

    ``load`` is left empty (the model loaded once: no second load record) and ``idle`` too (the
    collector takes the first it finds); the collector's performance block is the latest update's.
    """
    event["performance"]["load"] = summary   # the event the measurer holds reads the same
    return {**event, "load": {}, "idle": None, "performance": {**event["performance"], "load": summary}}


def answers_under_load(backend: Any, level_name: str, level: int, plan: list[Ask], chunks: list[PlannedChunk] | None,
                       make: Callable[[list[Ask]], LoadResult]) -> tuple[LoadedAnswers, dict[str, Any]]:
    """The backend a model's tests get at a load level, and the level's summary for its event.

    ``chunks`` None (``--energy-until all``): the whole plan is made now, as before. Otherwise
    nothing is made yet; each chunk is made when a test first asks for one of its generations.
    """
    if chunks is None:
        result = make(plan)
        return LoadedAnswers(backend, result), result.summary()
    answers = ChunkedAnswers(backend, level_name, level, chunks, make)
    return answers, answers.summary()


def resend_after_chunks(answers: LoadedAnswers, event: ModelEvent, queue: Callable[[ModelEvent], None]) -> None:
    """After each chunk, queue the model event again with the summary over every chunk made."""
    if isinstance(answers, ChunkedAnswers):
        answers.on_chunk = lambda summary: queue(load_update(event, summary))
