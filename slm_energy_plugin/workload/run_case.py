"""Running a case: which models it runs on, the sampling it runs with, how it is asked and scored.

A case that names a ``model`` runs on the selected model it names (alias, hub id, local folder,
served name or any name the selection resolved to). A name no selected model answers to is
resolved through a served engine: ``ollama:llama3.2:3b`` / ``openai:NAME`` as written, or a bare
``llama3.2:3b`` through ``--energy-cases-backend BACKEND`` (any installed served backend; the experiment framework's files
name Ollama models so). Otherwise the case is a usage error (one line naming the case, counted
from 1), never a skipped or vanished test. A case without a model runs on every selected model
(paired, as the queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends.backend_registry import served_backend_names
from ..backends.sampling import Sampling
from ..backends.served import served_spec_from_name
from ..backends.spec import ModelSpec
from ..errors import ConfigError
from .cases import DEFAULT_TEMPERATURE, Case


@dataclass(frozen=True)
class CaseParam:
    alias: str
    case: Case
    id: str


def _names(spec: ModelSpec) -> set[str]:
    names = {spec.alias, spec.model_id, spec.level_of or spec.alias}   # a case for ALIAS runs on ALIAS-b8
    if spec.hub_id:
        names.add(spec.hub_id)
    if spec.local_path is not None:
        names.update({str(spec.local_path), spec.local_path.name})
    if spec.served_name:   # ollama:llama3.2:3b answers to the case's "llama3.2:3b"
        names.add(spec.served_name)
    return {name.rstrip("/") for name in names}


def runs_on(case: Case, spec: ModelSpec) -> bool:
    if case.model is None:
        return True
    wanted = case.model.rstrip("/")
    return wanted in _names(spec) or str(Path(wanted).expanduser().resolve()) in _names(spec)


def case_model_specs(cases: list[Case], specs: list[ModelSpec], backend: str | None) -> list[ModelSpec]:
    """Served models for the names cases give that no model in ``specs`` answers to (base URLs unset).

    ``ollama:NAME`` / ``openai:NAME`` resolve through the backend they name; a bare name through
    ``backend`` (``--energy-cases-backend``); anything else is one line naming the case.
    """
    found: list[ModelSpec] = []
    for number, case in enumerate(cases, start=1):
        if case.model is None or any(runs_on(case, spec) for spec in (*specs, *found)):
            continue
        spec = served_spec_from_name(case.model)
        if spec is None and backend is not None:
            spec = served_spec_from_name(f"{backend}:{case.model}")
        if spec is None:
            selected = ", ".join(s.alias for s in specs) or "none"
            raise ConfigError(
                f"case {number} (id {case.case_id}) names model {case.model!r}, which is neither selected "
                f"(selected: {selected}) nor resolvable: add it to --energy-models, or run it on a served engine "
                f"with --energy-cases-backend {'|'.join(served_backend_names())} (or write it as ollama:{case.model})")
        found.append(spec)
    return found


def case_params(cases: list[Case], specs: list[ModelSpec]) -> list[CaseParam]:
    """(model, case) pairs in case order, models in order; ids ``<model>-<case id>``.

    ``specs`` holds the selection plus :func:`case_model_specs`' served models, so every case that
    names a model has one here; one that still has none is refused (never skipped silently).
    """
    params: list[CaseParam] = []
    for number, case in enumerate(cases, start=1):
        targets = [spec for spec in specs if runs_on(case, spec)]
        if case.model is not None and not targets:
            raise ConfigError(f"case {number} (id {case.case_id}) names model {case.model!r}, which is not selected "
                              f"(selected: {', '.join(s.alias for s in specs) or 'none'})")
        for spec in targets:
            params.append(CaseParam(spec.alias, case, f"{spec.alias}-{case.case_id}"))
    return params


def resolve_case(case: Case, temperature: float | None, top_p: float | None, seed: int) -> Case:
    """Fill what the case left out: the options' sampling, else the seed format's 0.7; the base seed."""
    given = case.model_fields_set
    update: dict[str, Any] = {}
    if "temperature" not in given:
        update["temperature"] = DEFAULT_TEMPERATURE if temperature is None else temperature
    if "top_p" not in given and top_p is not None:
        update["top_p"] = top_p
    if case.seed is None:
        update["seed"] = seed
    return case.model_copy(update=update) if update else case


def case_sampling(case: Case) -> Sampling:
    return Sampling(temperature=case.temperature, top_p=case.top_p, seed=case.seed or 0)


def case_generation(case: Case) -> dict[str, Any]:
    """How a case is generated: its token limit, sampling and stops (``slm.ask``'s keywords)."""
    return {"max_new_tokens": case.max_tokens, "sampling": case_sampling(case), "stop": case.stop}


def ask_case(slm: Any, case: Case) -> str:
    """Ask the case's prompt with its token limit, sampling and stops; the load goes on the record."""
    if case.load is not None:
        slm.observation.extra["load"] = case.load
    return str(slm.ask(case.prompt, query_id=case.case_id, task=case.task_type, expected=case.reference_text,
                       **case_generation(case)))


def score_case(slm: Any, case: Case) -> dict[str, Any] | None:
    """Score the rounds' answers by task type and record it; None when the case cannot be scored."""
    from ..quality import prompt_opens_think
    from ..quality.diversity import creative_scores
    from ..quality.tasks import score_code_syntax, score_qa, score_summary

    generations = slm.observation.generations
    if not generations:
        return None
    last = generations[-1]
    think_open = prompt_opens_think(last.rendered_prompt)
    result: Any
    if case.task_type == "creative":
        scores = creative_scores([g.response for g in generations])
        slm.record_score(scores)
        return scores
    if case.task_type == "code":
        if case.tests is not None and case.entry_point is not None:
            from ..quality.python_tests import score_python

            result = score_python(last.response, case.tests, entry_point=case.entry_point, prompt=case.prompt,
                                  think_open=think_open)
        else:
            result = score_code_syntax(last.response, case.prompt, think_open=think_open)
    elif case.reference_text is None:
        return None          # qa and summary are scored against a reference; none given
    elif case.task_type == "summary":
        result = score_summary(last.response, case.reference_text, think_open=think_open)
    else:
        result = score_qa(last.response, case.reference_text, think_open=think_open)
    slm.record_score(result)
    data: dict[str, Any] = result.to_dict()
    return data
