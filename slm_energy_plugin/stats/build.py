"""From model runs to what the statistics renderers show (pure: no I/O, no pytest).

Builds one :class:`StatsReport`: a header that says in words how energy was obtained,
and one section per chosen metric holding a :class:`~slm_energy_plugin.stats.core.Comparison`
(or the reason there is none). Also the two helpers needed when runs come from
different places: telling apart equal aliases, and not pairing queries that share an
id but not a text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Iterable, Sequence

from ..bulk import collector_paused
from ..energy.reading import NO_FIGURE_METHODS, is_measured
from ..errors import ConfigError, SlmEnergyError
from .metrics import DEFAULT_METRICS, METRICS, get_metric, has_values, values_by_model
from ..results.records import ModelRun, summarize_provenance
from ..render.format import plural

if TYPE_CHECKING:  # scipy (~60 MB, ~0.7 s) loads only when statistics are computed
    from .core import Comparison

BINARY_METRICS = frozenset({"correct"})


@dataclass(frozen=True)
class MetricSection:
    name: str
    label: str
    unit: str
    binary: bool
    comparison: Comparison | None = None
    reason: str | None = None          # why there is no comparison


@dataclass(frozen=True)
class StatsReport:
    energy: str                        # 'measured', 'estimated', 'mixed' or 'none'
    header: str                        # one line, in words
    sections: tuple[MetricSection, ...]
    notes: tuple[str, ...] = ()
    alpha: float = 0.05


def parse_metric_names(text: str | Sequence[str]) -> list[str]:
    """'energy,latency' -> ['energy', 'latency']; unknown names are a ConfigError."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise ConfigError(f"no metric given; choose from {', '.join(METRICS)}")
    for name in names:
        if name not in METRICS:
            raise ConfigError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
    return list(dict.fromkeys(names))


def _methods(runs: Iterable[ModelRun]) -> tuple[list[str], list[str]]:
    measured: set[str] = set()
    estimated: set[str] = set()
    for run in runs:
        for record in run.records:
            if record.energy is None:
                continue
            for method in record.energy.methods.values():
                if method in NO_FIGURE_METHODS:
                    continue
                (measured if is_measured(method) else estimated).add(method)
    return sorted(measured), sorted(estimated)


def energy_header(runs: Sequence[ModelRun]) -> tuple[str, str]:
    """('measured' | 'estimated' | 'mixed' | 'none', a sentence saying so in words)."""
    kind, sentence = _energy_header(runs)
    # Models whose meter measured nothing for a reason of its own (a server on another machine)
    # say why, so their missing figures are not read as the null meter's choice.
    unmeasured = [f"{run.alias}: {run.meter['description']}" for run in runs
                  if run.energy_provenance == "none" and run.meter.get("name") not in (None, "null")
                  and run.meter.get("description")]
    if not unmeasured:
        return kind, sentence
    if kind == "none":
        return kind, f"Energy: not measured - {'; '.join(unmeasured)}."
    return kind, f"{sentence} Not measured for {'; '.join(unmeasured)}."


def _energy_header(runs: Sequence[ModelRun]) -> tuple[str, str]:
    kind = summarize_provenance(runs)
    measured, estimated = _methods(runs)
    if kind == "measured":
        return kind, f"Energy: measured by hardware energy counters ({', '.join(measured)})."
    if kind == "estimated":
        return kind, ("Energy: ESTIMATED, not measured - no hardware energy counter was read "
                      f"({', '.join(estimated)}); such figures follow run time more than real power.")
    if kind == "mixed":
        by_model = {r.alias: r.energy_provenance for r in runs}
        parts = [f"{how} for {', '.join(m for m, p in by_model.items() if p == how)}"
                 for how in ("measured", "estimated", "mixed") if how in by_model.values()]
        return kind, (f"Energy: partly measured by hardware counters ({', '.join(measured)}), partly "
                      f"ESTIMATED ({', '.join(estimated)}): {'; '.join(parts)}.")
    if any(run.source_format == "seed" for run in runs):
        return kind, ("Energy: no energy figures - SLM Green Benchmark files hold only emissions "
                      "(kg CO2eq) and times, not how they were obtained.")
    return kind, "Energy: not measured (null meter: time and tokens only)."


def _no_values_reason(name: str, runs: Sequence[ModelRun]) -> str:
    reason = f"no model has values for {name}"
    if name in ("energy", "energy_per_token") and any(r.source_format == "seed" for r in runs):
        reason += ("; SLM Green Benchmark files hold no energy in kWh, only emissions in kg CO2eq: "
                   "the 'emissions' and 'latency' metrics apply to them")
    elif name in ("correct", "score"):
        reason += " (answers were not scored)"
    return reason


