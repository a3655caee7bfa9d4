"""Answer quality, measured in the same run as energy, and efficiency per quality.

``score_answer(response, expected, kind=...)`` dispatches to one scorer; each returns a
:class:`ScoreResult` whose ``to_dict()`` goes into ``QueryRecord.scores``.

Kinds: ``numeric``, ``exact``, ``contains``, ``overlap``, ``sql_execution``,
``multiple_choice``, ``python_tests``, and the seed task types ``qa``, ``summary``,
``code_syntax`` (:mod:`.tasks`; creative writing has no right/wrong: :mod:`.diversity`). Scorers that execute untrusted output
(``sql_execution``, ``python_tests``) live in their own modules with their limits documented.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import ConfigError
from .choice import MMLU_CONTINUATIONS, format_mmlu_prompt, score_multiple_choice
from .health import ResponseHealth, answer_stability, normalized_answer, response_health, stability_by_model
from .numeric import score_numeric
from .result import ScoreResult, prompt_opens_think, split_reasoning
from .text import score_contains, score_exact, score_overlap, warm_up

__all__ = [
    "KINDS", "MMLU_CONTINUATIONS", "ResponseHealth", "ScoreResult", "answer_stability", "format_mmlu_prompt",
    "normalized_answer", "prompt_opens_think", "response_health", "score_answer", "split_reasoning",
    "stability_by_model", "warm_up",
]


def _sql(response: str, expected: str, **options: Any) -> ScoreResult:
    from .sql import score_sql
    if "db_path" not in options:
        raise ConfigError("kind='sql_execution' needs db_path=<SQLite file> to run the queries on")
    return score_sql(response, expected, **options)


def _python(response: str, expected: str, **options: Any) -> ScoreResult:
    from .python_tests import score_python
    if "entry_point" not in options:
        raise ConfigError("kind='python_tests' needs entry_point=<function name> (HumanEval's entry_point)")
    return score_python(response, expected, **options)


def _task(name: str) -> Callable[..., ScoreResult]:
    """The seed task types' scorers (:mod:`.tasks`), imported on first use."""
    def score(response: str, expected: str, **options: Any) -> ScoreResult:
        from . import tasks
        scorer: Callable[..., ScoreResult] = getattr(tasks, name)
        return scorer(response, expected, **options)
    return score


KINDS: dict[str, Callable[..., ScoreResult]] = {
    "numeric": score_numeric,
    "exact": score_exact,
    "contains": score_contains,
    "overlap": score_overlap,
    "sql_execution": _sql,
    "multiple_choice": score_multiple_choice,
    "python_tests": _python,
    "qa": _task("score_qa"),
    "summary": _task("score_summary"),
    "code_syntax": _task("score_code_syntax"),   # expected = the prompt the completion continues
}


def score_answer(response: str, expected: str, kind: str = "numeric", **options: Any) -> ScoreResult:
    """Score one response against its expected answer with the scorer named by ``kind``.

    Options are the chosen scorer's keyword arguments (e.g. ``rel_tol`` for numeric,
    ``db_path`` for sql_execution, ``entry_point``/``prompt`` for python_tests,
    ``loglikelihoods`` for multiple_choice, ``think_open`` for all text scorers).
    """
    try:
        scorer = KINDS[kind]
    except KeyError:
        raise ConfigError(f"unknown scoring kind {kind!r}; choose from {', '.join(KINDS)}") from None
    try:
        return scorer(response, expected, **options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise ConfigError(f"scoring kind {kind!r}: {exc}") from None
        raise
