"""From model runs to what the statistics renderers show (pure: no I/O, no pytest).

Builds one :class:`StatsReport`: a header that says in words how energy was obtained,
and one section per chosen metric holding a :class:`~slm_energy_plugin.stats.core.Comparison`
(or the reason there is none). Also the two helpers needed when runs come from
different places: telling apart equal aliases, and not pairing queries that share an
id but not a text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import chain
from pathlib import PurePath
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from ..bulk import collector_paused
from ..energy.reading import NO_FIGURE_METHODS, is_measured
from ..errors import ConfigError, SlmEnergyError
from ..results.metrics import DEFAULT_METRICS, METRICS, get_metric, has_values, values_by_model
from ..results.records import ModelRun, combine_provenance
from ..number_format import plural

if TYPE_CHECKING:  # scipy (~60 MB, ~0.7 s) loads only when statistics are computed
    from .core import Comparison, ValueTable

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
        for method in run.facts.methods:    # the labels of every record, gathered once per run
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
                  if run.facts.provenance == "none" and run.meter.get("name") not in (None, "null")
                  and run.meter.get("description")]
    if not unmeasured:
        return kind, sentence
    if kind == "none":
        return kind, f"Energy: not measured - {'; '.join(unmeasured)}."
    return kind, f"{sentence} Not measured for {'; '.join(unmeasured)}."


def _energy_header(runs: Sequence[ModelRun]) -> tuple[str, str]:
    kind = combine_provenance(run.facts.provenance for run in runs)   # as summarize_provenance
    measured, estimated = _methods(runs)
    if kind == "measured":
        return kind, f"Energy: measured by hardware energy counters ({', '.join(measured)})."
    if kind == "estimated":
        return kind, ("Energy: ESTIMATED, not measured - no hardware energy counter was read "
                      f"({', '.join(estimated)}); such figures follow run time more than real power.")
    if kind == "mixed":
        by_model = {r.alias: r.facts.provenance for r in runs}
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


# (metric name, binary) -> that metric's values as compare_table takes them, or None for "from the records"
TablesOf = Callable[[str, bool], "ValueTable | None"]


def build_report(runs: Sequence[ModelRun], metric_names: Sequence[str], *, alpha: float = 0.05,
                 notes: Sequence[str] = (), tables: TablesOf | None = None) -> StatsReport:
    """Compare every model of ``runs`` on each metric named (see metrics.METRICS).

    ``tables``: each metric's values already in a table (the report builds them from the table its
    figures were drawn from, at once: :func:`.frame_stats.value_table`), the same values as from the
    records; where it gives None, or without it, they are read from the records."""
    with collector_paused():    # per-query values of every model: acyclic, see bulk.py
        return _build_report(runs, metric_names, alpha=alpha, notes=notes, tables=tables)


def _build_report(runs: Sequence[ModelRun], metric_names: Sequence[str], *, alpha: float,
                  notes: Sequence[str], tables: TablesOf | None) -> StatsReport:
    kind, header = energy_header(runs)
    sections = []
    for name in parse_metric_names(metric_names):
        metric = get_metric(name)
        binary = name in BINARY_METRICS
        section = MetricSection(name, metric.label, metric.unit, binary)
        from .core import compare_models, compare_table

        table = None if tables is None else tables(name, binary)
        if table is not None:
            if not table.has_values():
                sections.append(replace(section, reason=_no_values_reason(name, runs)))
                continue
            sections.append(replace(section, comparison=compare_table(table, binary=binary, alpha=alpha)))
            continue
        per_query = values_by_model(runs, metric)
        if not any(per_query.values()):
            sections.append(replace(section, reason=_no_values_reason(name, runs)))
            continue
        sections.append(replace(section, comparison=compare_models(per_query, binary=binary, alpha=alpha)))
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


def unpair_different_texts(runs: Sequence[ModelRun],
                           run_keys: Sequence[str] | None = None) -> tuple[list[ModelRun], list[str]]:
    """Query ids are only a pairing key when the text behind them is the same.

    Runs made from different query files can reuse ids (seed files number queries by
    position), and within one run a task case, a load level or a test of its own can ask
    another text under a query's id. Each (id, text) becomes its own id here (``q001~2``),
    the same in every model, so answers pair by text and are never averaged across texts;
    a note says which ids were affected and whether the texts differ within a run or
    between runs (``run_keys``: the run each of ``runs`` came from; default: one run).
    """
    if not _texts_differ(runs):
        return list(runs), []
    keys = list(run_keys) if run_keys is not None else [""] * len(runs)
    texts: dict[str, list[str]] = {}
    per_run: dict[tuple[str, str], set[str]] = {}
    for run, key in zip(runs, keys):
        for record in run.records:
            known = texts.setdefault(record.query_id, [])
            if record.query and record.query not in known:
                known.append(record.query)
            if record.query:
                per_run.setdefault((key, record.query_id), set()).add(record.query)
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
    within = {qid for (_, qid), found in per_run.items() if qid in clashing and len(found) > 1}
    if len(set(keys)) <= 1:
        where = "within the run"
    elif within == clashing:
        where = "within a run"
    elif within:
        where = "within a run or in different runs"
    else:
        where = "in different runs"
    shown = ", ".join(sorted(clashing)[:5]) + (" ..." if len(clashing) > 5 else "")
    verb = "carries" if len(clashing) == 1 else "carry"
    return fixed, [f"{plural(len(clashing), 'query id')} ({shown}) {verb} different texts {where}; "
                   "answers are paired by id and text, each text on its own (shown as id~1, id~2)."]


def _texts_differ(runs: Sequence[ModelRun]) -> bool:
    """Whether some query id carries two different (non-empty) texts. Nearly always none does,
    and the work of splitting ids per text (a look-up per record) is then not needed: when each
    run asks each id once and every run gives each id the same text, that is settled by comparing
    the runs' id -> text mappings; else by the distinct (id, text) pairs."""
    mappings = []
    for run in runs:
        ids = [r.query_id for r in run.records]
        mapping = dict(zip(ids, [r.query for r in run.records]))
        if len(mapping) < len(ids):
            return _pairs_differ(runs)
        mappings.append(mapping)
    return any(m != mappings[0] for m in mappings) and _pairs_differ(runs)


