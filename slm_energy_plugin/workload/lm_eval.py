"""The bridge to lm-evaluation-harness: any lm-eval task, measured document by document.

The only module that imports ``lm_eval``, and it is imported only when ``--energy-lm-eval`` is
given (the measuring role imports this module then, never before).

What lm-eval does, lm-eval does here: tasks come from its ``TaskManager`` (``--energy-lm-eval-include``
adds a folder of YAMLs), few-shot and seeds are set as ``simple_evaluate`` sets them, requests are
built by ``task.build_all_requests``, answers are filtered by the task's own filter ensembles and
scored by ``task.process_results``; the aggregate of a task is its ``aggregation()`` function over
the documents' values. What changes is the loop: ``evaluator.evaluate`` runs every request of a
type for all documents at once; here each document is one test, and all of its requests
(``loglikelihood``, ``loglikelihood_rolling``, ``generate_until``) run in one energy window.

Requests go to the model the measuring role holds for the test:
- an in-process transformers model answers through lm-eval's own ``HFLM`` request code wrapped
  around the held weights and tokenizer (batch size 1), so the numbers equal ``lm_eval --model hf``
  on the same folder: truncation, tokenisation of context/continuation pairs, rolling windows and
  stop sequences are lm-eval's, not a re-implementation;
- a served model answers ``generate_until`` through its backend (stop strings sent to the server,
  the text cut at them as lm-eval cuts it); it cannot give log-likelihoods, so a task that needs them
  is skipped with one line.
"""

from __future__ import annotations

import logging
import math
import random
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import ConfigError

try:
    import lm_eval
    from lm_eval.api.model import LM
except ImportError as exc:   # the optional extra is missing: one line that says how to get it
    raise ConfigError("--energy-lm-eval needs lm-evaluation-harness: pip install 'slm-energy-plugin[lm-eval]' "
                      f"(import failed: {exc})") from None

INSTALL_HINT = "pip install 'slm-energy-plugin[lm-eval]'"
REQUEST_TYPES = ("loglikelihood", "loglikelihood_rolling", "generate_until")
LOGLIKELIHOOD_TYPES = ("loglikelihood", "loglikelihood_rolling")
LM_EVAL_VERSION = str(getattr(lm_eval, "__version__", "unknown"))


@dataclass(frozen=True)
class LmEvalOptions:
    tasks: tuple[str, ...]
    include: Path | None = None
    limit: int | None = None
    fewshot: int | None = None


@dataclass
class TaskPlan:
    """One leaf task: its documents and their requests, built once per process at collection."""

    name: str
    task: Any = None                                        # lm_eval.api.task.Task
    docs: dict[int, Any] = field(default_factory=dict)      # doc id -> document
    instances: dict[int, list[Any]] = field(default_factory=dict)   # doc id -> its requests, in order
    skip: str | None = None                                 # why the task does not run here

    @property
    def request_types(self) -> tuple[str, ...]:
        found = {inst.request_type for insts in self.instances.values() for inst in insts}
        return tuple(kind for kind in REQUEST_TYPES if kind in found)

    @property
    def needs_loglikelihood(self) -> bool:
        return any(kind in LOGLIKELIHOOD_TYPES for kind in self.request_types)


@dataclass(frozen=True)
class DocRef:
    """A test's parameter: one document of one task (the plan travels with it, in this process)."""

    plan: TaskPlan
    doc_id: int

    @property
    def id(self) -> str:
        return f"{self.plan.name}-{self.doc_id}"

    def __str__(self) -> str:
        return self.id


