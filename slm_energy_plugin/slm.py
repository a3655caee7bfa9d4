"""``slm``: the object a benchmark test talks to, bound to one test and one loaded model.

It runs generations (repeated rounds through pytest-benchmark's pedantic mode when
that is available), counts tokens and time, and keeps what the plugin needs to build
the test's record once the energy window closes. It never measures energy itself: the
plugin's innermost ``pytest_runtest_call`` wrapper brackets the whole call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .models.runtime import Generation, LoadedModel
from .queries import Query


@dataclass
class TestObservation:
    """What one test did with the model."""

    query_id: str | None = None
    query: str | None = None
    task: str | None = None
    expected: str | None = None
    generations: list[Generation] = field(default_factory=list)
    scoring_calls: int = 0          # log-likelihood passes (multiple-choice scoring)
    scores: dict[str, Any] = field(default_factory=dict)
    generation_error: str | None = None

    @property
    def did_work(self) -> bool:
        return bool(self.generations) or self.scoring_calls > 0 or self.generation_error is not None


class SLM:
    """The ``slm`` fixture's value."""

    def __init__(self, model: LoadedModel, *, max_new_tokens: int, repeat: int,
                 benchmark_provider: Callable[[], Any] | None = None,
                 default_query_id: str | None = None) -> None:
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.repeat = repeat
        self._benchmark_provider = benchmark_provider
        self.benchmark: Any = None   # pytest-benchmark's fixture, once a generation used it
        self.observation = TestObservation(query_id=default_query_id)

    @property
    def alias(self) -> str:
        return self.model.alias

    @property
    def spec(self) -> Any:
        return self.model.spec

    def ask(self, query: Query | str, *, query_id: str | None = None, task: str | None = None,
            expected: str | None = None, max_new_tokens: int | None = None,
            min_new_tokens: int | None = None) -> str:
        """Generate an answer (``--energy-repeat`` rounds) and return the last round's response."""
        obs = self.observation
        if isinstance(query, Query):
            obs.query_id = query_id or query.id
            obs.query, obs.task = query.prompt, task or query.task
            obs.expected = expected if expected is not None else query.answer
        else:
            obs.query_id = query_id or obs.query_id
            obs.query, obs.task, obs.expected = str(query), task, expected
        limit = max_new_tokens or self.max_new_tokens

        def one_round() -> Generation:
            try:
                generation = self.model.generate(obs.query or "", limit, min_new_tokens)
            except Exception as exc:
                obs.generation_error = f"{type(exc).__name__}: {exc}"
                raise
            obs.generations.append(generation)
            return generation

        def all_rounds() -> Generation:
            return [one_round() for _ in range(self.repeat)][-1]

        if self.benchmark is None and self._benchmark_provider is not None:
            # pytest-benchmark times each round (pedantic mode: no calibration loops), so its
            # statistics are real. It allows one use per test; later asks run plainly.
            self.benchmark = self._benchmark_provider()
            if self.benchmark.disabled:  # e.g. --benchmark-disable or xdist: pedantic would run once
                last = self.benchmark.pedantic(all_rounds, rounds=1, iterations=1)
            else:
                last = self.benchmark.pedantic(one_round, rounds=self.repeat, iterations=1, warmup_rounds=0)
        else:
            last = all_rounds()
        return last.response

    def loglikelihoods(self, context: str, continuations: list[str]) -> list[float]:
        """Log-likelihood of each continuation (multiple-choice scoring); counted as model work."""
        self.observation.scoring_calls += 1
        try:
            return self.model.loglikelihoods(context, continuations)
        except Exception as exc:
            self.observation.generation_error = f"{type(exc).__name__}: {exc}"
            raise

    def record_score(self, result: Any) -> None:
        """Attach a score (a quality ScoreResult or a mapping) to this test's record."""
        data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        self.observation.scores.update(data)

    def set_query(self, query_id: str, query: str, task: str | None = None,
                  expected: str | None = None) -> None:
        """Name the query of a test that does not call :meth:`ask` (e.g. log-likelihood scoring)."""
        obs = self.observation
        obs.query_id, obs.query, obs.task, obs.expected = query_id, query, task, expected

    @property
    def last(self) -> Generation | None:
        return self.observation.generations[-1] if self.observation.generations else None
