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
from typing import Any, Callable, Mapping

from .errors import ConfigError
from .stats.metrics import DEFAULT_METRICS



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


def _country(text: str) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError("expected an ISO 3166 alpha-3 code such as USA, FRA or DEU")
    return code


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
        default = ",".join(self.default) if isinstance(self.default, tuple) else self.default
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
    OptionSpec("results-dir", str, "results", "where run folders are written", "DIR"),
    OptionSpec("meter", _meter, "codecarbon",
               "energy meter NAME[=ARGUMENT], any installed in the slm_energy.meters entry-point group: "
               "codecarbon (hardware counters where present, else estimates), rapl[=POWERCAP_ROOT] (Linux "
               "powercap counters only), null (time and tokens only)", "NAME"),
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
               "metrics compared in the --energy-report summary", "A,B"),
    OptionSpec("compare", str, None,
               "a saved run (run folder or model JSON) to compare this session's models with, by alias", "PATH"),
    OptionSpec("compare-fail", str, None,
               "with --energy-compare: fail the session when a model's median rose by more than the threshold "
               "and a one-sided paired Wilcoxon test on shared queries says so at 0.05, "
               "e.g. energy:10%%,latency:5%%", "SPECS"),
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
    OptionSpec("bandwidth", _bandwidth, "auto",
               "memory bandwidth for bandwidth utilisation (MBU): auto (a copy benchmark, run once per "
               "machine and cached), off, or a figure in GB/s", "GBPS"),
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
    compare: Path | None = None
    compare_fail: str | None = None
    dtype: tuple[tuple[str | None, str], ...] = ()
    device: tuple[tuple[str | None, str], ...] = ()
    decode_protocol: bool = False
    protocol_warmup: int = 10
    protocol_min_seconds: float = 10.0
    protocol_min_iterations: int = 10
    bandwidth: str | float = "auto"

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
            "compare": str(self.compare) if self.compare else None,
            "compare_fail": self.compare_fail,
            "dtype": _pairs_text(self.dtype),
            "device": _pairs_text(self.device),
            "decode_protocol": self.decode_protocol,
            "protocol_warmup": self.protocol_warmup,
            "protocol_min_seconds": self.protocol_min_seconds,
            "protocol_min_iterations": self.protocol_min_iterations,
            "bandwidth": self.bandwidth,
        }


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
    from .stats.metrics import METRICS  # local import keeps settings importable on its own

    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError(f"--energy-metrics: unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    compare_fail = resolved["energy_compare_fail"]
    if compare_fail:
        if not resolved["energy_compare"]:
            raise ConfigError("--energy-compare-fail needs --energy-compare PATH: the saved run to compare with")
        from .stats.gate import parse_gate_specs  # numpy/scipy only when a gate is asked for

        parse_gate_specs(compare_fail)
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
        compare=path_or_none(resolved["energy_compare"]),
        compare_fail=compare_fail or None,
        dtype=tuple(resolved["energy_dtype"] or ()),
        device=tuple(resolved["energy_device"] or ()),
        decode_protocol=bool(resolved["energy_decode_protocol"]),
        protocol_warmup=int(resolved["energy_protocol_warmup"]),
        protocol_min_seconds=float(resolved["energy_protocol_min_seconds"]),
        protocol_min_iterations=int(resolved["energy_protocol_min_iterations"]),
        bandwidth=resolved["energy_bandwidth"],
    )