def _quiet() -> None:
    # lm-eval logs each task load and a warning for a model passed as an object: not the run's output.
    for name in ("lm-eval", "lm_eval"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _dataset_hint(manager: Any, name: str) -> str:
    """How to get a task's data set onto this machine, named from its config when the index has it."""
    entry = manager.task_index.get(name)
    path = getattr(entry, "yaml_path", None) if entry is not None else None
    dataset = None
    if path:
        try:
            from lm_eval.tasks._yaml_loader import load_yaml   # the index's own reader (handles !function)

            config = load_yaml(path, resolve_func=False)
            dataset = config.get("dataset_path"), config.get("dataset_name")
        except Exception:  # noqa: BLE001 - a hint only; the generic one below still says what to do
            dataset = None
    if dataset and dataset[0]:
        args = ", ".join(repr(part) for part in dataset if part)
        return (f"fetch it where the hub is reachable: python -c \"import datasets; datasets.load_dataset({args})\" "
                "and copy the Hugging Face datasets cache here, or point a task YAML at local files "
                "(--energy-lm-eval-include DIR)")
    return ("fetch it with `datasets.load_dataset` where the hub is reachable and copy the datasets cache here, "
            "or point a task YAML at local files (--energy-lm-eval-include DIR)")


def _set_like_simple_evaluate(task: Any, fewshot: int | None) -> None:
    """Few-shot count and seed exactly as ``lm_eval.evaluator.simple_evaluate`` sets them."""
    from lm_eval.defaults import DEFAULT_OTHER_SEED

    if fewshot is not None:
        if task.get_config("num_fewshot") != 0:   # a task that fixes 0 shots keeps it, as in lm-eval
            task.set_config(key="num_fewshot", value=fewshot)
    elif task.get_config("num_fewshot") is None:
        task.set_config(key="num_fewshot", value=0)
    task.set_fewshot_seed(seed=DEFAULT_OTHER_SEED)


def _seed_like_simple_evaluate() -> None:
    import numpy as np
    import torch
    from lm_eval.defaults import DEFAULT_OTHER_SEED, DEFAULT_RANDOM_SEED

    random.seed(DEFAULT_RANDOM_SEED)
    np.random.seed(DEFAULT_OTHER_SEED)
    torch.manual_seed(DEFAULT_OTHER_SEED)


def plan_tasks(options: LmEvalOptions) -> list[TaskPlan]:
    """Every leaf task of the named tasks and groups, its documents and requests built.

    An unknown name is a ConfigError (a usage error); a task whose data set cannot be had here
    is a plan with ``skip`` set, so its one line shows and the other tasks run.
    """
    from lm_eval.evaluator_utils import get_sample_size
    from lm_eval.tasks import TaskManager

    _quiet()
    if options.include is not None and not options.include.is_dir():
        raise ConfigError(f"--energy-lm-eval-include {str(options.include)!r}: not a folder of task YAMLs")
    manager = _task_manager(TaskManager, options)
    known = set(manager.all_tasks)
    for name in options.tasks:
        if name not in known and not Path(name).is_file():
            raise ConfigError(f"--energy-lm-eval: unknown lm-eval task or group {name!r}; list them with "
                              "`lm_eval ls tasks` (custom YAMLs: --energy-lm-eval-include DIR)")
    _seed_like_simple_evaluate()
    plans: list[TaskPlan] = []
    for name in options.tasks:
        try:
            loaded = manager.load([name])
        except Exception as exc:  # noqa: BLE001 - a data set that cannot be had: this task is skipped
            plans.append(TaskPlan(name, skip=f"lm-eval task {name}: data set not available here "
                                             f"({_first_line(exc)}); {_dataset_hint(manager, name)}"))
            continue
        for task_name, task in loaded["tasks"].items():
            plans.append(_build_plan(task_name, task, options, get_sample_size))
    return plans


def _task_manager(manager_class: Any, options: LmEvalOptions) -> Any:
    """lm-eval's task index. Indexing all of lm-eval's own YAMLs costs about 10 s of CPU (some
    15,000 entries); when every task asked for is a plain task of the ``--energy-lm-eval-include``
    folder, that folder alone is indexed (``include_defaults=False``), as lm-eval allows. A group
    or tag, or a name not found there, may need lm-eval's own tasks: then everything is indexed."""
    include = str(options.include) if options.include else None
    if include is not None:
        local = manager_class(include_path=include, include_defaults=False)
        if set(options.tasks) <= set(local.all_subtasks):
            return local
    return manager_class(include_path=include)


def _build_plan(name: str, task: Any, options: LmEvalOptions, sample_size: Callable[[Any, Any], Any]) -> TaskPlan:
    if getattr(task, "UNSAFE_CODE", False):
        return TaskPlan(name, skip=f"lm-eval task {name} runs model-written code; run it with lm_eval itself "
                                   "(--confirm_run_unsafe_code) in a sandbox")
    if getattr(task, "MULTIMODAL", False):
        return TaskPlan(name, skip=f"lm-eval task {name} needs images or audio; slm-energy measures text models")
    _set_like_simple_evaluate(task, options.fewshot)
    limit = sample_size(task, options.limit)
    task.build_all_requests(limit=limit, rank=0, world_size=1)
    plan = TaskPlan(name, task)
    for inst in task.instances:
        plan.instances.setdefault(inst.doc_id, []).append(inst)
    for instances in plan.instances.values():
        instances.sort(key=lambda inst: inst.idx)
    for doc_id, doc in task.doc_iterator(rank=0, limit=limit, world_size=1):
        if doc_id in plan.instances:
            plan.docs[doc_id] = doc
    return plan


# -- the language model lm-eval talks to ---------------------------------------------------------

class ServedCannotScore(Exception):
    """A served model gives text, not log-likelihoods."""


class MeasuredLM(LM):  # type: ignore[misc]  # lm-eval is untyped
    """lm-eval's ``LM`` over the model the measuring role holds.

    In-process: lm-eval's ``HFLM`` around the held weights and tokenizer (batch size 1).
    Served: ``generate_until`` through the backend; log-likelihoods raise :class:`ServedCannotScore`.
    """

    def __init__(self, backend: Any) -> None:
        super().__init__()
        self.backend = backend
        self.served_tokens = [0, 0]     # input, output tokens of served generations since the last reset
        self.hf: Any = None
        model = getattr(backend, "model", None)
        tokenizer = getattr(backend, "tokenizer", None)
        if model is not None and tokenizer is not None and hasattr(model, "config"):
            from lm_eval.models.huggingface import HFLM

            self.hf = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=1)

    def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
        if self.hf is None:
            raise ServedCannotScore()
        result: list[tuple[float, bool]] = self.hf.loglikelihood(requests, disable_tqdm=True)
        return result

    def loglikelihood_rolling(self, requests: list[Any]) -> list[float]:
        if self.hf is None:
            raise ServedCannotScore()
        result: list[float] = self.hf.loglikelihood_rolling(requests, disable_tqdm=True)
        return result

    def generate_until(self, requests: list[Any]) -> list[str]:
        if self.hf is not None:
            result: list[str] = self.hf.generate_until(requests, disable_tqdm=True)
            return result
        return [self._served_generation(*request.args) for request in requests]

    def _served_generation(self, context: str, gen_kwargs: dict[str, Any]) -> str:
        from ..backends.sampling import Sampling

        until = gen_kwargs.get("until") or []
        until = [until] if isinstance(until, str) else list(until)
        sample = bool(gen_kwargs.get("do_sample")) and float(gen_kwargs.get("temperature") or 0.0) > 0
        sampling = Sampling(temperature=float(gen_kwargs.get("temperature") or 0.0)) if sample else Sampling()
        generation = self.backend.generate(context, int(gen_kwargs.get("max_gen_toks") or 256), sampling=sampling,
                                           stop=tuple(until))
        self.served_tokens[0] += generation.tokens_input
        self.served_tokens[1] += generation.tokens_output
        text = str(generation.response)
        for term in until:   # as HFLM cuts its continuation
            if term:
                text = text.split(term)[0]
        return text

    def tokens(self, text: str) -> int:
        """Tokens lm-eval's HFLM encodes for ``text`` (in-process models)."""
        return len(self.hf.tok_encode(text)) if self.hf is not None else 0


