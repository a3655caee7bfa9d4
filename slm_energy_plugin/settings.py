"""Options and ini values -> one frozen, validated settings object.

The option table below is the single source for the ``--energy-*`` command-line
options, their ini twins (``energy_*``) and their help. Precedence: command line,
then ini file, then the default. Every bad value is one :class:`ConfigError` line
raised before anything is measured.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .errors import ConfigError
from .results.metrics import DEFAULT_METRICS
from .workload.order import ORDERS



def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def _parse_list(text: str) -> tuple[str, ...]:
    items = [part.strip() for part in re.split(r"[,\s]+", text) if part.strip()]
    return tuple(dict.fromkeys(items))  # keep order, drop repeats


# Upper bounds: a value past them is a typo, not a plan, and would hang a run without a word.
MAX_COUNT = 1_000_000
MAX_NEW_TOKENS = 131_072     # the longest context of the registered models
MAX_SECONDS = 3600.0         # idle and protocol windows: an hour is already a long benchmark


def _count(minimum: int, maximum: int = MAX_COUNT) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 20 else None
        except ValueError:
            value = None
        if value is None:
            raise ValueError("expected a whole number")
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if value > maximum:
            raise ValueError(f"must be at most {maximum:,}")
        return value
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be a finite number >= 0")
    if value > MAX_SECONDS:
        raise ValueError(f"must be at most {MAX_SECONDS:g} seconds (an hour)")
    return value


def _pue(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number such as 1.0 or 1.58") from None
    if not 1.0 <= value <= 5.0:
        raise ValueError("a datacenter PUE lies between 1.0 (no overhead) and 5.0")
    return value


def _counts(minimum: int, maximum: int = MAX_COUNT) -> Callable[[str], tuple[int, ...]]:
    """One whole number or a comma-separated list of them (load levels: ``8`` or ``1,8``)."""
    one = _count(minimum, maximum)

    def parse(text: str) -> tuple[int, ...]:
        values = tuple(dict.fromkeys(one(part) for part in _parse_list(text)))
        if not values:
            raise ValueError("expected a whole number or a list such as 1,8")
        return values
    return parse


MAX_LOAD_LEVEL = 4096        # requests in flight or rows in a batch


def _country(text: str) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("expected an ISO 3166 alpha-3 code such as USA, FRA or DEU")
    return code


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a significance level such as 0.05") from None
    if not 0 < value < 1:
        raise ValueError("a significance level is between 0 and 1, e.g. 0.05")
    return value


def _meter(text: str) -> str:
    from .energy.registry import parse_meter_spec  # the installed meters, by entry point

    try:
        name, argument = parse_meter_spec(text)
    except ConfigError as exc:
        raise ValueError(str(exc).split(": ", 1)[-1]) from None
    return name if argument is None else f"{name}={argument}"


def _per_model(choices: tuple[str, ...], extra: str = "") -> Callable[[str], tuple[tuple[str | None, str], ...]]:
    """``VALUE`` for every model, or ``MODEL=VALUE,...`` per model (both may be mixed)."""
    def parse(text: str) -> tuple[tuple[str | None, str], ...]:
        pairs: list[tuple[str | None, str]] = []
        for item in _parse_list(text):
            target, _, value = item.rpartition("=")
            value = value.strip().lower()
            if value not in choices and not (extra and re.fullmatch(extra, value)):
                raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
            pairs.append((target.strip() or None, value))
        if not pairs:
            raise ValueError("name a value, e.g. " + choices[0])
        return tuple(pairs)
    return parse


def _bandwidth(text: str) -> str | float:
    value = text.strip().lower()
    if value in ("auto", "off"):
        return value
    try:
        number = float(value)
    except ValueError:
        raise ValueError("expected auto, off or a bandwidth in GB/s such as 25.6") from None
    if not 0 < number < 1e6:
        raise ValueError("a memory bandwidth in GB/s is a positive number")
    return number


def _task_data(text: str) -> tuple[tuple[str, str], ...]:
    from .workload.task_data import parse_task_data

    return parse_task_data(text)


def _margin(text: str) -> float:
    """An equivalence margin: ``5%``, ``5`` (percent) or ``0.05``."""
    raw = text.strip().lstrip("±+").strip()
    try:
        value = float(raw.rstrip("%"))
    except ValueError:
        raise ValueError("expected a margin such as 5% or 0.05") from None
    if raw.endswith("%") or value >= 1:
        value /= 100.0
    if not 0 < value < 0.5:
        raise ValueError("an equivalence margin lies between 0 and 50%, e.g. 5%")
    return value


UNTIL = ("all", "decided")


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value
    return parse


def _served_backend(text: str) -> str:
    from .backends.backend_registry import served_backend_names  # the installed ones, by entry point

    names, value = served_backend_names(), text.strip()
    value = value if value in names else value.lower()
    if value not in names:
        raise ValueError(f"expected a served backend installed in the slm_energy.backends entry-point group: "
                         f"{', '.join(names) or 'none installed'}")
    return value


def _bounded(low: float, high: float, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"expected {what}") from None
        if not low <= value <= high:
            raise ValueError(f"must lie between {low:g} and {high:g}")
        return value
    return parse


def _top_p(text: str) -> float:
    value = _bounded(0.0, 1.0, "a probability mass such as 0.9")(text)
    if value == 0.0:
        raise ValueError("must be above 0 (1 keeps every token)")
    return value


DTYPE_CHOICES = ("float32", "bfloat16", "float16")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class OptionSpec:
    """One ``--energy-<name>`` option and its ``energy_<name>`` ini twin."""

    name: str                  # e.g. "max-new-tokens"
    parse: Callable[[str], Any]
    default: Any
    help: str
    metavar: str | None = None
    flag: bool = False         # a store_true switch on the command line

    @property
    def dest(self) -> str:
        return "energy_" + self.name.replace("-", "_")

    @property
    def option(self) -> str:
        return "--energy-" + self.name

    @property
    def help_text(self) -> str:
        """The help with its default stated once (pytest-benchmark's ``Default:`` convention)."""
        if "Default:" in self.help:
            return self.help
        default = ",".join(map(str, self.default)) if isinstance(self.default, tuple) else self.default
        return f"{self.help}. Default: {'none' if default is None else repr(default)}"


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("report", _parse_bool, False, "print the full per-model table and between-model statistics", flag=True),
    OptionSpec("models", _parse_list, None,
               "comma-separated models: registry aliases (see `slm-energy models`), local model folders or "
               "org/name hub ids. Default: the registry's default selection", "A,B,C"),
    OptionSpec("queries", str, None, "queries file, one query per line. Default: data/queries.txt", "PATH"),
    OptionSpec("answers", str, None,
               "expected answers (JSONL: id, answer, task). Default: answers.jsonl beside the queries file, "
               "if present", "PATH"),
    OptionSpec("results-dir", str, "results",
               "the folder of run folders: runs are written there, and commands look there for the latest", "DIR"),
    OptionSpec("meter", _meter, "codecarbon",
               "energy meter NAME[=ARGUMENT], any installed in the slm_energy.meters entry-point group: "
               "codecarbon (hardware counters where present, else estimates), rapl[=POWERCAP_ROOT] (Linux "
               "powercap counters only), null (time and tokens only), prometheus=URL[,metric=NAME,unit=J|mJ|kWh,"
               "labels=k=v;k=v,interval=S] (a serving host's DCGM / node-exporter counters)", "NAME"),
    OptionSpec("country", _country, "USA",
               "ISO 3166 alpha-3 country whose grid carbon intensity turns energy into emissions", "ISO3"),
    OptionSpec("pue", _pue, 1.0, "datacenter power usage effectiveness applied to emissions", "X"),
    OptionSpec("max-new-tokens", _count(1, MAX_NEW_TOKENS), None,
               "tokens to generate per query. Default: each model's registry value", "N"),
    OptionSpec("warmup", _count(0), 1, "warm-up generations per model before measuring (not recorded)", "N"),
    OptionSpec("idle-seconds", _seconds, 2.0,
               "seconds of idle power measured once per process to report net energy; 0 disables", "S"),
    OptionSpec("repeat", _count(1), 1,
               "rounds of each query (through pytest-benchmark's pedantic mode)", "N"),
    OptionSpec("offline", _parse_bool, False,
               "never contact the Hugging Face hub; models must be cached or built locally", flag=True),
    OptionSpec("metrics", _parse_list, DEFAULT_METRICS,
               "comma-separated metrics to compare (energy, energy_per_token, latency, ttft, tokens, emissions, "
               "correct, score)", "A,B"),
    OptionSpec("alpha", _alpha, 0.05, "significance level of the statistical tests and the gate", "A"),
    OptionSpec("compare", str, None,
               "a saved run (run folder or model JSON) to compare this session's models with, by alias", "PATH"),
    OptionSpec("compare-fail", str, None,
               "with --energy-compare: fail the session when a model's median rose by more than the threshold "
               "and a one-sided paired Wilcoxon test on shared queries says so at --energy-alpha, "
               "e.g. energy:10%%,latency:5%%; for a sequential run (this one or the baseline) when the "
               "always-valid interval of the ratio to the baseline lies above 1 at that run's alpha", "SPECS"),
    OptionSpec("dtype", _per_model(DTYPE_CHOICES), None,
               "weights' dtype: float32, bfloat16 or float16 for every model, or MODEL=DTYPE,... per model. "
               "Default: each model's registry value", "DTYPE"),
    OptionSpec("device", _per_model(DEVICE_CHOICES, r"cuda:\d+"), None,
               "where models run: auto, cpu, cuda[:N] or mps for every model, or MODEL=DEVICE,... per model. "
               "Default: each model's registry value (auto: cuda, else mps, else cpu)", "DEVICE"),
    OptionSpec("decode-protocol", _parse_bool, False,
               "per model, also measure the LLM-Perf protocol (batch 1, 256 input tokens, exactly 64 new "
               "tokens): prefill and decode energy, decode tokens/kWh", flag=True),
    OptionSpec("protocol-warmup", _count(0), 10, "warm-up generations of the decode protocol", "N"),
    OptionSpec("protocol-min-seconds", _seconds, 10.0,
               "the decode protocol repeats each target until this many seconds ...", "S"),
    OptionSpec("protocol-min-iterations", _count(1), 10, "... and this many iterations have passed", "N"),
    OptionSpec("html", _parse_bool, False,
               "at the end of the session, write report.html (figures, statistics in words; see `slm-energy "
               "report`) into the run folder", flag=True),
    OptionSpec("bandwidth", _bandwidth, "auto",
               "memory bandwidth for bandwidth utilisation (MBU): auto (a copy benchmark, run once per "
               "machine and cached), off, or a figure in GB/s", "GBPS"),
    # Run order (issue 10): see workload/order.py.
    OptionSpec("order", _choice(ORDERS), "interleaved",
               "run order: interleaved (each query on every model before the next query, models rotated "
               "per query; all models stay loaded) or grouped (model by model: drift in the machine is then "
               "confounded with the model)", "ORDER"),
    # Served models (openai:NAME, ollama:NAME): see backends/served.py.
    OptionSpec("base-url", str, None,
               "base URL of the OpenAI-compatible server for openai:NAME models without one in the registry. "
               "Default: $OPENAI_BASE_URL, else http://127.0.0.1:8000/v1", "URL"),
    OptionSpec("request-deadline", _bounded(0.1, 86400.0, "seconds such as 300"), None,
               "served models and the Prometheus meter: seconds one request or scrape may take in all (a dripping "
               "or endless answer is cut there, outcome error; a scrape's window is not measured). Default: 60 s + "
               "1 s per requested token (max_tokens); 15 s a scrape", "S"),
    OptionSpec("response-max-mb", _bounded(0.01, 4096.0, "megabytes such as 32"), 32.0,
               "served models and the Prometheus meter: most megabytes read from one answer after "
               "decompression (a gzip bomb stops there, outcome error); one streamed line at most 1 MB", "MB"),
    OptionSpec("concurrency", _counts(1, MAX_LOAD_LEVEL), (1,),
               "served models: send the run's queries of a model with N requests in flight in one energy window "
               "(shared among requests by time overlap); 1 = one request at a time. A list (1,4) measures each "
               "served model once per level, as models ALIAS-c1, ALIAS-c4 compared in one summary", "N[,N]"),
    OptionSpec("batch-size", _counts(1, MAX_LOAD_LEVEL), (1,),
               "in-process models: generate the run's queries of a model N at a time (left-padded batches, one "
               "energy window per batch, shared by time overlap); 1 = one query per test. A list (1,8) measures "
               "each model once per size, as models ALIAS-b1, ALIAS-b8 compared in one summary", "N[,N]"),
    # Workloads (issue 13): task cases, sampling, stop sequences, utilisation sampling.
    OptionSpec("registry", str, None,
               "your own models file (data/models.json's format): its models are added to the built-in "
               "registry, its default_selection (else its models) becomes the default; relative paths in it "
               "are taken against its folder", "PATH"),
    OptionSpec("cases", str, None,
               "task cases in the seed's test_cases.json format (JSON list: prompt, task_type, model, "
               "reference_text, max_tokens, temperature, ...). Default: data/test_cases.json", "PATH"),
    OptionSpec("cases-backend", _served_backend, None,
               "run the models the cases name (e.g. llama3.2:3b) on this served engine when they are not "
               "selected: any served backend installed in the slm_energy.backends entry-point group, e.g. "
               "ollama ($OLLAMA_HOST) or openai (--energy-base-url). Without it such a case is a usage "
               "error; a case may also name BACKEND:NAME (ollama:NAME, openai:NAME) itself", "BACKEND"),
    OptionSpec("task-data", _task_data, None,
               "the real task sets for benchmarks/test_tasks.py: sql=SPIDER_FOLDER (dev.json + database/) and/or "
               "mmlu=MMLU_DATA_FOLDER (test/<subject>_test.csv). Default: the project's small sets in data/tasks",
               "KIND=PATH,..."),
    OptionSpec("temperature", _bounded(0.0, 2.0, "a temperature such as 0 or 0.7"), None,
               "sampling temperature for queries, and for cases that set none; 0 = greedy. "
               "Default: greedy for queries, 0.7 (the seed format's) for cases", "T"),
    OptionSpec("top-p", _top_p, None, "nucleus sampling mass when sampling (cases may set their own)", "P"),
    OptionSpec("seed", _count(0), 0,
               "base seed of sampled generations: round r of a query samples with seed + r (recorded)", "N"),
    OptionSpec("stops", _parse_bool, True,
               "stop plain-prompt models at their prompt format's stop strings (and cases' stop lists); "
               "off generates to end-of-sequence or the token limit", "on|off"),
    # Sequential verdicts (issue 23): see stats/sequential.py and roles/sequential_run.py.
    OptionSpec("until", _choice(UNTIL), "all",
               "all: run every query; decided: queries in a random order fixed by --energy-seed, and the "
               "session stops measuring once every pair of models is decided (different, or equivalent "
               "within --energy-equivalence) on --energy-metrics by an always-valid confidence sequence "
               "at --energy-alpha", "all|decided"),
    OptionSpec("equivalence", _margin, 0.05,
               "with --energy-until decided: two models are equivalent when the ratio's always-valid "
               "interval lies within 1 ± this margin (5%% or 0.05)", "MARGIN"),
    OptionSpec("max-queries", _count(1), None,
               "with --energy-until decided: stop after this many queries even if pairs are undecided. "
               "Default: all the queries", "N"),
    OptionSpec("futility", _parse_bool, True,
               "with --energy-until decided: a pair with under 5%% predictive power to reach a verdict by the "
               "last planned query stops early as undecided (futile); off runs such pairs to the end", "on|off"),
    OptionSpec("sample-hz", _bounded(0.0, 100.0, "samples per second such as 10"), 10.0,
               "utilisation samples per second while a model works (CPU, RSS, NVIDIA GPU); 0 = off", "HZ"),
    # lm-evaluation-harness tasks (issue 22): see workload/lm_eval.py and docs/lm-eval.md.
    OptionSpec("lm-eval", _parse_list, None,
               "comma-separated lm-evaluation-harness task or group names (gsm8k, mmlu, arc_easy, ...): "
               "benchmarks/test_lm_eval.py measures each document's requests in one energy window and scores "
               "it with the task's own metrics (needs the [lm-eval] extra)", "TASKS"),
    OptionSpec("lm-eval-include", str, None, "a folder of custom lm-eval task YAMLs (lm_eval's --include_path)",
               "DIR"),
    OptionSpec("lm-eval-limit", _count(1), None, "documents per lm-eval task (lm_eval's --limit). Default: all",
               "N"),
    OptionSpec("lm-eval-fewshot", _count(0, 1000), None,
               "few-shot examples per document (lm_eval's --num_fewshot). Default: each task's own", "K"),
)


