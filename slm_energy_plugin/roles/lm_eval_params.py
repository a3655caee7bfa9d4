"""The lm-eval tests' parameters: (model, task document) pairs, ids ``<model>-<task>-<doc index>``.

The pytest side of the bridge (:mod:`..workload.lm_eval`, which imports lm-eval): imported by the
measuring role only when ``--energy-lm-eval`` names tasks.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..backends.spec import ModelSpec
from ..settings import Settings


def lm_eval_params(settings: Settings, specs: list[ModelSpec]) -> list[Any]:
    """Documents in task order, each on every selected model (paired, as the queries); a task that
    cannot run here is one skipped test with its one-line reason."""
    from ..workload.lm_eval import DocRef, LmEvalOptions, plan_tasks

    assert settings.lm_eval
    plans = plan_tasks(LmEvalOptions(settings.lm_eval, settings.lm_eval_include, settings.lm_eval_limit,
                                     settings.lm_eval_fewshot))
    params: list[Any] = []
    for plan in plans:
        if plan.skip is not None or not plan.docs:
            reason = plan.skip or f"lm-eval task {plan.name}: no documents to evaluate"
            alias = specs[0].alias if specs else None
            params.append(pytest.param(alias, DocRef(plan, -1), id=f"{plan.name}-unavailable",
                                       marks=[pytest.mark.skip(reason=reason)]))
            continue
        for doc_id in plan.docs:
            for spec in specs:
                params.append(pytest.param(spec.alias, DocRef(plan, doc_id), id=f"{spec.alias}-{plan.name}-{doc_id}"))
    return params