_BRIDGES: "weakref.WeakKeyDictionary[Any, MeasuredLM]" = weakref.WeakKeyDictionary()


def bridge_for(backend: Any) -> MeasuredLM:
    """One :class:`MeasuredLM` per held model and process (HFLM set-up is paid once, outside windows)."""
    bridge = _BRIDGES.get(backend)
    if bridge is None:
        _quiet()
        bridge = MeasuredLM(backend)
        _BRIDGES[backend] = bridge
    return bridge


# -- one document ------------------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentResult:
    metrics: dict[str, Any]            # "metric,filter" -> this document's value (lm-eval's keys)
    primary: str                       # the first metric of the first filter
    responses: list[Any]               # the filtered responses of the primary filter, one per request
    tokens_input: int
    tokens_output: int
    requests: dict[str, int]
    answer: str                        # the generated text, or the most likely continuation


def run_requests(bridge: MeasuredLM, instances: list[Any]) -> None:
    """All of one document's requests, each type in one call, answers put on the instances.

    This is the work inside the energy window: the same calls lm-eval's ``evaluate`` makes, for
    one document's requests (``repeats`` copies of a request, as there)."""
    for kind in REQUEST_TYPES:
        of_kind = [inst for inst in instances if inst.request_type == kind]
        if not of_kind:
            continue
        cloned = [inst for inst in of_kind for _ in range(inst.repeats)]
        for answer, inst in zip(getattr(bridge, kind)(cloned), cloned, strict=True):
            inst.resps.append(answer)