@dataclass(frozen=True)
class Settings:
    """Validated run settings, built once per process in pytest_configure."""

    report: bool = False
    models: tuple[str, ...] | None = None
    queries: Path | None = None
    answers: Path | None = None
    results_dir: Path = Path("results")
    meter: str = "codecarbon"
    country: str = "USA"
    pue: float = 1.0
    max_new_tokens: int | None = None
    warmup: int = 1
    idle_seconds: float = 2.0
    repeat: int = 1
    offline: bool = False
    metrics: tuple[str, ...] = DEFAULT_METRICS
    alpha: float = 0.05
    compare: Path | None = None
    compare_fail: str | None = None
    dtype: tuple[tuple[str | None, str], ...] = ()
    device: tuple[tuple[str | None, str], ...] = ()
    decode_protocol: bool = False
    protocol_warmup: int = 10
    protocol_min_seconds: float = 10.0
    protocol_min_iterations: int = 10
    bandwidth: str | float = "auto"
    html: bool = False
    order: str = "interleaved"
    base_url: str | None = None
    concurrency: tuple[int, ...] = (1,)
    request_deadline: float | None = None
    response_max_mb: float = 32.0
    batch_size: tuple[int, ...] = (1,)
    registry: Path | None = None
    cases: Path | None = None
    cases_backend: str | None = None
    task_data: tuple[tuple[str, str], ...] = ()
    temperature: float | None = None
    top_p: float | None = None
    seed: int = 0
    stops: bool = True
    sample_hz: float = 10.0
    until: str = "all"
    equivalence: float = 0.05
    max_queries: int | None = None
    futility: bool = True
    lm_eval: tuple[str, ...] | None = None
    lm_eval_include: Path | None = None
    lm_eval_limit: int | None = None
    lm_eval_fewshot: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.report,
            "models": list(self.models) if self.models else None,
            "queries": str(self.queries) if self.queries else None,
            "answers": str(self.answers) if self.answers else None,
            "results_dir": str(self.results_dir),
            "meter": self.meter,
            "country": self.country,
            "pue": self.pue,
            "max_new_tokens": self.max_new_tokens,
            "warmup": self.warmup,
            "idle_seconds": self.idle_seconds,
            "repeat": self.repeat,
            "offline": self.offline,
            "metrics": list(self.metrics),
            "alpha": self.alpha,
            "compare": str(self.compare) if self.compare else None,
            "compare_fail": self.compare_fail,
            "dtype": _pairs_text(self.dtype),
            "device": _pairs_text(self.device),
            "decode_protocol": self.decode_protocol,
            "protocol_warmup": self.protocol_warmup,
            "protocol_min_seconds": self.protocol_min_seconds,
            "protocol_min_iterations": self.protocol_min_iterations,
            "bandwidth": self.bandwidth,
            "html": self.html,
            "order": self.order,
            "base_url": _strip_url(self.base_url),
            "concurrency": list(self.concurrency),
            "request_deadline": self.request_deadline,
            "response_max_mb": self.response_max_mb,
            "batch_size": list(self.batch_size),
            "registry": str(self.registry) if self.registry else None,
            "cases": str(self.cases) if self.cases else None,
            "cases_backend": self.cases_backend,
            "task_data": dict(self.task_data) or None,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "stops": self.stops,
            "sample_hz": self.sample_hz,
            "until": self.until,
            "equivalence": self.equivalence,
            "max_queries": self.max_queries,
            "futility": self.futility,
            "lm_eval": list(self.lm_eval) if self.lm_eval else None,
            "lm_eval_include": str(self.lm_eval_include) if self.lm_eval_include else None,
            "lm_eval_limit": self.lm_eval_limit,
            "lm_eval_fewshot": self.lm_eval_fewshot,
        }