def _pairs_differ(runs: Sequence[ModelRun]) -> bool:
    pairs = dict.fromkeys(chain.from_iterable(
        zip([r.query_id for r in run.records], [r.query for r in run.records]) for run in runs))
    first: dict[str, str] = {}
    return any(first.setdefault(query_id, text) != text for query_id, text in pairs if text)


def run_key(run: ModelRun, source: str | None) -> str:
    """Which run a model comes from: its run id, else the folder of its file."""
    if run.run_id:
        return run.run_id
    return PurePath(source).parent.as_posix() if source else ""


def prepare_for_pairing(runs: Sequence[ModelRun],
                        sources: Sequence[str] | None = None) -> tuple[list[ModelRun], list[str]]:
    """The ONE preparation of model runs before anything pairs their queries.

    Used by the session summary, ``slm-energy compare``, the plots and the HTML report, so
    they count the same shared queries and compute the same statistics. ``sources``: the
    file each run came from (None: the runs of this session). Equal aliases are told apart,
    an id asked with different texts is split per text; the notes say so, and say when the
    models come from more than one run.
    """
    keys = [run_key(run, source) for run, source in
            zip(runs, sources if sources is not None else [None] * len(runs))]
    named, alias_notes = disambiguate(runs, sources if sources is not None else keys)
    paired, text_notes = unpair_different_texts(named, keys)
    notes = []
    if len(set(keys)) > 1:
        notes.append("The models come from more than one run: differences mix model and machine/run effects.")
    return paired, notes + alias_notes + text_notes


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
