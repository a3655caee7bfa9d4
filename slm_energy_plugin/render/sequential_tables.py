"""A finished sequential run read back (``run.json``'s ``sequential`` block) for ``compare`` and
``report``: which runs are sequential, their verdicts as rows, and the fixed-n tables without tests.

Pure: the manifests are read by :mod:`slm_energy_plugin.results.run_manifest`. The block is read
tolerantly (fields added by later versions are kept and shown where they are known, e.g. a pair's
``reason``); a block that lacks what the verdicts need is one line, never a crash. The terminal
lines are the session summary's own (:func:`.sequential_lines.sequential_lines`).

Why the fixed-n tests go: a sequential run stopped measuring when its intervals decided, so its
sample size depends on the data; Wilcoxon, Mann-Whitney, Friedman, Kruskal-Wallis and McNemar
p-values assume a size fixed in advance and would overstate the evidence. The per-model values
(medians, quartiles, bootstrap CIs) are kept as descriptions of what was measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..results.records import ModelRun, combine_provenance
from ..safety import redact_tree
from ..stats.build import StatsReport
from ..number_format import num, plural
from .sequential_lines import PROVENANCE_WORDS, sequential_lines

UNTIL_DECIDED = "decided"     # settings.until of a sequential run (--energy-until decided)
SCALE = "ratio of geometric means per query (first / second model)"
# The sequential rows' columns added to compare's CSV (only when a sequential run is compared).
CSV_COLUMNS = ("after_queries", "queries_planned", "tests_deselected", "energy_j", "energy_provenance")

_NUMBERS = ("alpha", "alpha_per_pair", "equivalence_margin")
_COUNTS = ("queries_run", "queries_planned", "tests_deselected")
_TEXTS = ("method_text", "stop_reason")


@dataclass(frozen=True)
class SequentialRun:
    """One sequential run among the compared files: its checked block, or why it cannot be shown."""

    run_id: str
    models: tuple[str, ...]
    provenance: str                       # of its models' energy: measured, estimated, mixed, none
    block: Mapping[str, Any] | None       # checked by :func:`block_problem`; strings made safe to show
    problem: str | None = None


@dataclass(frozen=True)
class Verdict:
    """One (pair, metric) row of a sequential block."""

    pair: str
    first: str
    second: str
    metric: str
    decision: str
    after_queries: int | None
    paired_queries: int | None
    ratio: float | None
    ci: tuple[float | None, float | None] | None
    energy_j: float | None
    reason: str | None                    # why it was decided / left open, where the block says


def is_sequential(run: ModelRun) -> bool:
    """Made with ``--energy-until decided`` (the model file keeps the run's settings)."""
    settings = run.extra.get("settings")
    return isinstance(settings, Mapping) and settings.get("until") == UNTIL_DECIDED


def _number(value: Any, *, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any, *, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _pair_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "a pair is not an object"
    for key in ("pair", "metric", "decision"):
        if not isinstance(entry.get(key), str):
            return f"a pair's {key!r} is not text"
    if not _count(entry.get("after_queries"), optional=True):
        return f"{entry['pair']}: 'after_queries' is not a count"
    for key in ("ratio", "energy_j"):
        if not _number(entry.get(key), optional=True):
            return f"{entry['pair']}: {key!r} is not a number"
    ci = entry.get("ci")
    if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(_number(v, optional=True) for v in ci)):
        return f"{entry['pair']}: 'ci' is not two bounds"
    return None


def block_problem(block: Any) -> str | None:
    """Why ``block`` cannot be shown (the first thing missing or of the wrong kind), or None."""
    if not isinstance(block, dict):
        return "it is not an object"
    for key in _TEXTS:
        if not isinstance(block.get(key), str):
            return f"{key!r} is missing or not text"
    for key in _NUMBERS:
        if not _number(block.get(key)):
            return f"{key!r} is missing or not a number"
    for key in _COUNTS:
        if not _count(block.get(key)):
            return f"{key!r} is missing or not a count"
    if not _number(block.get("energy_j"), optional=True):
        return "'energy_j' is not a number"
    if "seed" not in block or not (block["seed"] is None or isinstance(block["seed"], (int, str))):
        return "'seed' is missing"
    pairs = block.get("pairs")
    if not isinstance(pairs, list):
        return "'pairs' is missing or not a list"
    return next((problem for problem in map(_pair_problem, pairs) if problem), None)


def sequential_runs(runs: Sequence[ModelRun], sources: Sequence[str],
                    manifests: Mapping[str, Mapping[str, Any] | str]) -> list[SequentialRun]:
    """The sequential runs among ``runs`` (each from the file in ``sources`` beside it).

    ``manifests``: folder -> its ``run.json`` (or the line saying why it could not be read), as
    :func:`~slm_energy_plugin.results.run_manifest.read_manifests` gives them. A run is sequential
    when its model files' settings say so, or when its own manifest has a ``sequential`` block.
    """
    members: dict[str, list[ModelRun]] = {}
    found: dict[str, Mapping[str, Any] | str | None] = {}
    for run, source in zip(runs, sources):
        folder = str(Path(source).parent)
        manifest = manifests.get(folder)
        own = manifest if isinstance(manifest, Mapping) and manifest.get("run_id") == run.run_id else None
        if not (is_sequential(run) or (own is not None and "sequential" in own)):
            continue
        key = run.run_id or folder
        members.setdefault(key, []).append(run)
        if own is not None or found.get(key) is None:   # a run's own manifest wins over a problem line
            found[key] = own if own is not None else manifest if isinstance(manifest, str) else None
    return [_sequential_run(key, members[key], found[key]) for key in members]


def _sequential_run(key: str, runs: list[ModelRun], manifest: Mapping[str, Any] | str | None) -> SequentialRun:
    models = tuple(run.alias for run in runs)
    provenance = combine_provenance(run.energy_provenance for run in runs)
    if manifest is None:
        return SequentialRun(key, models, provenance, None, "its run.json is not beside its model files")
    if isinstance(manifest, str):
        return SequentialRun(key, models, provenance, None, manifest)
    if "sequential" not in manifest:
        return SequentialRun(key, models, provenance, None,
                             "its run.json has no 'sequential' block (an interrupted run, or one rebuilt by "
                             "`slm-energy recover`)")
    problem = block_problem(manifest["sequential"])
    if problem is not None:
        return SequentialRun(key, models, provenance, None, f"its run.json's 'sequential' block: {problem}")
    return SequentialRun(key, models, provenance, redact_tree(manifest["sequential"]))


def session_run(run_id: str, runs: Sequence[ModelRun], block: Mapping[str, Any]) -> SequentialRun:
    """A pytest session's own sequential run, from the block it writes to its run.json (checked alike)."""
    return _sequential_run(run_id, list(runs), {"run_id": run_id, "sequential": block})


def problem_lines(runs: Sequence[SequentialRun]) -> list[str]:
    return [f"Sequential run {run.run_id} ({', '.join(run.models)}): its verdicts cannot be shown - {run.problem}."
            for run in runs if run.problem is not None]


FIXED_N_REASON = ("Fixed-n tests (Wilcoxon, Mann-Whitney, Friedman, Kruskal-Wallis, McNemar) are not shown for a "
                  "sequential run: it stopped on the data, so their p-values would overstate the evidence.")


def by_task_refusal(runs: Sequence[SequentialRun]) -> str:
    """Why ``compare --by task`` (and an accuracy gate) refuses a sequential run, and what to run instead."""
    run = runs[0]
    return (f"per-task comparisons (--by task, --fail correct:-Npp): run {run.run_id} ({', '.join(run.models)}) is a "
            "sequential run (--energy-until decided); per-task fixed-n tests (McNemar, Wilson and Newcombe "
            "intervals) are not valid on its adaptively stopped samples (each model stopped when its own verdicts "
            "were decided): use `slm-energy compare RUN` for its verdicts, or a run with --energy-until all for "
            "per-task tests")


def fixed_n_note(runs: Sequence[SequentialRun]) -> str:
    """The line that says why the compared files show no fixed-n tests."""
    which = "a sequential run" if len(runs) == 1 else "sequential runs"
    return (f"The files come from {which} (--energy-until decided): the verdicts are the always-valid "
            f"intervals under 'Sequential verdicts'. {FIXED_N_REASON} The per-model values describe what was "
            "measured.")


def without_fixed_n(report: StatsReport, note: str) -> StatsReport:
    """``report`` with its per-model values and without its tests (omnibus and pairs), plus ``note``."""
    sections = tuple(section if section.comparison is None else
                     replace(section, comparison=replace(section.comparison, omnibus=(), pairs=()))
                     for section in report.sections)
    return replace(report, sections=sections, notes=tuple(report.notes) + (note,))


def verdicts(block: Mapping[str, Any]) -> list[Verdict]:
    """The checked block's pairs as rows (``first vs second`` split back into the two models)."""
    rows = []
    for entry in block["pairs"]:
        first, _, second = entry["pair"].partition(" vs ")
        ci = entry.get("ci")
        reason = entry.get("reason")
        rows.append(Verdict(entry["pair"], first, second, entry["metric"], entry["decision"],
                            entry.get("after_queries"), entry.get("paired_queries")
                            if _count(entry.get("paired_queries")) else None,
                            entry.get("ratio"), None if ci is None else (ci[0], ci[1]), entry.get("energy_j"),
                            reason if isinstance(reason, str) and reason else None))
    return rows


def legend(block: Mapping[str, Any], provenance: str) -> str:
    """How to read the verdict rows: scale, interval, queries and energy."""
    return (f"Ratio: first / second model, the geometric mean of the per-query ratios (the interval is on "
            f"per-query log ratios, the same scale). Always-valid CI: it holds at every look at once with "
            f"probability 1 - {float(block['alpha_per_pair']):.3g} per pair (alpha {float(block['alpha']):g} "
            "shared by the pairs of a metric), so stopping early keeps its coverage. Different: the interval "
            f"excludes 1; equivalent: it lies within 1 ± {float(block['equivalence_margin']):.0%}; undecided: "
            "neither when the queries ran out. Queries: the query blocks looked at when the pair was decided. "
            f"Energy: both models' query energy until the verdict ({energy_words(provenance)}).")


def energy_words(provenance: str) -> str:
    """How the energy figures of a run were obtained, in the summary's words."""
    return PROVENANCE_WORDS.get(provenance, "not measured")


def stop_sentence(block: Mapping[str, Any], provenance: str) -> str:
    """How far the run went, why it stopped, what it left out and what it spent, in one sentence."""
    return (f"Ran {block['queries_run']} of {block['queries_planned']} queries in a random order (seed "
            f"{block['seed']}), stopped: {block['stop_reason']}; {plural(int(block['tests_deselected']), 'test')} "
            "deselected (not run, not failed). Query energy of all models: "
            f"{_joules(block.get('energy_j'), provenance)}.")


def _joules(value: float | None, provenance: str) -> str:
    return "not measured" if value is None else f"{num(value)} J ({energy_words(provenance)})"


def text_lines(runs: Sequence[SequentialRun]) -> list[str]:
    """Each sequential run's verdicts in the terminal summary's lines, headed by its run when several."""
    lines: list[str] = []
    shown = [run for run in runs if run.block is not None]
    for run in shown:
        assert run.block is not None
        if len(shown) > 1:
            lines += ["", f"Run {run.run_id} ({', '.join(run.models)}):"]
        lines += sequential_lines(run.block, run.provenance)
    return lines


def json_blocks(runs: Sequence[SequentialRun]) -> list[dict[str, Any]]:
    """Each run's block as stored (every field, also those this version does not know), with its run."""
    return [{"run_id": run.run_id, "models": list(run.models), "energy_provenance": run.provenance,
             "scale": SCALE, "block": None if run.block is None else dict(run.block), "problem": run.problem}
            for run in runs]


def csv_rows(runs: Sequence[SequentialRun]) -> list[dict[str, Any]]:
    """Rows for compare's CSV: one ``sequential-run`` row per run, one ``sequential`` row per verdict."""
    rows: list[dict[str, Any]] = []
    for run in runs:
        block = run.block
        if block is None:
            rows.append({"row": "sequential-run", "note": run.problem, "energy_provenance": run.provenance})
            continue
        rows.append({"row": "sequential-run", "method": block["method_text"], "reason": block["stop_reason"],
                     "n": block["queries_run"], "after_queries": block["queries_run"],
                     "queries_planned": block["queries_planned"], "tests_deselected": block["tests_deselected"],
                     "energy_j": block.get("energy_j"), "energy_provenance": run.provenance,
                     "note": f"run {run.run_id}: " + stop_sentence(block, run.provenance)})
        confidence = 1.0 - float(block["alpha_per_pair"])
        for verdict in verdicts(block):
            low, high = verdict.ci if verdict.ci is not None else (None, None)
            rows.append({"row": "sequential", "metric": verdict.metric, "model": verdict.first,
                         "model_b": verdict.second, "n_shared": verdict.paired_queries, "status": verdict.decision,
                         "test": "always-valid confidence sequence", "method": block["method_text"],
                         "kind": "ratio", "estimate": verdict.ratio, "low": low, "high": high,
                         "confidence": confidence, "scale": SCALE, "reason": verdict.reason,
                         "after_queries": verdict.after_queries, "energy_j": verdict.energy_j,
                         "energy_provenance": run.provenance})
    return rows