def _strip_url(url: str | None) -> str | None:
    from .backends.served import strip_credentials

    return None if url is None else strip_credentials(url)


def _pairs_text(pairs: tuple[tuple[str | None, str], ...]) -> str | None:
    return ",".join(value if target is None else f"{target}={value}" for target, value in pairs) or None


def hub_offline_from_env(environ: Mapping[str, str] = os.environ) -> bool:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, read the way huggingface_hub reads them."""
    return any(environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def build_settings(
    cli_values: Mapping[str, Any],
    ini_values: Mapping[str, Any],
    rootdir: Path,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Resolve every option (CLI > ini > default) and validate it.

    ``cli_values``/``ini_values`` map option dests to raw values (None or "" = not given).
    Relative paths are taken against ``rootdir`` so a run from a subfolder writes to the same place.
    """
    resolved: dict[str, Any] = {}
    for spec in OPTIONS:
        raw = cli_values.get(spec.dest)
        origin = spec.option
        if raw is None or (spec.flag and raw is False):
            ini_raw = ini_values.get(spec.dest)
            if ini_raw not in (None, ""):
                raw, origin = ini_raw, f"ini option {spec.dest}"
        if raw is None or (spec.flag and raw is False):
            resolved[spec.dest] = spec.default
            continue
        if isinstance(raw, bool) or not isinstance(raw, str):
            resolved[spec.dest] = raw
            continue
        try:
            resolved[spec.dest] = spec.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{origin}={raw!r}: {exc}") from None

    def path_or_none(value: Any) -> Path | None:
        if value in (None, ""):
            return None
        path = Path(os.path.expanduser(str(value)))
        return path if path.is_absolute() else rootdir / path

    models = resolved["energy_models"]
    if models is not None and not models:
        raise ConfigError("--energy-models is empty: name at least one model, e.g. --energy-models tiny-gpt2")
    metrics = resolved["energy_metrics"]
    from .results.metrics import METRICS  # local import keeps settings importable on its own

    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"--energy-metrics: unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    compare_fail = resolved["energy_compare_fail"]
    if compare_fail:
        if not resolved["energy_compare"]:
            raise ConfigError("--energy-compare-fail needs --energy-compare PATH: the saved run to compare with")
        from .stats.gate import parse_gate_specs  # numpy/scipy only when a gate is asked for

        parse_gate_specs(compare_fail)
    if resolved["energy_until"] == "decided":
        _check_sequential(resolved)
    return Settings(
        report=bool(resolved["energy_report"]),
        models=models,
        queries=path_or_none(resolved["energy_queries"]),
        answers=path_or_none(resolved["energy_answers"]),
        results_dir=path_or_none(resolved["energy_results_dir"]) or rootdir / "results",
        meter=resolved["energy_meter"],
        country=resolved["energy_country"],
        pue=float(resolved["energy_pue"]),
        max_new_tokens=resolved["energy_max_new_tokens"],
        warmup=int(resolved["energy_warmup"]),
        idle_seconds=float(resolved["energy_idle_seconds"]),
        repeat=int(resolved["energy_repeat"]),
        offline=bool(resolved["energy_offline"]) or hub_offline_from_env(environ),
        metrics=tuple(metrics),
        alpha=float(resolved["energy_alpha"]),
        compare=path_or_none(resolved["energy_compare"]),
        compare_fail=compare_fail or None,
        dtype=tuple(resolved["energy_dtype"] or ()),
        device=tuple(resolved["energy_device"] or ()),
        decode_protocol=bool(resolved["energy_decode_protocol"]),
        protocol_warmup=int(resolved["energy_protocol_warmup"]),
        protocol_min_seconds=float(resolved["energy_protocol_min_seconds"]),
        protocol_min_iterations=int(resolved["energy_protocol_min_iterations"]),
        bandwidth=resolved["energy_bandwidth"],
        html=bool(resolved["energy_html"]),
        order=resolved["energy_order"],
        base_url=_base_url(resolved["energy_base_url"]),
        concurrency=tuple(resolved["energy_concurrency"]),
        request_deadline=resolved["energy_request_deadline"],
        response_max_mb=float(resolved["energy_response_max_mb"]),
        batch_size=tuple(resolved["energy_batch_size"]),
        registry=path_or_none(resolved["energy_registry"]),
        cases=path_or_none(resolved["energy_cases"]),
        cases_backend=resolved["energy_cases_backend"],
        task_data=_task_paths(resolved["energy_task_data"], rootdir),
        temperature=resolved["energy_temperature"],
        top_p=resolved["energy_top_p"],
        seed=int(resolved["energy_seed"]),
        stops=bool(resolved["energy_stops"]),
        sample_hz=float(resolved["energy_sample_hz"]),
        until=resolved["energy_until"],
        equivalence=float(resolved["energy_equivalence"]),
        max_queries=resolved["energy_max_queries"],
        futility=bool(resolved["energy_futility"]),
        lm_eval=resolved["energy_lm_eval"] or None,
        lm_eval_include=path_or_none(resolved["energy_lm_eval_include"]),
        lm_eval_limit=resolved["energy_lm_eval_limit"],
        lm_eval_fewshot=resolved["energy_lm_eval_fewshot"],
    )


