"""Quality tasks next to the math queries: text-to-SQL, multiple choice, code generation.

Test ids are ``test_sql_task[<model>-sql01]``, ``test_choice_task[<model>-mc01]`` and
``test_code_task[<model>-code01]``; with ``--energy-task-data sql=SPIDER,mmlu=MMLU_DATA`` the real
Spider dev set (``spider0001``...) and MMLU test files (``mmlu-<subject>-01``...) replace the small sets. The plugin measures each call and records the
response; the test asks (or scores log-likelihoods) and attaches the quality score.
A wrong answer does not fail the test: accuracy is a measurement, reported in the
efficiency summary. The assertion checks the scorer's contract: every 0 has a reason.

Generated code runs only OS-confined (bubblewrap). Where it cannot be, the code tasks are
skipped before the model is asked, with one line saying why and what to do, and the session
summary counts them once; unless every selected test is a code task (``-k code_task``,
``benchmarks/test_tasks.py::test_code_task``): then the user asked for them, and each fails
with that line (see slm_energy_plugin/roles/code_sandbox.py).

Scoring runs in the test's call phase but outside the energy window, which brackets only the
model's work (``slm.ask``, ``slm.loglikelihoods``): a scorer's cost (~1 ms per SQL answer, more
for code run in its sandbox; see BENCHMARKS.md) shows in the record's ``extra.call_s``, never in
its energy.
"""

from __future__ import annotations

from functools import lru_cache

import pytest

from slm_energy_plugin.quality import MMLU_CONTINUATIONS, ScoreResult, format_mmlu_prompt, prompt_opens_think
from slm_energy_plugin.quality.choice import score_choice_loglikelihoods
from slm_energy_plugin.quality.datasets import (
    builtin_choice_tasks, builtin_code_tasks, builtin_sql_tasks, compact_schema, format_sql_prompt,
)
from slm_energy_plugin.quality.python_tests import score_python
from slm_energy_plugin.quality.sql import score_sql
from slm_energy_plugin.workload.task_data import load_task_data, task_data_from_config
from slm_energy_plugin.roles.code_sandbox import require_code_sandbox

SQL_TASKS = builtin_sql_tasks()          # builds data/tasks/sql/bookshop.sql into the cache once
CHOICE_TASKS = builtin_choice_tasks()
CODE_TASKS = builtin_code_tasks()
# --energy-task-data sql=SPIDER,mmlu=MMLU_DATA: the user's real sets replace the small ones above.
_KIND_OF_TEST = {"test_sql_task": "sql", "test_choice_task": "mmlu"}


def pytest_generate_tests(metafunc):
    """Swap this test's parametrize mark for the user's tasks. The mark (not a parametrize call here) keeps
    the ids ``<model>-<task>``: this module hook runs before slm-energy's, marks are applied after it."""
    kind = _KIND_OF_TEST.get(metafunc.function.__name__)
    path = task_data_from_config(metafunc.config).get(kind) if kind else None
    if path is None:
        return
    tasks = load_task_data(kind, path)
    marks = metafunc.definition.own_markers
    marks[:] = [m for m in marks if m.name != "parametrize"]
    marks.append(pytest.mark.parametrize("task", tasks, ids=[t.id for t in tasks]).mark)


@lru_cache(maxsize=None)
def _schema(db_path: str) -> str:
    return compact_schema(db_path)   # a third of the CREATE statements' tokens


def _think_open(slm) -> bool:
    """A chat template that ends in ``<think>`` (DeepSeek-R1 style) leaves the block open."""
    last = slm.last
    return bool(last is not None and prompt_opens_think(last.rendered_prompt))


def _check(result: ScoreResult) -> None:
    assert 0.0 <= result.score <= 1.0
    assert result.correct or result.reason, f"score 0 without a reason: {result}"


@pytest.mark.parametrize("task", SQL_TASKS, ids=[t.id for t in SQL_TASKS])
def test_sql_task(slm, task):
    prompt = format_sql_prompt(task.question, _schema(str(task.db_path)))
    response = slm.ask(prompt, query_id=task.id, task="sql", expected=task.query)
    result = score_sql(response, task.query, db_path=task.db_path, think_open=_think_open(slm))
    slm.record_score(result)
    _check(result)


@pytest.mark.parametrize("task", CHOICE_TASKS, ids=[t.id for t in CHOICE_TASKS])
def test_choice_task(slm, task):
    # Scored from log-likelihoods (lm-evaluation-harness's MMLU "acc"), not by generating.
    prompt = format_mmlu_prompt(task.question, task.options, task.subject)
    slm.set_query(task.id, prompt, task="mmlu", expected=task.answer)
    loglikelihoods = slm.loglikelihoods(prompt, list(MMLU_CONTINUATIONS))
    result = score_choice_loglikelihoods(loglikelihoods, task.answer)
    slm.record_score(result)
    _check(result)


@pytest.fixture(scope="session")
def code_sandbox(request):
    """Once per session, before any model is asked: may generated code run here? (cached skip or failure)"""
    require_code_sandbox(request.session)


@pytest.mark.parametrize("task", CODE_TASKS, ids=[t.id for t in CODE_TASKS])
def test_code_task(code_sandbox, slm, task):
    # HumanEval: the prompt is the function's signature and docstring; the model completes it.
    response = slm.ask(task.prompt, query_id=task.id, task="code", expected=task.entry_point)
    result = score_python(response, task.test, entry_point=task.entry_point, prompt=task.prompt,
                          think_open=_think_open(slm))
    slm.record_score(result)
    _check(result)
