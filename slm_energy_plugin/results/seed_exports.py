"""A run in the shapes the seeds' own tools read: pure (dicts in, dicts out; the command writes them).

- ``seed``: the math benchmark's ``environmental_data_<short>.json`` per model, flat — only the
  original SLM Green Benchmark fields (``model, device, total_emissions, total_queries,
  avg_emissions_per_query, total_time_s, avg_time_s_per_query, query_history[query, response,
  emissions, duration_s, tokens_input, tokens_output, timestamp]``), under the short names its
  analysis scripts open (``gpt2``, ``phi2``, ``deepseek``).
- ``experiment``: the experiment framework's one combined ``experiment_results_YYYYMMDD_HHMMSS.json``.
  Its exact layout was not published with the seed; this is the closest honest shape: one list of
  per-case results with the seed case fields (model, prompt, task_type, reference_text, max_tokens,
  temperature) beside what was measured, the models' facts, and a per-model, per-task summary.
- the summary and per-model rows of the ``xlsx`` workbook (written by render/workbook.py).

Emissions are kg CO2eq, energy kWh, times seconds, as in the model files; every figure is per
generation (one round), and every energy figure carries its provenance (measured / estimated / none).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from ..errors import ConfigError
from .records import SEED_MODEL_FIELDS, SEED_QUERY_FIELDS, UNITS, ModelRun, QueryRecord

# The models the math benchmark's scripts name, by the hub ids this project runs them from.
SEED_SHORT_NAMES: Mapping[str, str] = {
    "openai-community/gpt2": "gpt2", "gpt2": "gpt2",
    "microsoft/phi-2": "phi2",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": "deepseek",
}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def parse_seed_names(pairs: Iterable[str]) -> dict[str, str]:
    """``--seed-name ALIAS=SHORT`` options as a mapping; one line for a malformed one."""
    names: dict[str, str] = {}
    for pair in pairs:
        alias, sep, short = pair.partition("=")
        if not sep or not alias.strip() or not short.strip() or _SAFE.search(short.strip()):
            raise ConfigError(f"--seed-name {pair!r}: write ALIAS=NAME, NAME in letters, digits, '.', '_' or '-' "
                              "(e.g. tiny-gpt2=gpt2)")
        names[alias.strip()] = short.strip()
    return names


def seed_short_name(run: ModelRun, overrides: Mapping[str, str]) -> str:
    """The name in ``environmental_data_<name>.json``: the user's, the seed's for its three models, else the alias."""
    return overrides.get(run.alias) or SEED_SHORT_NAMES.get(run.info.model_id) or _SAFE.sub("-", run.alias)


def seed_file_names(runs: Sequence[ModelRun], overrides: Mapping[str, str]) -> list[str]:
    """One file name per run; two runs that would share one are refused (a file is never overwritten)."""
    unknown = sorted(set(overrides) - {run.alias for run in runs})
    if unknown:
        raise ConfigError(f"--seed-name names model {unknown[0]!r}, which is not in the run "
                          f"(models: {', '.join(run.alias for run in runs)})")
    names = [f"environmental_data_{seed_short_name(run, overrides)}.json" for run in runs]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"two models would both be written to {name}; name one with --seed-name ALIAS=NAME")
    return names


def seed_model_dict(run: ModelRun) -> dict[str, Any]:
    """The model file with the seed's fields only, in the seed's order (nothing nested but query_history)."""
    full = run.to_dict()
    flat = {key: full[key] for key in SEED_MODEL_FIELDS}
    flat["query_history"] = [{key: item[key] for key in SEED_QUERY_FIELDS} for item in full["query_history"]]
    return flat


# -- the experiment framework's combined file ---------------------------------------------------------

def experiment_file_name(runs: Sequence[ModelRun], fallback: datetime) -> str:
    """``experiment_results_YYYYMMDD_HHMMSS.json`` at the run's start (the earliest, for several runs)."""
    starts = []
    for run in runs:
        try:
            starts.append(datetime.fromisoformat(run.started_at.replace("Z", "+00:00")))
        except ValueError:
            continue
    when = min(starts) if starts else fallback
    return f"experiment_results_{when.strftime('%Y%m%d_%H%M%S')}.json"


def _utilisation(record: QueryRecord) -> dict[str, Any]:
    util = record.extra.get("utilisation") or {}
    process = record.extra.get("utilisation_process") or {}
    cpu = util.get("process_cpu_pct") or {}
    rss = util.get("rss_mb") or {}
    return {"cpu_percent_mean": cpu.get("mean"), "cpu_percent_peak": cpu.get("peak"),
            "memory_mb_peak": rss.get("peak"),
            "sampled_process": process.get("sampled", "client") if util else None}


def _served_name(run: ModelRun) -> str:
    server = run.info.server or {}
    return str(server.get("served_name") or run.info.model_id)


