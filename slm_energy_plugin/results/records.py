"""Records of one run: a query record per (model, query), a model run per model.

Pure data (no pytest, no I/O). The JSON layout keeps every field of the original
SLM Green Benchmark file (``model, device, total_emissions, total_queries,
avg_emissions_per_query, total_time_s, avg_time_s_per_query, query_history[query,
response, emissions, duration_s, tokens_input, tokens_output, timestamp]``) so old
tools keep reading it, and adds what a reader needs to trust or re-project a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..bulk import frozen_instance
from ..energy.intensity import CarbonContext
from ..energy.reading import EnergyReading, PowerBaseline
from .schema import SCHEMA_VERSION, check_fields

if TYPE_CHECKING:
    from .run_facts import RunFacts

UNITS = {
    "emissions": "kg CO2eq",
    "energy": "kWh",
    "time": "s",
    "power": "W",
    "carbon_intensity": "g CO2eq/kWh",
    "memory": "MB",
}
SEED_MODEL_FIELDS = (
    "model", "device", "total_emissions", "total_queries", "avg_emissions_per_query",
    "total_time_s", "avg_time_s_per_query", "query_history",
)
SEED_QUERY_FIELDS = (
    "query", "response", "emissions", "duration_s", "tokens_input", "tokens_output", "timestamp",
)
# Outcomes that carry an answer to score; an error has none, so it is never counted as wrong.
COUNTED_OUTCOMES = frozenset({"passed", "failed"})


@dataclass(frozen=True)
class QueryRecord:
    """One (model, query) test: what was asked, answered, and what it cost per round."""

    model: str                      # alias, e.g. "tiny-gpt2"
    query_id: str                   # e.g. "q017"
    query: str                      # the prompt as written, before any chat template
    response: str                   # decoded answer of the last round
    tokens_input: int               # prompt tokens including the chat template
    tokens_output: int              # generated tokens (per round)
    duration_s: float               # measured window per round
    sequence: int                   # order of completion within the model (the seed's "timestamp")
    outcome: str = "passed"         # passed / failed / error
    test_id: str = ""
    started_at: str = ""            # ISO 8601, UTC
    rounds: int = 1
    energy: EnergyReading | None = None   # per round
    net_energy_kwh: float | None = None   # energy minus idle power x window
    emissions_kg: float | None = None     # per round, energy x PUE x intensity
    ttft_s: float | None = None
    decode_s: float | None = None
    error: str | None = None
    task: str | None = None
    expected: str | None = None
    scores: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def energy_kwh(self) -> float | None:
        return None if self.energy is None else self.energy.total_kwh

    def to_dict(self) -> dict[str, Any]:
        return {
            # The seed's fields first, with the seed's meaning.
            "query": self.query,
            "response": self.response,
            "emissions": self.emissions_kg,
            "duration_s": self.duration_s,
            "tokens_input": self.tokens_input,
            "tokens_output": self.tokens_output,
            "timestamp": self.sequence,
            # Extensions.
            "query_id": self.query_id,
            "test_id": self.test_id,
            "outcome": self.outcome,
            "error": self.error,
            "started_at": self.started_at,
            "rounds": self.rounds,
            "energy": None if self.energy is None else self.energy.to_dict(),
            "energy_kwh": self.energy_kwh,
            "net_energy_kwh": self.net_energy_kwh,
            "ttft_s": self.ttft_s,
            "decode_s": self.decode_s,
            "task": self.task,
            "expected": self.expected,
            "scores": dict(self.scores),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], model: str, position: int, *, adopt: bool = False) -> "QueryRecord":
        """Read an extended record, or a seed-format one (only the seed fields present).

        ``adopt``: the record keeps ``data``'s ``scores`` and ``extra`` dicts (and its energy's
        ``methods``) instead of copying them, for a validated record nothing else holds (a file
        just parsed): copying three dicts per record was a fifth of building the records."""
        get = data.get
        energy = get("energy")
        sequence = get("timestamp", position)
        scores, extra = get("scores") or {}, get("extra") or {}
        # Without __init__ (see bulk.frozen_instance): every field, in the order declared above.
        return frozen_instance(cls, {
            "model": model,
            # Seed files have no ids: queries are numbered by their position in the file,
            # which matches the suite's numbering of data/queries.txt.
            "query_id": str(get("query_id") or f"q{position + 1:03d}"),
            "query": str(get("query", "")),
            "response": str(get("response", "")),
            "tokens_input": int(get("tokens_input") or 0),
            "tokens_output": int(get("tokens_output") or 0),
            "duration_s": float(get("duration_s") or 0.0),
            "sequence": int(sequence) if isinstance(sequence, (int, float)) else position,
            "outcome": str(get("outcome", "passed")),
            "test_id": str(get("test_id", "")),
            "started_at": str(get("started_at", "")),
            "rounds": int(get("rounds", 1)),
            "energy": EnergyReading.from_dict(energy, adopt=adopt) if energy else None,
            "net_energy_kwh": get("net_energy_kwh"),
            "emissions_kg": get("emissions"),
            "ttft_s": get("ttft_s"),
            "decode_s": get("decode_s"),
            "error": get("error"),
            "task": get("task"),
            "expected": get("expected"),
            "scores": scores if adopt else dict(scores),
            "extra": extra if adopt else dict(extra),
        })


@dataclass(frozen=True)
class LoadRecord:
    """Loading one model in one process: charged to nobody's first query."""

    duration_s: float
    energy: EnergyReading | None
    emissions_kg: float | None
    peak_rss_mb: float | None
    worker: str = "main"
    warmup_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "energy": None if self.energy is None else self.energy.to_dict(),
            "energy_kwh": None if self.energy is None else self.energy.total_kwh,
            "emissions": self.emissions_kg,
            "peak_rss_mb": self.peak_rss_mb,
            "worker": self.worker,
            "warmup_s": self.warmup_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LoadRecord":
        energy = data.get("energy")
        return cls(
            duration_s=float(data["duration_s"]),
            energy=EnergyReading.from_dict(energy) if energy else None,
            emissions_kg=data.get("emissions"),
            peak_rss_mb=data.get("peak_rss_mb"),
            worker=str(data.get("worker", "main")),
            warmup_s=data.get("warmup_s"),
        )