def _plain(value: Any) -> Any:
    """A metric value as JSON primitives (lm-eval's corpus metrics keep tuples per document)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):   # numpy scalars
        return value.item()
    return value


def score_document(plan: TaskPlan, doc_id: int, bridge: MeasuredLM) -> DocumentResult:
    """The task's filters and ``process_results`` on one answered document (outside the window)."""
    task, instances = plan.task, plan.instances[doc_id]
    for ensemble in getattr(task, "_filters", ()):
        ensemble.apply(instances)
    metrics: dict[str, Any] = {}
    filter_keys = list(instances[0].filtered_resps)
    for key in filter_keys:
        for metric, value in task.process_results(plan.docs[doc_id], [i.filtered_resps[key] for i in instances]).items():
            metrics[f"{metric},{key}"] = _plain(value)
    primary = next(iter(metrics))
    requests: dict[str, int] = {}
    tokens_in = tokens_out = 0
    for inst in instances:
        requests[inst.request_type] = requests.get(inst.request_type, 0) + inst.repeats
        if bridge.hf is not None:
            if inst.request_type == "generate_until":
                tokens_in += bridge.tokens(inst.args[0]) * inst.repeats
                tokens_out += sum(bridge.tokens(str(r)) for r in inst.resps)
            else:
                tokens_in += bridge.tokens("".join(str(a) for a in inst.args)) * inst.repeats
    if bridge.hf is None:
        tokens_in, tokens_out = bridge.served_tokens
    return DocumentResult(metrics, primary, [_plain(i.filtered_resps[filter_keys[0]]) for i in instances],
                          tokens_in, tokens_out, requests, _answer(instances))


def _answer(instances: list[Any]) -> str:
    """The document's answer in words: the generated text, or the continuation scored most likely."""
    generated = [inst for inst in instances if inst.request_type == "generate_until"]
    if generated:
        return str(generated[0].resps[0]) if generated[0].resps else ""
    scored = [inst for inst in instances if inst.request_type == "loglikelihood" and inst.resps]
    if scored:
        best = max(scored, key=lambda inst: float(inst.resps[0][0]))
        return str(best.args[1]).strip()
    return ""


def _aggregations() -> dict[str, Callable[[list[Any]], Any]]:
    """lm-eval's registered aggregation functions by name. The registry fills when
    ``lm_eval.api.metrics`` is imported (loading a task does it; ``slm-energy compare`` does not)."""
    import lm_eval.api.metrics  # noqa: F401 - registers bleu, perplexity, f1, ...
    from lm_eval.api.registry import AGGREGATION_REGISTRY

    return dict(AGGREGATION_REGISTRY.items())


def _aggregation_name(fn: Any) -> str:
    """The name lm-eval registers ``fn`` under (``f1`` for ``f1_score``), else the function's own."""
    found = next((name for name, registered in _aggregations().items() if registered is fn), None)
    return found or str(getattr(fn, "__name__", fn))


def metric_table(plan: TaskPlan) -> dict[str, dict[str, Any]]:
    """Per metric: lm-eval's aggregation (its registered name) and whether higher is better."""
    task = plan.task
    names = {metric: _aggregation_name(fn) for metric, fn in task.aggregation().items()}
    better = task.higher_is_better()
    return {metric: {"aggregation": names.get(metric), "higher_is_better": better.get(metric)}
            for metric in names}