def _task_paths(pairs: tuple[tuple[str, str], ...] | None, rootdir: Path) -> tuple[tuple[str, str], ...]:
    from .workload.task_data import resolve_paths

    return resolve_paths(pairs, rootdir) if pairs else ()


def _check_sequential(resolved: Mapping[str, Any]) -> None:
    """--energy-until decided compares positive per-query costs in the interleaved order."""
    from .results.metrics import METRICS
    from .stats.sequential import SEQUENTIAL_METRICS

    # What only an energy meter gives (time and tokens need none), as the metric table says.
    metered = [name for name, metric in METRICS.items() if metric.needs_meter]
    unfit = [m for m in resolved["energy_metrics"] if m not in SEQUENTIAL_METRICS]
    if unfit:
        raise ConfigError(f"--energy-until decided compares positive costs as ratios; {unfit[0]!r} is not one: "
                          f"choose --energy-metrics from {', '.join(SEQUENTIAL_METRICS)}")
    unmeasured = [m for m in resolved["energy_metrics"] if m in metered]
    if resolved["energy_meter"] == "null" and unmeasured:
        # The null meter measures no energy: those pairs would never get a value, so the run could not stop.
        raise ConfigError(f"--energy-until decided with --energy-meter null has no {unmeasured[0]!r} to compare: "
                          f"choose --energy-metrics from {', '.join(m for m in SEQUENTIAL_METRICS if m not in metered)}, "
                          "or another meter")
    if resolved["energy_order"] != "interleaved":
        raise ConfigError("--energy-until decided needs the interleaved order (a verdict after each query "
                          "block); drop --energy-order grouped")


