"""The results file's field table, the validators built from it, and the upgrades of old versions.

One place per format (as pyperf's METADATA): :data:`FIELDS` gives every field of
``environmental_data_<alias>.json`` its JSON type, unit, meaning and the one function that
writes it. The pydantic validators (TypedDicts) that check files read from disk are *built from* the table
(:func:`validator_for`), the docs' fields page (docs/reference/fields.md) is rendered from it (:func:`markdown_table`, a
test keeps them equal) and a test checks that ``ModelRun.to_dict`` writes exactly these fields.

Files of older versions are upgraded on load, one step at a time, through :data:`UPGRADES`
(a file without ``schema_version`` is an original SLM Green Benchmark file: it needs only
the seed fields). Pure: no pytest, no settings, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Callable, Literal, Mapping, Optional

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import NotRequired, Required, TypedDict

SCHEMA_VERSION = "1.1"
OUTCOMES = ("passed", "failed", "error")
STATUSES = ("complete", "interrupted", "failed", "recovered")

# Bounds on what a file may hold: far beyond any real run, small enough that sums and
# products of the figures stay finite and a hostile file cannot make the reader slow.
MAX_SECONDS = 1e8            # ~3 years of model work
MAX_KWH = 1e9
MAX_KG = 1e12
MAX_COUNT = 10**12           # tokens, rounds, parameters
MAX_TEXT = 16 * 1024 * 1024  # characters of one string (a prompt, a response)
MAX_ITEMS = 1_000_000        # queries in one file, loads, warnings


@dataclass(frozen=True)
class FieldSpec:
    """One JSON field: where it is, what it holds, and who writes it."""

    path: str          # dotted; ``[]`` marks the items of a list: ``query_history[].energy.cpu_kwh``
    type: str          # string, integer, number, boolean, object, array; ``|null`` when it may be null
    unit: str          # "" when not a quantity
    meaning: str
    made_by: str       # the one function that writes it
    required: bool = False   # a reader cannot do without it (seed fields, keys of sub-objects)
    maximum: float | None = None
    # Counts, durations, energy, power and emissions cannot be negative; a field that can (net
    # energy) says so. Numbers are bounded on both sides, on reading and on ingestion (:func:`number_bounds`).
    minimum: float = 0.0
    choices: tuple[str, ...] = ()

    @property
    def parent(self) -> str:
        return self.path.rpartition(".")[0]

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2].removesuffix("[]")


_M = "ModelRun.to_dict"
_Q = "QueryRecord.to_dict"
_E = "EnergyReading.to_dict"
_L = "LoadRecord.to_dict"
_I = "ModelInfo.to_dict"
_C = "CarbonContext.to_dict"
_P = "PowerBaseline.to_dict"


def _energy(prefix: str) -> list[FieldSpec]:
    """The energy object of one measured window (a query's round, a model load)."""
    return [
        FieldSpec(f"{prefix}.total_kwh", "number|null", "kWh", "sum of the components with a figure", _E,
                  maximum=MAX_KWH),
        FieldSpec(f"{prefix}.cpu_kwh", "number|null", "kWh", "CPU energy", _E, maximum=MAX_KWH),
        FieldSpec(f"{prefix}.gpu_kwh", "number|null", "kWh", "GPU energy", _E, maximum=MAX_KWH),
        FieldSpec(f"{prefix}.ram_kwh", "number|null", "kWh", "RAM energy", _E, maximum=MAX_KWH),
        FieldSpec(f"{prefix}.window_s", "number", "s", "length of the measured window", _E, required=True,
                  maximum=MAX_SECONDS),
        FieldSpec(f"{prefix}.methods", "object", "", "how each component was obtained (rapl, nvml, "
                  "cpu-load-estimate, ...)", _E, required=True),
        FieldSpec(f"{prefix}.provenance", "string", "", "measured / estimated / mixed / none", _E),
        FieldSpec(f"{prefix}.meter", "string", "", "the meter that read it", _E),
        FieldSpec(f"{prefix}.warnings", "array", "", "problems the meter noticed (window too short, ...)", _E),
    ]


FIELDS: tuple[FieldSpec, ...] = (
    # The seed's fields, with the seed's meaning.
    FieldSpec("model", "string", "", "hub id or local path of the model", _M, required=True),
    FieldSpec("device", "string", "", "device the model ran on", _M, required=True),
    FieldSpec("total_emissions", "number|null", "kg CO2eq", "over the queries with an energy figure", _M,
              required=True, maximum=MAX_KG),
    FieldSpec("total_queries", "integer", "", "number of entries in query_history", _M, required=True,
              maximum=MAX_ITEMS),
    FieldSpec("avg_emissions_per_query", "number|null", "kg CO2eq", "mean over the queries with a figure", _M,
              required=True, maximum=MAX_KG),
    FieldSpec("total_time_s", "number", "s", "model work over all queries", _M, required=True,
              maximum=MAX_SECONDS),
    FieldSpec("avg_time_s_per_query", "number|null", "s", "mean model work per query", _M, required=True,
              maximum=MAX_SECONDS),
    FieldSpec("query_history", "array", "", "one entry per (model, query) test", _M, required=True),
    FieldSpec("query_history[].query", "string", "", "the prompt as written, before any chat template", _Q,
              required=True),
    FieldSpec("query_history[].response", "string", "", "decoded answer of the last round", _Q, required=True),
    FieldSpec("query_history[].emissions", "number|null", "kg CO2eq", "per round: energy x PUE x intensity",
              _Q, required=True, maximum=MAX_KG),
    FieldSpec("query_history[].duration_s", "number", "s", "measured window per round (at a load level: the request's latency)", _Q, required=True,
              maximum=MAX_SECONDS),
    FieldSpec("query_history[].tokens_input", "integer", "tokens", "prompt tokens, chat template included",
              _Q, required=True, maximum=MAX_COUNT),
    FieldSpec("query_history[].tokens_output", "integer", "tokens", "generated tokens per round", _Q,
              required=True, maximum=MAX_COUNT),
    FieldSpec("query_history[].timestamp", "integer", "", "the query's sequence number within the model", _Q,
              required=True, maximum=MAX_COUNT),
    # Extensions of a query entry.
    FieldSpec("query_history[].query_id", "string", "", "query id, e.g. q017", _Q),
    FieldSpec("query_history[].test_id", "string", "", "pytest node id", _Q),
    FieldSpec("query_history[].outcome", "string", "", "passed / failed / error", _Q, choices=OUTCOMES),
    FieldSpec("query_history[].error", "string|null", "", "why the test errored", _Q),
    FieldSpec("query_history[].started_at", "string", "", "ISO 8601 UTC start of the test", _Q),
    FieldSpec("query_history[].rounds", "integer", "", "measured repeats (figures are per round)", _Q,
              maximum=MAX_COUNT),
    FieldSpec("query_history[].energy", "object|null", "", "energy of one round, per component", _Q),
    *_energy("query_history[].energy"),
    FieldSpec("query_history[].energy_kwh", "number|null", "kWh", "energy.total_kwh, for convenience", _Q,
              maximum=MAX_KWH),
    FieldSpec("query_history[].net_energy_kwh", "number|null", "kWh", "energy minus idle power x window (at a load level: x its share of the window)", _Q,
              maximum=MAX_KWH, minimum=-MAX_KWH),
    FieldSpec("query_history[].ttft_s", "number|null", "s", "time to first token", _Q, maximum=MAX_SECONDS),
    FieldSpec("query_history[].decode_s", "number|null", "s", "time after the first token", _Q,
              maximum=MAX_SECONDS),
    FieldSpec("query_history[].task", "string|null", "", "task kind of a scored query", _Q),
    FieldSpec("query_history[].expected", "string|null", "", "the expected answer", _Q),
    FieldSpec("query_history[].scores", "object", "", "score, correct, extracted, kind, reason", _Q),
    FieldSpec("query_history[].extra", "object", "", "health, decode rate, reasoning tokens, round answers, load figures (backend.load), ...",
              _Q),
    # Extensions of the file.
    FieldSpec("schema_version", "string", "", f"this table's version ({SCHEMA_VERSION})", _M),
    FieldSpec("units", "object", "", "unit of each kind of figure", _M),
    FieldSpec("alias", "string", "", "the model's alias in this run", _M),
    FieldSpec("model_info", "object", "", "what was loaded: enough to reproduce it", _M),
    FieldSpec("model_info.alias", "string", "", "alias", _I, required=True),
    FieldSpec("model_info.model_id", "string", "", "hub id or local path", _I),
    FieldSpec("model_info.revision", "string|null", "", "resolved revision", _I),
    FieldSpec("model_info.device", "string", "", "device", _I),
    FieldSpec("model_info.dtype", "string", "", "weights' dtype", _I),
    FieldSpec("model_info.parameters", "integer|null", "", "parameter count", _I, maximum=MAX_COUNT),
    FieldSpec("model_info.weights", "string", "", "pretrained / untrained / random, +lora for an adapter", _I),
    FieldSpec("model_info.prompt_style", "string", "", "plain or chat template", _I),
    FieldSpec("model_info.generation", "object", "", "generation settings", _I),
    FieldSpec("model_info.notes", "array", "", "notes on the model", _I),
    FieldSpec("model_info.backend", "string", "", "how the model ran: the name of a backend installed in the "
              "slm_energy.backends entry-point group (built-ins: transformers, openai, ollama)", _I),
    FieldSpec("model_info.server", "object|null", "", "served models: base URL (no credentials), the server's "
              "model id, energy scope", _I),
    FieldSpec("model_info.adapter", "object|null", "", "a LoRA adapter run as a model: folder, rank, base, "
              "merged (null for other models)", _I),
    FieldSpec("energy_provenance", "string", "", "measured / estimated / mixed / none over the records", _M),
    FieldSpec("energy_meter", "object", "", "meter name, version, component methods, a sentence", _M),
    FieldSpec("carbon", "object|null", "", "how energy became emissions", _M),
    FieldSpec("carbon.country_iso_code", "string", "", "ISO 3166 alpha-3 code", _C, required=True),
    FieldSpec("carbon.country_name", "string", "", "country name", _C),
    FieldSpec("carbon.intensity_g_per_kwh", "number", "g CO2eq/kWh", "grid carbon intensity", _C,
              required=True, maximum=1e5),
    FieldSpec("carbon.source", "string", "", "where the intensity comes from", _C),
    FieldSpec("carbon.year", "integer|null", "", "year of the intensity", _C, maximum=10_000),
    FieldSpec("carbon.pue", "number", "", "datacenter power usage effectiveness", _C, maximum=100),
    FieldSpec("idle_power", "object|null", "", "idle power measured before the model answered", _M),
    FieldSpec("idle_power.cpu_w", "number|null", "W", "CPU idle power", _P, maximum=1e7),
    FieldSpec("idle_power.gpu_w", "number|null", "W", "GPU idle power", _P, maximum=1e7),
    FieldSpec("idle_power.ram_w", "number|null", "W", "RAM idle power", _P, maximum=1e7),
    FieldSpec("idle_power.total_w", "number|null", "W", "sum of the components", _P, maximum=1e7),
    FieldSpec("idle_power.window_s", "number", "s", "window it was measured over", _P, maximum=MAX_SECONDS),
    FieldSpec("idle_power.methods", "object", "", "how each component was obtained", _P),
    FieldSpec("loads", "array", "", "one entry per process that loaded the model", _M),
    FieldSpec("loads[].duration_s", "number", "s", "load time", _L, required=True, maximum=MAX_SECONDS),
    FieldSpec("loads[].energy", "object|null", "", "energy of the load", _L),
    *_energy("loads[].energy"),
    FieldSpec("loads[].energy_kwh", "number|null", "kWh", "energy.total_kwh", _L, maximum=MAX_KWH),
    FieldSpec("loads[].emissions", "number|null", "kg CO2eq", "emissions of the load", _L, maximum=MAX_KG),
    FieldSpec("loads[].peak_rss_mb", "number|null", "MB", "peak resident memory", _L, maximum=1e12),
    FieldSpec("loads[].worker", "string", "", "xdist worker or main", _L),
    FieldSpec("loads[].warmup_s", "number|null", "s", "unrecorded warm-up", _L, maximum=MAX_SECONDS),
    FieldSpec("machine", "object", "", "host, CPU, cores, memory, virtualisation, GPU, library versions", _M),
    FieldSpec("run_id", "string", "", "the run's id", _M),
    FieldSpec("started_at", "string", "", "ISO 8601 UTC start of the run", _M),
    FieldSpec("finished_at", "string", "", "ISO 8601 UTC end of the run", _M),
    FieldSpec("status", "string", "", "complete / interrupted / failed / recovered", _M, choices=STATUSES),
    FieldSpec("warnings", "array", "", "what was changed on the way to the file (a NaN stored as null, ...)",
              _M),
    FieldSpec("extra", "object", "", "the run's settings, the workers that ran the model", _M),
    FieldSpec("performance", "object", "", "threads, weight bytes, memory, bandwidth, prefill/decode rates, "
              "MBU, the decode protocol when run (see results/performance.py); load: a load level's requests, windows, "
              "throughput and energy", _M),
)

FIELDS_BY_PATH: Mapping[str, FieldSpec] = {f.path: f for f in FIELDS}

# Flags a record carries in ``extra.flags`` when ingestion had to change what it was given.
OUT_OF_RANGE_FLAG = "server-value-out-of-range"
# Measured data kept as it came, never redacted: the question asked, the model's answer and the
# expected answer (a secret there is the data under test, and masking it would change scores).
MEASURED_TEXT = frozenset({"query", "response", "expected"})
TEXT_REPLACED_FLAG = "text-not-encodable-replaced"


def number_bounds(spec: FieldSpec) -> tuple[float, float]:
    """The range a number field may hold: the one source for the validators and for ingestion."""
    return spec.minimum, spec.maximum if spec.maximum is not None else MAX_KG


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def out_of_range_replaced(value: Any, part: str = "") -> tuple[Any, list[str]]:
    """The object at ``part`` (e.g. ``query_history[]``) with every number outside its field's
    bounds replaced, and a sentence for each.

    The replacement is null where the field may be null; a field that may not (the seed format's
    token counts, a window's length) gets 0, the files' figure for "not known" (per-token figures
    leave zero counts out). A server that reports ``completion_tokens=1e30`` or a counter that jumps
    by 1e300 J must not make the file unreadable, nor sit in it as if measured.
    """
    found: list[str] = []

    def clean(item: Any, path: str) -> Any:
        if not isinstance(item, dict):
            return item
        out = {}
        for key, child in item.items():
            field_path = f"{path}.{key}" if path else str(key)
            spec = FIELDS_BY_PATH.get(field_path)
            if spec is None:
                out[key] = child
            elif isinstance(child, list):
                out[key] = [clean(element, field_path + "[]") for element in child]
            elif isinstance(child, dict):
                out[key] = clean(child, field_path)
            elif _is_number(child) and spec.type.removesuffix("|null") in ("number", "integer"):
                low, high = number_bounds(spec)
                if low <= child <= high:
                    out[key] = child
                else:
                    out[key] = None if spec.type.endswith("|null") else 0
                    name = field_path.removeprefix(f"{part}.") if part else field_path
                    stored = "null" if out[key] is None else out[key]
                    found.append(f"{name} was {_short(child)}, outside {low:g}..{high:g}: stored as {stored}")
            else:
                out[key] = child
        return out
    return clean(value, part), found


# --- Validators built from the table -------------------------------------------------------------

_SCALARS: Mapping[str, Any] = {
    "string": str, "integer": int, "number": float, "boolean": bool,
    "object": dict[str, Any], "array": list[Any],
}


def _annotation(spec: FieldSpec, children: Mapping[str, Any]) -> Any:
    base = spec.type.removesuffix("|null")
    item_model = children.get(spec.path + "[]")
    own_model = children.get(spec.path)
    bounds: dict[str, Any] = {}
    if base == "array":
        kind: Any = list[item_model] if item_model is not None else list[Any]  # type: ignore[valid-type]
        bounds = {"max_length": MAX_ITEMS}
    elif base == "object":
        kind = own_model if own_model is not None else dict[str, Any]
    elif spec.choices:
        kind = Literal[spec.choices]
    elif base == "string":
        kind, bounds = str, {"max_length": MAX_TEXT}
    elif base in ("number", "integer"):
        kind = float if base == "number" else int
        low, high = number_bounds(spec)
        bounds = {"ge": low, "le": high}
    else:
        kind = _SCALARS[base]
    if spec.type.endswith("|null") or not spec.required:
        kind = Optional[kind]
    annotated = Annotated[kind, Field(**bounds)]
    return Required[annotated] if spec.required else NotRequired[annotated]


# The functional TypedDict form, typed loosely: the fields are built from the table at run time.
_typed_dict: Any = TypedDict


def validator_for(part: str = "", *, parsed: bool = False) -> TypeAdapter[Any]:
    """The validator of a whole file (or of the object at ``part``, e.g. ``query_history[]``).

    Built bottom-up from :data:`FIELDS`: strict (``"3"`` is no integer), extra fields allowed
    (other tools may add theirs), numbers bounded by the table's maxima, never NaN or infinite.
    Each object is a TypedDict, not a pydantic model: validating 100,000 records into dicts
    takes half the time of building a model instance per object (the result is not kept).

    ``parsed``: for data a JSON parser built, whose keys are all strings. Its objects ignore extra
    fields instead of copying them into the result (a quarter of the time of a results file): it
    accepts and refuses the same data, except that it does not check that an extra field's key is
    a string, which JSON text cannot break.
    """
    return _validators("ignore" if parsed else "allow")[part]


@lru_cache(maxsize=2)
def _validators(extra: Literal["allow", "ignore"]) -> Mapping[str, TypeAdapter[Any]]:
    config = ConfigDict(strict=True, extra=extra, allow_inf_nan=False)
    parents = sorted({f.parent for f in FIELDS}, key=lambda p: (-p.count("."), p == ""))
    children: dict[str, Any] = {}
    for parent in parents:
        own = [f for f in FIELDS if f.parent == parent]
        fields = {f.name: _annotation(f, children) for f in own}
        name = "ResultsFile" if not parent else "".join(p.title() for p in parent.replace("[]", "_item").split("."))
        typed = _typed_dict(name.replace("_", ""), fields)
        typed.__pydantic_config__ = config
        children[parent] = typed
    return {part: TypeAdapter(typed) for part, typed in children.items()}


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the file"


def _sentence(loc: tuple[int | str, ...], error: Any) -> str:
    if error["type"] == "missing":
        return f"{_where(loc[:-1])} misses {loc[-1]!r}" if len(loc) > 1 else f"missing field {loc[-1]!r}"
    if error["type"] == "literal_error":
        return f"{_where(loc)} {_short(error.get('input'))} is not one of {error['ctx']['expected']}"
    return f"{_where(loc)}: {error['msg'].lower()} (got {_short(error.get('input'))})"


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def check_fields(data: Any, part: str = "", *, parsed: bool = False) -> list[str]:
    """Problems with a parsed file (or the object at ``part``) against :data:`FIELDS`; empty when valid.

    ``parsed``: ``data`` is as a JSON parser built it (see :func:`validator_for`)."""
    if not isinstance(data, dict):
        return [f"{part or 'the file'}: not a JSON object"]
    try:
        validator_for(part, parsed=parsed).validate_python(data)
    except ValidationError as exc:
        return [_sentence((part,) * bool(part) + tuple(e["loc"]), e) for e in exc.errors(include_url=False)[:20]]
    return []


# --- Old versions ----------------------------------------------------------------------------------

def _from_1_0(data: dict[str, Any]) -> dict[str, Any]:
    """1.0 -> 1.1: the top-level ``warnings`` list (what was changed on the way to the file) was added."""
    return {**data, "schema_version": "1.1", "warnings": []}


# version -> the step that upgrades a file of that version by one version.
UPGRADES: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"1.0": _from_1_0}
KNOWN_VERSIONS = (*UPGRADES, SCHEMA_VERSION)


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A file of any known version as the current one; a seed file (no version) is returned as is."""
    version = data.get("schema_version")
    if version is None:
        return data
    steps = 0
    while version != SCHEMA_VERSION:
        step = UPGRADES.get(version) if isinstance(version, str) else None
        if step is None or steps > len(UPGRADES):
            raise ValueError(f"schema_version {_short(version)} is not one this slm-energy reads "
                             f"({', '.join(KNOWN_VERSIONS)} or the SLM Green Benchmark format); "
                             "a newer slm-energy may read it")
        data, steps = step(data), steps + 1
        version = data.get("schema_version")
    return data


# --- Writing: nothing non-finite reaches a file -------------------------------------------------

def finite_or_null(value: Any, where: str = "") -> tuple[Any, list[str]]:
    """``value`` with every NaN or infinite float replaced by None, and where each was found.

    JSON has no NaN; a scorer that returns one must not cost the run its files.
    """
    found: list[str] = []

    def clean(item: Any, path: str) -> Any:
        if isinstance(item, float) and not math.isfinite(item):
            found.append(f"{path or 'value'} was {item!r}")
            return None
        if isinstance(item, dict):
            return {k: clean(v, f"{path}.{k}" if path else str(k)) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v, f"{path}[{i}]") for i, v in enumerate(item)]
        return item
    return clean(value, where), found


def markdown_table() -> str:
    """The fields table of docs/reference/fields.md, rendered from :data:`FIELDS`."""
    lines = ["| field | type | unit | meaning | written by |", "|---|---|---|---|---|"]
    for spec in FIELDS:
        kind = spec.type.replace("|", "\\|")      # "number|null": a bare pipe would split the cell
        lines.append(f"| `{spec.path}` | {kind} | {spec.unit} | {spec.meaning} | `{spec.made_by}` |")
    return "\n".join(lines) + "\n"