def aggregate(plan: TaskPlan, metric_key: str, values: Iterable[Any]) -> float:
    """The task's own aggregation of per-document values (the number lm-eval reports)."""
    metric = metric_key.split(",", 1)[0]
    return float(plan.task.aggregation()[metric](list(values)))


def corpus_aggregate(aggregation: str, values: list[Any]) -> float | None:
    """lm-eval's aggregation ``aggregation`` (a registered name such as ``bleu``, ``perplexity``,
    ``weighted_perplexity``, ``bits_per_byte``, ``f1``; or the function's name, as records written
    before this stored it) over the documents' recorded values: the corpus-level number lm-eval
    reports (BLEU over the whole corpus, not the mean of per-document BLEU). The values are as
    recorded (lm-eval's per-document tuples stored as JSON lists, which the functions unpack alike).
    None when the name is not in lm-eval's registry (a task's own ``!function`` aggregation) or the
    function refuses the values."""
    registered = _aggregations()
    fn = registered.get(aggregation) or next(
        (function for function in registered.values() if getattr(function, "__name__", None) == aggregation), None)
    if fn is None or not values:
        return None
    try:
        value = float(fn(list(values)))
    except Exception:  # noqa: BLE001 - lm-eval's function on values it did not expect: not shown, not a crash
        return None
    return value if math.isfinite(value) else None


def reset(instances: list[Any]) -> None:
    """A document asked again (a rerun in the same process) starts from no answers."""
    for inst in instances:
        inst.resps.clear()
        inst.filtered_resps.clear()


def skip_reason(slm: Any, ref: DocRef) -> str | None:
    """Why this document cannot run on this model here (one line), or None."""
    if ref.plan.skip is not None:
        return ref.plan.skip
    if bridge_for(slm.model).hf is None and ref.plan.needs_loglikelihood:
        return (f"{slm.alias}: lm-eval task {ref.plan.name} scores log-likelihoods, which a served model does "
                "not give; run it on an in-process model (a local folder or hub id)")
    return None


def run_document(slm: Any, ref: DocRef) -> DocumentResult:
    """Measure one document's requests in one energy window of ``slm``, then score and record it."""
    plan = ref.plan
    instances = plan.instances[ref.doc_id]
    bridge = bridge_for(slm.model)
    reset(instances)
    bridge.served_tokens = [0, 0]
    obs = slm.observation
    obs.query_id, obs.task = ref.id, plan.name
    obs.query = str(instances[0].args[0])
    target = plan.task.doc_to_target(plan.docs[ref.doc_id])
    obs.expected = str(target)
    slm.measured(lambda: run_requests(bridge, instances))
    result = score_document(plan, ref.doc_id, bridge)
    obs.scoring_calls = sum(n for kind, n in result.requests.items() if kind in LOGLIKELIHOOD_TYPES)
    obs.scoring_tokens_input = result.tokens_input
    obs.work_tokens_output = result.tokens_output
    slm.record_score(document_scores(result))
    obs.extra["lm_eval"] = {
        "task": plan.name,
        "doc_id": ref.doc_id,
        "metrics": result.metrics,
        "primary": result.primary,
        "metric_info": metric_table(plan),
        "requests": result.requests,
        "num_fewshot": plan.task.get_config("num_fewshot"),
        "version": LM_EVAL_VERSION,
        "responses": result.responses,
    }
    return result


def document_scores(result: DocumentResult) -> dict[str, Any]:
    """The record's ``scores``: the primary metric as ``score``; ``correct`` when it is right/wrong."""
    value = result.metrics[result.primary]
    number = float(value) if isinstance(value, (int, float)) else None   # bool counts as 0/1
    binary = number is not None and number in (0.0, 1.0)
    return {
        "kind": "lm_eval",
        "metric": result.primary,
        "score": number,
        "correct": bool(number) if binary else None,
        "extracted": result.answer,
        "reason": None if not binary or number else f"{result.primary} = 0 (lm-eval's scoring)",
    }