def _base_url(value: str | None) -> str | None:
    from .backends.served import check_base_url

    return None if not value else check_base_url(value, "--energy-base-url")


def add_cli_options(parser: Any, names: Sequence[str], defaults: Mapping[str, tuple[Any, str]] | None = None) -> None:
    """Declare options of the table on an argparse parser, without the ``--energy-`` prefix.

    The plugin and the ``slm-energy`` commands share one declaration of each option (as
    pytest-benchmark's ``add_*_options`` builders do): same parser, same help, same one-line errors.
    ``defaults`` maps a name to (default, its description) where a command means something else by
    "not given" (e.g. compare's metrics: energy and latency, plus correct where answers were scored).
    """
    by_name = {spec.name: spec for spec in OPTIONS}
    for name in names:
        spec = by_name[name]
        default, default_text = (defaults or {}).get(name, (spec.default, ""))
        help_text = f"{spec.help}. Default: {default_text}" if default_text else spec.help_text
        # Parsed by parse_cli_options, not by argparse: its errors would print the usage, not one line.
        parser.add_argument("--" + spec.name, dest=spec.name.replace("-", "_"), default=default,
                            metavar=spec.metavar, help=help_text)


def parse_cli_options(args: Any, names: Sequence[str]) -> None:
    """Parse, in place, the options :func:`add_cli_options` declared; one-line ConfigError on bad values."""
    by_name = {spec.name: spec for spec in OPTIONS}
    for name in names:
        dest = name.replace("-", "_")
        raw = getattr(args, dest)
        if isinstance(raw, str):
            try:
                setattr(args, dest, by_name[name].parse(raw))
            except ValueError as exc:
                raise ConfigError(f"--{name}={raw!r}: {exc}") from None

