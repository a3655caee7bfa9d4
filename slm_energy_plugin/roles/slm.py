"""``slm``: the object a benchmark test talks to, bound to one test and one loaded model.

Every piece of model work (``ask``: all rounds of a generation; ``loglikelihoods``: a
scoring pass) runs inside one energy window of the session's meter. Scoring answers,
assertions and pytest's own work fall outside the windows, so a code-execution scorer
(~70 ms in a child process) is not charged to the query. The plugin's
``pytest_runtest_call`` wrapper turns the windows into the test's record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..energy import EnergyMeter, EnergyReading
from ..perf import background

from ..backends.sampling import Sampling
from ..backends.transformers_runtime import Generation, LoadedModel
from ..workload.asks import AskDefaults, ask_rounds
from ..workload.queries import Query


@dataclass
class TestObservation:
    """What one test did with the model."""

    query_id: str | None = None
    query: str | None = None
    task: str | None = None
    expected: str | None = None
    generations: list[Generation] = field(default_factory=list)
    readings: list[EnergyReading] = field(default_factory=list)   # one per model-work window
    scoring_calls: int = 0          # log-likelihood passes (multiple-choice scoring)
    scoring_tokens_input: int = 0   # prompt tokens read by those passes
    scores: dict[str, Any] = field(default_factory=dict)
    generation_error: str | None = None
    # CPU snapshots around each window, for background load (perf/background.py)
    cpu_windows: list[tuple[Any, Any]] = field(default_factory=list)

    extra: dict[str, Any] = field(default_factory=dict)             # e.g. the case's load
    samples: list[list[Any]] = field(default_factory=list)          # utilisation timeline rows

    @property
    def did_work(self) -> bool:
        return bool(self.readings)


class SLM:
    """The ``slm`` fixture's value."""

    def __init__(self, model: LoadedModel, meter: EnergyMeter, *, defaults: AskDefaults,
                 benchmark_provider: Callable[[], Any] | None = None,
                 default_query_id: str | None = None, sampler: Any = None) -> None:
        self.model = model
        # The run's token limit, rounds, decoding (greedy unless asked) and --energy-stops.
        self.defaults = defaults
        self.sampler = sampler                   # perf.sampler.UtilisationSampler, or None (off)
        self.meter = meter
        self.repeat = defaults.repeat
        self._benchmark_provider = benchmark_provider
        self.benchmark: Any = None   # pytest-benchmark's fixture, once a generation used it
        self.observation = TestObservation(query_id=default_query_id)

    @property
    def alias(self) -> str:
        return self.model.alias

    @property
    def spec(self) -> Any:
        return self.model.spec

    def _measured(self, work: Callable[[], Any]) -> Any:
        """Run model work inside one energy window; a failure is kept for the record and re-raised."""
        before = background.snapshot()   # outside the energy window: reading /proc costs a little

        window = None
        if self.sampler is not None:
            pid = getattr(self.model, "server_pid", None)   # a local model server: its CPU and RSS, not ours
            window = self.sampler.open(self.observation.query_id, pid)
            if pid is not None:
                sampled = "server" if window.process.pid == pid else "client (the server's process was gone)"
                self.observation.extra["utilisation_process"] = {"sampled": sampled, "pid": window.process.pid}
        handle = self.meter.start()
        try:
            return work()
        except Exception as exc:
            self.observation.generation_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise
        finally:
            self.observation.readings.append(self.meter.stop(handle))
            self.observation.cpu_windows.append((before, background.closing_snapshot(before)))

            if window is not None:
                self.observation.samples.extend(window.close())

    def ask(self, query: Query | str, *, query_id: str | None = None, task: str | None = None,
            expected: str | None = None, max_new_tokens: int | None = None,
            min_new_tokens: int | None = None, sampling: Sampling | None = None,
            stop: tuple[str, ...] | None = None) -> str:
        """Generate an answer (``--energy-repeat`` rounds) and return the last round's response.

        ``sampling`` (default: the run's) decodes greedily at temperature 0; otherwise round r
        samples with seed + r. ``stop`` adds stop strings to the prompt format's (``--energy-stops``).
        """
        obs = self.observation
        if isinstance(query, Query):
            obs.query_id = query_id or query.id
            obs.query, obs.task = query.prompt, task or query.task
            obs.expected = expected if expected is not None else query.answer
        else:
            obs.query_id = query_id or obs.query_id
            obs.query, obs.task, obs.expected = str(query), task, expected
        asks = iter(ask_rounds(self.model.spec, obs.query or "", obs.task, self.defaults, max_new_tokens=max_new_tokens,
                               min_new_tokens=min_new_tokens, sampling=sampling, stop=stop))

        def one_round() -> Generation:
            request = next(asks)
            generation = self.model.generate(request.prompt, request.max_new_tokens, request.min_new_tokens,
                                             sampling=request.sampling, stop=request.stop)
            obs.generations.append(generation)
            return generation

        def all_rounds() -> Generation:
            return [one_round() for _ in range(self.repeat)][-1]

        if self.benchmark is None and self._benchmark_provider is not None:
            # pytest-benchmark times each round (pedantic mode: no calibration loops), so its
            # statistics are real. It allows one use per test; later asks run plainly.
            bench = self.benchmark = self._benchmark_provider()
            if bench.disabled:  # e.g. --benchmark-disable or xdist: pedantic would run only once
                last = self._measured(lambda: bench.pedantic(all_rounds, rounds=1, iterations=1))
            else:
                last = self._measured(lambda: bench.pedantic(one_round, rounds=self.repeat, iterations=1))
        else:
            last = self._measured(all_rounds)
        response: str = last.response
        return response

    def loglikelihoods(self, context: str, continuations: list[str]) -> list[float]:
        """Log-likelihood of each continuation after the context: a measured scoring pass."""
        if not getattr(self.model, "scores_loglikelihoods", True):
            import pytest   # the skip is pytest's; slm.py is otherwise free of it

            from ..backends.http_backend import LOGLIKELIHOOD_SKIP

            pytest.skip(LOGLIKELIHOOD_SKIP.format(alias=self.alias))
        obs = self.observation
        obs.scoring_calls += 1
        obs.scoring_tokens_input += self.model.prompt_tokens(context)
        values: list[float] = self._measured(lambda: self.model.loglikelihoods(context, continuations))
        return values

    def set_query(self, query_id: str, query: str, task: str | None = None,
                  expected: str | None = None) -> None:
        """Name the query of a test that does not call :meth:`ask` (e.g. log-likelihood scoring)."""
        obs = self.observation
        obs.query_id, obs.query, obs.task, obs.expected = query_id, query, task, expected

    def record_score(self, result: Any) -> None:
        """Attach a score (a quality ScoreResult or a mapping) to this test's record."""
        data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        self.observation.scores.update(data)

    def score(self, kind: str = "numeric", expected: str | None = None, **options: Any) -> Any:
        """Score the last response with :func:`slm_energy_plugin.quality.score_answer` and record it.

        A reasoning model's open ``<think>`` (from its chat template) is taken into account.
        """
        from ..quality import prompt_opens_think, score_answer

        last = self.last
        key = expected if expected is not None else self.observation.expected
        if key is None:
            raise ValueError("nothing to score against: pass expected=... or ask a query that has an answer")
        if last is not None:
            options.setdefault("think_open", prompt_opens_think(last.rendered_prompt))
        result = score_answer(last.response if last else "", str(key), kind=kind, **options)
        self.record_score(result)
        return result

    @property
    def last(self) -> Generation | None:
        return self.observation.generations[-1] if self.observation.generations else None