@dataclass(frozen=True)
class ModelInfo:
    """What was loaded: enough to reproduce it."""

    alias: str
    model_id: str                   # hub id or local path
    revision: str | None = None
    device: str = "cpu"
    dtype: str = "float32"
    parameters: int | None = None
    weights: str = "pretrained"     # pretrained / untrained (tiny) / random (shape-faithful)
    prompt_style: str = "plain"
    generation: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # A LoRA adapter run as a model: its folder, rank, base model and whether it was merged (else empty).
    adapter: Mapping[str, Any] = field(default_factory=dict)
    backend: str = "transformers"   # transformers / openai / ollama
    # Served models: base URL (credentials stripped), the server's reported model id, energy scope.
    server: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "alias": self.alias, "model_id": self.model_id, "revision": self.revision,
            "device": self.device, "dtype": self.dtype, "parameters": self.parameters,
            "weights": self.weights, "prompt_style": self.prompt_style,
            "generation": dict(self.generation), "notes": list(self.notes),
            "backend": self.backend, "server": None if self.server is None else dict(self.server),
        }
        data["adapter"] = dict(self.adapter) if self.adapter else None   # a LoRA adapter run as a model
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelInfo":
        return cls(
            alias=str(data["alias"]), model_id=str(data.get("model_id", data["alias"])),
            revision=data.get("revision"), device=str(data.get("device", "cpu")),
            dtype=str(data.get("dtype", "float32")), parameters=data.get("parameters"),
            weights=str(data.get("weights", "pretrained")),
            prompt_style=str(data.get("prompt_style", "plain")),
            generation=dict(data.get("generation") or {}), notes=tuple(data.get("notes") or ()),
            adapter=dict(data.get("adapter") or {}),
            backend=str(data.get("backend", "transformers")), server=data.get("server"),
        )


