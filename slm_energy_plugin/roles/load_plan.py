"""Which generations a model at a load level above 1 makes ahead: the collected tests' asks.

Read from the items pytest will run (after ``-k``, ``--lf`` and deselection), so a model sent
at batch size 8 generates exactly the queries and cases its selected tests will ask for, with
the same token limits, sampling rounds and stops (workload/asks.py). Tests that ask anything
else (task tests, input-load prompts, a test's second ask) generate live, as at level 1.
"""

from __future__ import annotations

import pytest

from ..backends.spec import ModelSpec
from ..settings import Settings
from ..workload.asks import Ask, AskDefaults, ask_rounds
from ..workload.cases import Case
from ..workload.queries import Query
from ..workload.run_case import case_generation
from .opened import WARMUP_PROMPT
from .run_order import MODEL_PARAM


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
        callspec = getattr(item, "callspec", None)
        if callspec is None or item.get_closest_marker("skip") is not None:
            continue
        spec = loaded.get(str(callspec.params.get(MODEL_PARAM)))
        if spec is None:
            continue
        defaults = ask_defaults(settings, spec)
        for value in callspec.params.values():
            if isinstance(value, Query):
                plans[spec.alias] += ask_rounds(spec, value.prompt, value.task, defaults)
            elif isinstance(value, Case):
                plans[spec.alias] += ask_rounds(spec, value.prompt, value.task_type, defaults,
                                                **case_generation(value))
    return plans
