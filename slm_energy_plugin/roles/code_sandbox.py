"""Code tasks on a machine where generated code cannot run confined (no bubblewrap): skip, or fail.

A code task's answer is scored by running it in the OS sandbox (``quality.confinement``). Where
that is impossible and not waived, each code task is skipped before its model is asked, with
one line (why, what to do) that the session summary counts once (``journal_guard``); a run of
other benchmarks still succeeds. When every selected test is a code task (``-k code_task``, a
node id), the user asked for those results: each fails with the same line, no traceback.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..quality.confinement import CODE_TASKS_SKIPPED, refusal

CODE_TASK_TEST = "test_code_task"        # benchmarks/test_tasks.py
CASE_PARAM = "slm_case"                  # benchmarks/test_cases.py's case (measuring.CASE_FIXTURE)


def runs_generated_code(item: pytest.Item) -> bool:
    """A benchmark whose score runs the answer: a built-in code task, or a case with code tests."""
    if getattr(item, "originalname", None) == CODE_TASK_TEST:
        return True
    callspec = getattr(item, "callspec", None)
    case: Any = callspec.params.get(CASE_PARAM) if callspec is not None else None
    return bool(getattr(case, "task_type", None) == "code" and getattr(case, "tests", None)
                and getattr(case, "entry_point", None))


def require_code_sandbox(session: pytest.Session) -> None:
    """Return when generated code may run here; else skip the calling test, or fail it when only
    code tasks were selected."""
    why = refusal()
    if why is None:
        return
    if all(runs_generated_code(item) for item in session.items):
        pytest.fail(why, pytrace=False)
    pytest.skip(f"{CODE_TASKS_SKIPPED}: {why}")