def build_report(runs: Sequence[ModelRun], metric_names: Sequence[str], *, alpha: float = 0.05,
                 notes: Sequence[str] = ()) -> StatsReport:
    """Compare every model of ``runs`` on each metric named (see metrics.METRICS)."""
    with collector_paused():    # per-query values of every model: acyclic, see bulk.py
        return _build_report(runs, metric_names, alpha=alpha, notes=notes)


def _build_report(runs: Sequence[ModelRun], metric_names: Sequence[str], *, alpha: float,
                  notes: Sequence[str]) -> StatsReport:
    kind, header = energy_header(runs)
    sections = []
    for name in parse_metric_names(metric_names):
        metric = get_metric(name)
        binary = name in BINARY_METRICS
        section = MetricSection(name, metric.label, metric.unit, binary)
        values = values_by_model(runs, metric)
        if not any(values.values()):
            sections.append(replace(section, reason=_no_values_reason(name, runs)))
            continue
        from .core import compare_models

        sections.append(replace(section, comparison=compare_models(values, binary=binary, alpha=alpha)))
    return StatsReport(kind, header, tuple(sections), tuple(notes), alpha)


def disambiguate(runs: Sequence[ModelRun], sources: Sequence[str]) -> tuple[list[ModelRun], list[str]]:
    """Give equal aliases from different sources distinct names (``gpt2@1``, ``gpt2@2``).

    ``sources`` names where each run came from (a file path); the notes say which
    new name is which file, so a reader can tell two machines' gpt2 apart.
    """
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.alias] = counts.get(run.alias, 0) + 1
    seen: dict[str, int] = {}
    renamed, notes = [], []
    for run, source in zip(runs, sources):
        if counts[run.alias] == 1:
            renamed.append(run)
            continue
        seen[run.alias] = seen.get(run.alias, 0) + 1
        name = f"{run.alias}@{seen[run.alias]}"
        renamed.append(run.with_alias(name))
        notes.append(f"{name} = {source}")
    if notes:
        notes.insert(0, "Models with the same alias come from different runs and are shown apart:")
    return renamed, notes


def unpair_different_texts(runs: Sequence[ModelRun]) -> tuple[list[ModelRun], list[str]]:
    """Query ids are only a pairing key when the text behind them is the same.

    Runs made from different query files can reuse ids (seed files number queries by
    position); answers to different texts under one id get distinct ids here, so no
    test pairs them, and a note says which ids were affected.
    """
    texts: dict[str, list[str]] = {}
    for run in runs:
        for record in run.records:
            known = texts.setdefault(record.query_id, [])
            if record.query and record.query not in known:
                known.append(record.query)
    clashing = {qid for qid, found in texts.items() if len(found) > 1}
    if not clashing:
        return list(runs), []
    fixed = []
    for run in runs:
        records = tuple(
            replace(r, query_id=f"{r.query_id}~{texts[r.query_id].index(r.query) + 1}")
            if r.query_id in clashing and r.query else r
            for r in run.records
        )
        fixed.append(replace(run, records=records))
    shown = ", ".join(sorted(clashing)[:5]) + (" ..." if len(clashing) > 5 else "")
    verb = "carries" if len(clashing) == 1 else "carry"
    return fixed, [f"{plural(len(clashing), 'query id')} ({shown}) {verb} different texts in different runs; "
                   "their answers are not paired."]


def choose_metrics(requested: str | Sequence[str] | None, runs: list[ModelRun]) -> tuple[list[str], list[str]]:
    """The metrics to show, and notes about substitutions made for the default choice."""
    if requested is not None:
        names = parse_metric_names(requested)
        if not any(has_values(runs, n) for n in names):
            usable = [n for n in ("energy", "emissions", "latency", "tokens", "correct") if has_values(runs, n)]
            raise SlmEnergyError(f"none of the metrics {', '.join(names)} has values in these files; "
                                 f"try --metrics {','.join(usable) or 'latency'}")
        return names, []
    names, notes = list(DEFAULT_METRICS), []
    if not has_values(runs, "energy") and has_values(runs, "emissions"):
        names[0] = "emissions"
        notes.append("These files hold no energy readings in kWh (SLM Green Benchmark format keeps only "
                     "emissions in kg CO2eq): comparing emissions and latency instead of energy.")
    if has_values(runs, "correct"):
        names.append("correct")
    return names, notes