def experiment_result(run: ModelRun, record: QueryRecord) -> dict[str, Any]:
    """One case on one model: the seed case's fields, then what was measured."""
    sampling = record.extra.get("sampling") or {}
    energy = record.energy
    return {
        "model": _served_name(run), "alias": run.alias, "case_id": record.query_id,
        "task_type": record.task, "prompt": record.query, "reference_text": record.expected,
        "max_tokens": record.extra.get("max_tokens"), "temperature": sampling.get("temperature"),
        "response": record.response, "outcome": record.outcome, "error": record.error,
        "tokens_input": record.tokens_input, "tokens_output": record.tokens_output,
        "duration_s": record.duration_s, "ttft_s": record.ttft_s, "rounds": record.rounds,
        "energy_kwh": record.energy_kwh,
        "energy_provenance": energy.provenance if energy is not None else "none",
        "energy_methods": dict(energy.methods) if energy is not None else {},
        "emissions_kg": record.emissions_kg,
        **_utilisation(record),
        "scores": dict(record.scores), "started_at": record.started_at,
    }


def _model_facts(run: ModelRun) -> dict[str, Any]:
    server = run.info.server or {}
    details = server.get("details") or {}
    return {"model": _served_name(run), "model_id": run.info.model_id, "backend": run.info.backend,
            "parameters": run.info.parameters, "parameter_size": details.get("parameter_size"),
            "quantization": details.get("quantization_level") or run.info.dtype,
            "device": run.info.device, "energy_provenance": run.energy_provenance,
            "server_process": server.get("process")}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _task_summary(records: Sequence[QueryRecord]) -> dict[str, Any]:
    energy = [r.energy_kwh for r in records if r.energy_kwh is not None]
    emissions = [r.emissions_kg for r in records if r.emissions_kg is not None]
    scored = [r for r in records if r.scores.get("correct") is not None]
    return {"n": len(records), "mean_duration_s": _mean([r.duration_s for r in records]),
            "mean_energy_kwh": _mean(energy), "total_emissions_kg": sum(emissions) if emissions else None,
            "mean_tokens_output": _mean([float(r.tokens_output) for r in records]),
            "correct": sum(1 for r in scored if r.scores.get("correct")), "scored": len(scored)}


def experiment_results(runs: Sequence[ModelRun], timestamp: str) -> dict[str, Any]:
    """The combined file: experiment_info, model_info per alias, results (one per case and model), summary."""
    results = [experiment_result(run, record) for run in runs for record in run.records]
    summary: dict[str, Any] = {}
    for run in runs:
        tasks = sorted({r.task or "-" for r in run.records})
        summary[run.alias] = {task: _task_summary([r for r in run.records if (r.task or "-") == task])
                              for task in tasks}
    return {
        "experiment_info": {
            "timestamp": timestamp, "run_ids": sorted({run.run_id for run in runs if run.run_id}),
            "started_at": min((run.started_at for run in runs if run.started_at), default=None),
            "models": [_served_name(run) for run in runs], "total_tests": len(results),
            "units": dict(UNITS), "exported_by": "slm-energy export --format experiment",
            "figures": "per generation (one round); energy_provenance says measured, estimated or none",
        },
        "model_info": {run.alias: _model_facts(run) for run in runs},
        "results": results,
        "summary": summary,
    }


# -- the math benchmark's workbook ----------------------------------------------------------------

RECORD_COLUMNS = ("query_id", "task", "query", "response", "tokens_input", "tokens_output", "duration_s",
                  "ttft_s", "energy_kwh", "energy_provenance", "emissions_kg", "correct", "score", "outcome",
                  "timestamp")
SUMMARY_COLUMNS = ("model", "model_id", "device", "total_queries", "total_emissions_kg",
                   "avg_emissions_per_query_kg", "total_time_s", "avg_time_s_per_query", "total_energy_kwh",
                   "energy_provenance", "correct", "scored")


def record_row(record: QueryRecord) -> list[Any]:
    correct = record.scores.get("correct")
    return [record.query_id, record.task, record.query, record.response, record.tokens_input,
            record.tokens_output, record.duration_s, record.ttft_s, record.energy_kwh,
            record.energy.provenance if record.energy is not None else "none", record.emissions_kg,
            None if correct is None else bool(correct), record.scores.get("score"), record.outcome, record.sequence]


def summary_row(run: ModelRun) -> list[Any]:
    seed = seed_model_dict(run)
    energy = [r.energy_kwh for r in run.records if r.energy_kwh is not None]
    scored = [r for r in run.records if r.scores.get("correct") is not None]
    return [run.alias, seed["model"], seed["device"], seed["total_queries"], seed["total_emissions"],
            seed["avg_emissions_per_query"], seed["total_time_s"], seed["avg_time_s_per_query"],
            sum(energy) if energy else None, run.energy_provenance,
            sum(1 for r in scored if r.scores.get("correct")), len(scored)]
