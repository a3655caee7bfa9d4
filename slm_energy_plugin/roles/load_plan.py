"""Which generations a model at a load level above 1 makes ahead: the collected tests' asks.

Read from the items pytest will run (after ``-k``, ``--lf`` and deselection), so a model sent
at batch size 8 generates exactly the queries and cases its selected tests will ask for, with
the same token limits, sampling rounds and stops (workload/asks.py). Tests that ask anything
else (task tests, input-load prompts, a test's second ask) generate live, as at level 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ..backends.spec import ModelSpec
from ..settings import Settings
from ..workload.asks import Ask, AskDefaults, ask_rounds
from ..workload.cases import Case
from ..workload.queries import Query
from ..workload.run_case import case_generation
from .opened import WARMUP_PROMPT
from .run_order import MODEL_PARAM, block_numbers


def ask_defaults(settings: Settings, spec: ModelSpec) -> AskDefaults:
    from ..backends.sampling import Sampling

    return AskDefaults(max_new_tokens=spec.max_new_tokens, repeat=settings.repeat,
                       sampling=Sampling(settings.temperature or 0.0, settings.top_p, settings.seed),
                       stops=settings.stops)


def warmup_ask(settings: Settings, spec: ModelSpec) -> Ask:
    """The warm-up generation: a math-style ask with the run's decoding and the prompt format's stops."""
    return ask_rounds(spec, WARMUP_PROMPT, "math", ask_defaults(settings, spec))[0]


def planned_asks(items: list[pytest.Item], specs: list[ModelSpec], settings: Settings) -> dict[str, list[Ask]]:
    """Per alias at a load level above 1: the asks of its selected query and case tests, in run order."""
    loaded = {spec.alias: spec for spec in specs if spec.load_level > 1}
    plans: dict[str, list[Ask]] = {alias: [] for alias in loaded}
    for item in items:
        found = _item_asks(item, loaded, settings)
        if found is not None:
            plans[found[0].alias] += found[1]
    return plans


@dataclass(frozen=True)
class PlannedChunk:
    """Generations made together in one go (roles/load_chunks.py), and the tests that will ask for them."""

    asks: list[Ask] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)   # node ids


def planned_chunks(items: list[pytest.Item], specs: list[ModelSpec], settings: Settings) -> dict[str, list[PlannedChunk]]:
    """--energy-until decided: per alias at level N above 1, its planned asks in chunks of N query
    blocks (in run order, which the sequential run shuffles by seed), none past --energy-max-queries.

    A chunk ends where the sequential role may stop the model (every N-th block: roles/sequential_run.py),
    so it is made only when one of its tests runs. Cut by blocks, not by asks, so that a test's rounds
    (``--energy-repeat``) never straddle two chunks.
    """
    loaded = {spec.alias: spec for spec in specs if spec.load_level > 1}
    blocks = block_numbers(items)
    limit = settings.max_queries
    chunks: dict[str, dict[int, PlannedChunk]] = {alias: {} for alias in loaded}
    for item in items:
        found = _item_asks(item, loaded, settings)
        block = blocks.get(item.nodeid)
        if found is None or block is None or (limit is not None and block >= limit):
            continue
        spec, asks = found
        chunk = chunks[spec.alias].setdefault(block // spec.load_level, PlannedChunk())
        chunk.asks.extend(asks)
        chunk.tests.append(item.nodeid)
    return {alias: list(per.values()) for alias, per in chunks.items()}


def _item_asks(item: pytest.Item, loaded: dict[str, ModelSpec], settings: Settings) -> tuple[ModelSpec, list[Ask]] | None:
    """The model at a load level that ``item`` runs, and the asks its query or case makes (None: neither)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or item.get_closest_marker("skip") is not None:
        return None
    spec = loaded.get(str(callspec.params.get(MODEL_PARAM)))
    if spec is None:
        return None
    defaults = ask_defaults(settings, spec)
    asks: list[Ask] = []
    for value in callspec.params.values():
        if isinstance(value, Query):
            asks += ask_rounds(spec, value.prompt, value.task, defaults)
        elif isinstance(value, Case):
            asks += ask_rounds(spec, value.prompt, value.task_type, defaults, **case_generation(value))
    return spec, asks