@dataclass(frozen=True)
class ModelRun:
    """Everything one run measured for one model; one JSON file."""

    info: ModelInfo
    records: tuple[QueryRecord, ...]
    loads: tuple[LoadRecord, ...] = ()
    carbon: CarbonContext | None = None
    idle: PowerBaseline | None = None
    meter: Mapping[str, Any] = field(default_factory=dict)
    machine: Mapping[str, Any] = field(default_factory=dict)
    run_id: str = ""
    started_at: str = ""
    finished_at: str = ""
    status: str = "complete"        # complete / interrupted / failed
    source_format: str = "slm-energy"  # or "seed" when read from an original SLM Green Benchmark file
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Cost figures of the model itself (see slm_energy_plugin.results.performance): torch threads, weight
    # bytes, memory, machine bandwidth, decode rates and MBU, the decode protocol when run.
    performance: Mapping[str, Any] = field(default_factory=dict)
    # What was changed on the way to the file (a NaN score stored as null, ...): schema 1.1.
    warnings: tuple[str, ...] = ()

    @property
    def alias(self) -> str:
        return self.info.alias

    @cached_property
    def facts(self) -> RunFacts:
        """What the report, the summary and compare read off every record, in one pass, once (the run is
        frozen; kept in the instance, not a field: equality, hashing and ``replace`` ignore it)."""
        from .run_facts import facts_of   # run_facts builds on this module

        return facts_of(self)

    @property
    def energy_provenance(self) -> str:
        """'measured', 'estimated', 'mixed' or 'none' over every record of this model."""
        return combine_provenance(r.energy.provenance for r in self.records if r.energy is not None)

    def to_dict(self) -> dict[str, Any]:
        emissions = [r.emissions_kg for r in self.records if r.emissions_kg is not None]
        durations = [r.duration_s for r in self.records]
        total_emissions: float | None = sum(emissions) if emissions else None
        total_time = sum(durations)
        n = len(self.records)
        return {
            # The seed's fields, with the seed's meaning (emissions in kg CO2eq).
            "model": self.info.model_id,
            "device": self.info.device,
            "total_emissions": total_emissions,
            "total_queries": n,
            "avg_emissions_per_query": (total_emissions / len(emissions)) if total_emissions is not None else None,
            "total_time_s": total_time,
            "avg_time_s_per_query": (total_time / n) if n else None,
            "query_history": [r.to_dict() for r in self.records],
            # Extensions.
            "schema_version": SCHEMA_VERSION,
            "units": dict(UNITS),
            "alias": self.info.alias,
            "model_info": self.info.to_dict(),
            "energy_provenance": self.energy_provenance,
            "energy_meter": dict(self.meter),
            "carbon": None if self.carbon is None else self.carbon.to_dict(),
            "idle_power": None if self.idle is None else self.idle.to_dict(),
            "loads": [load.to_dict() for load in self.loads],
            "machine": dict(self.machine),
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "warnings": list(self.warnings),
            "extra": dict(self.extra),
            "performance": dict(self.performance),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], fallback_alias: str = "", *, adopt: bool = False) -> "ModelRun":
        """Read our files and the seed's (which carry only the seed fields).

        ``adopt``: ``data`` is validated (:func:`validate_model_dict`) and dropped by the caller, so
        the records may keep its dicts (see :meth:`QueryRecord.from_dict`)."""
        seed = "schema_version" not in data
        info_data = data.get("model_info")
        if info_data:
            info = ModelInfo.from_dict(info_data)
        else:
            model_id = str(data.get("model") or fallback_alias or "unknown")
            info = ModelInfo(alias=fallback_alias or model_id.rsplit("/", 1)[-1], model_id=model_id,
                             device=str(data.get("device", "unknown")))
        read, alias = QueryRecord.from_dict, info.alias
        records = tuple([read(item, alias, i, adopt=adopt) for i, item in enumerate(data.get("query_history") or [])])
        carbon = data.get("carbon")
        idle = data.get("idle_power")
        return cls(
            info=info,
            records=records,
            loads=tuple(LoadRecord.from_dict(d) for d in data.get("loads") or []),
            carbon=CarbonContext.from_dict(carbon) if carbon else None,
            idle=PowerBaseline.from_dict(idle) if idle else None,
            meter=dict(data.get("energy_meter") or {}),
            machine=dict(data.get("machine") or {}),
            run_id=str(data.get("run_id", "")),
            started_at=str(data.get("started_at", "")),
            finished_at=str(data.get("finished_at", "")),
            status=str(data.get("status", "complete")),
            source_format="seed" if seed else "slm-energy",
            extra=dict(data.get("extra") or {}),
            performance=dict(data.get("performance") or {}),
            warnings=tuple(str(w) for w in data.get("warnings") or ()),
        )

    def with_alias(self, alias: str) -> "ModelRun":
        return replace(
            self,
            info=replace(self.info, alias=alias),
            records=tuple(replace(r, model=alias) for r in self.records),
        )


def validate_model_dict(data: Mapping[str, Any], *, parsed: bool = False) -> list[str]:
    """Problems with a model file, as sentences; empty when it is valid.

    The types, bounds and required fields come from the field table (:mod:`.schema`); seed-format
    files (no ``schema_version``) need only the seed fields. Call it on an upgraded file
    (:func:`.schema.upgrade`): an older ``schema_version`` is reported here as not current.
    ``parsed``: ``data`` is as a JSON parser built it, every key a string (see
    :func:`.schema.validator_for`).
    """
    if not isinstance(data, Mapping):
        return ["the file does not hold a JSON object"]
    problems = check_fields(dict(data), parsed=parsed)
    if problems or "schema_version" not in data:
        return problems
    if data["schema_version"] != SCHEMA_VERSION:
        problems.append(f"schema_version {data['schema_version']!r} is not {SCHEMA_VERSION!r}")
    history = data["query_history"]
    for i, item in enumerate(history):
        energy = item.get("energy")
        if energy is not None and not energy.get("methods"):
            problems.append(f"query_history[{i}].energy has no method labels")
    if data.get("total_queries") != len(history):
        problems.append("total_queries does not match the length of query_history")
    return problems


def combine_provenance(kinds: Iterable[str]) -> str:
    """'measured', 'estimated', 'mixed' or 'none' for a set of per-record provenances."""
    found = set(kinds) - {"none"}
    if not found:
        return "none"
    return found.pop() if len(found) == 1 else "mixed"


def summarize_provenance(runs: Iterable[ModelRun]) -> str:
    """One word for a whole set of runs, used in summary headers."""
    return combine_provenance(run.energy_provenance for run in runs)
