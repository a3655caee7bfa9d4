"""Efficiency per quality: accuracy, energy per correct answer, a fixed-band star rating.

Pure (no I/O): builds rows from :class:`~slm_energy_plugin.results.records.ModelRun` objects and
words the method's legend; :mod:`slm_energy_plugin.render.efficiency_table` writes them as a table.

Method (the README repeats it):
- accuracy = correct / scored answers per (model, task), with a 95% Wilson score interval;
- energy per correct answer = mean energy per query / accuracy (= total energy / correct
  answers when every query has an energy figure); undefined with no correct answer;
- quality per energy = correct answers per kJ (accuracy / mean energy per query);
- rating: 1-5 stars on FIXED bands of energy per correct answer, one decade per star
  (``STAR_BANDS_J``), so a model's rating never changes when other models are added;
- Pareto: on the task's front of (mean energy per query, accuracy); a model with no
  correct answer is never on it (answering nothing would be as accurate, for free);
- chance: for multiple choice, when the Wilson interval reaches the guessing rate
  (1 / options) the accuracy is not distinguishable from guessing: no rating, not on the
  front (guessing would be as accurate, for free).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..energy.reading import provenance
from ..stats.binary import wilson_interval as stats_wilson_interval
from ..results.record_columns import RecordColumns, record_columns
from ..results.records import COUNTED_OUTCOMES, ModelRun, combine_provenance
from ..number_format import format_energy
from ..energy.units import J_PER_KWH

# (upper bound of energy per correct answer in joules, stars). A decade per star covers
# ~0.1 J (a tiny model on an accelerator) to ~10 kJ (a reasoning model on a laptop CPU).
STAR_BANDS_J: tuple[tuple[float, int], ...] = ((1.0, 5), (10.0, 4), (100.0, 3), (1000.0, 2), (math.inf, 1))
FEW_CORRECT = 5                     # below this many correct answers, energy per correct is shaky


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval (the statistics module's); (0, 1) when nothing was scored."""
    return (0.0, 1.0) if n <= 0 else stats_wilson_interval(successes, n, 0.95)


def star_rating(energy_per_correct_j: float | None) -> int | None:
    """Stars for an energy per correct answer (None: undefined, e.g. no correct answers)."""
    if energy_per_correct_j is None or energy_per_correct_j != energy_per_correct_j:
        return None
    for upper, stars in STAR_BANDS_J:
        if energy_per_correct_j < upper:
            return stars
    return 1


@dataclass(frozen=True)
class EfficiencyRow:
    model: str
    task: str
    scored: int                         # answers with a right/wrong verdict
    correct: int
    errors: int                         # tests that errored (no answer, not counted)
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    mean_score: float | None
    energy_per_query_j: float | None    # mean over scored answers with an energy figure
    energy_records: int                 # how many scored answers had one
    energy_per_correct_j: float | None
    correct_per_kj: float | None
    stars: int | None
    pareto: bool | None                 # None: not comparable (no energy or nothing scored)
    provenance: str                     # measured / estimated / mixed / none
    chance: float | None = None         # guessing accuracy (multiple choice), else None
    at_chance: bool = False             # the 95% interval reaches the guessing accuracy

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _task_labels(columns: RecordColumns) -> list[str]:
    """Each record's task type, with the input load when the record has one (``summary@long``)."""
    loads = columns.extra.get("load")
    if loads is None:
        return [task or "-" for task in columns.task]
    return [(task or "-") + (f"@{load}" if load else "") for task, load in zip(columns.task, loads)]


@dataclass(frozen=True)
class _Answers:
    """What a row reads of every record of the runs, in run and record order (arrays: a row takes
    its records' values by index instead of asking each record again)."""

    counted: np.ndarray         # the outcome counts (COUNTED_OUTCOMES)
    correct: np.ndarray         # 1.0 right, 0.0 wrong, NaN not scored (metric 'correct')
    score: np.ndarray           # float(scores['score']), where score_given
    score_given: np.ndarray
    energy_kwh: np.ndarray      # the reading's total as the record holds it (objects), where energy_given
    energy_given: np.ndarray
    provenance: np.ndarray      # the reading's provenance (objects)
    scores: list[Mapping[str, Any]]

    @classmethod
    def of(cls, columns: Sequence[RecordColumns]) -> "_Answers":
        # Each label set's provenance (as the readings' own), given to its records by their codes.
        kinds = [["none" if labels is None else provenance(labels) for labels in c.label_sets] for c in columns]
        scores = [c.metrics["score"] for c in columns]
        joules = [c.metrics["energy"] for c in columns]
        return cls(
            counted=_joined([np.array([o in COUNTED_OUTCOMES for o in c.outcome], dtype=bool) for c in columns], bool),
            correct=_joined([c.metrics["correct"] for c in columns], float),
            score=_joined(scores, float),
            score_given=_joined([_given(c.score, v) for c, v in zip(columns, scores)], bool),
            energy_kwh=_joined([np.array(c.energy_kwh, dtype=object) for c in columns], object),
            energy_given=_joined([_given(c.energy_kwh, v) for c, v in zip(columns, joules)], bool),
            provenance=_joined([np.array(k, dtype=object)[c.label_codes] for k, c in zip(kinds, columns)], object),
            scores=[s for c in columns for s in c.scores])


def _joined(parts: Sequence[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts) if parts else np.array([], dtype=dtype)


def _given(raw: Sequence[Any], floats: np.ndarray) -> np.ndarray:
    """Where a field has a value (is not None), from its floats (NaN: None, or a NaN value)."""
    given: np.ndarray = ~np.isnan(floats)
    for i in np.flatnonzero(~given).tolist():
        given[i] = raw[i] is not None
    return given


def _row(model: str, task: str, answers: _Answers, rows: np.ndarray) -> EfficiencyRow:
    """The row of the records at ``rows`` (indices into ``answers``, in record order)."""
    counted = rows[answers.counted[rows]]
    scored = counted[~np.isnan(answers.correct[counted])]
    errors = len(rows) - len(counted)
    n, k = len(scored), int(np.count_nonzero(answers.correct[scored] == 1.0))
    accuracy = k / n if n else None
    low, high = wilson_interval(k, n) if n else (None, None)
    score_values = answers.score[scored[answers.score_given[scored]]].tolist()
    # The scored answers with an energy figure, in order (summed as the records hold them).
    with_energy = scored[answers.energy_given[scored]]
    energies = answers.energy_kwh[with_energy].tolist()
    mean_j = sum(energies) * J_PER_KWH / len(energies) if energies else None
    per_correct = per_kj = None
    if mean_j is not None and mean_j > 0 and accuracy:
        per_correct = mean_j / accuracy
        per_kj = accuracy / (mean_j / 1000.0)
    energy_kind = combine_provenance(set(answers.provenance[with_energy].tolist()))
    chance = _chance([answers.scores[i] for i in scored.tolist()])
    at_chance = chance is not None and low is not None and low <= chance
    return EfficiencyRow(
        model=model, task=task, scored=n, correct=k, errors=errors, accuracy=accuracy,
        ci_low=low, ci_high=high,
        mean_score=sum(score_values) / len(score_values) if score_values else None,
        energy_per_query_j=mean_j, energy_records=len(energies), energy_per_correct_j=per_correct,
        correct_per_kj=per_kj, stars=None if at_chance else star_rating(per_correct), pareto=None,
        provenance=energy_kind, chance=chance, at_chance=at_chance,
    )


def _chance(scored: Sequence[Mapping[str, Any]]) -> float | None:
    """Guessing accuracy when every answer is a multiple choice (1 / number of options)."""
    if not scored or any(s.get("kind") != "multiple_choice" for s in scored):
        return None
    options = [len((s.get("details") or {}).get("loglikelihoods") or {}) or 4 for s in scored]
    return sum(1.0 / n for n in options) / len(options)


def _mark_pareto(rows: list[EfficiencyRow]) -> list[EfficiencyRow]:
    comparable = [r for r in rows if r.accuracy is not None and r.energy_per_query_j is not None]

    def dominated(r: EfficiencyRow) -> bool:
        for o in comparable:
            if o is r:
                continue
            if (o.energy_per_query_j <= r.energy_per_query_j and o.accuracy >= r.accuracy  # type: ignore[operator]
                    and (o.energy_per_query_j < r.energy_per_query_j or o.accuracy > r.accuracy)):  # type: ignore[operator]
                return True
        return False

    ids = {id(r) for r in comparable}
    return [replace(r, pareto=r.correct > 0 and not r.at_chance and not dominated(r)) if id(r) in ids else r
            for r in rows]


def efficiency_rows(runs: Iterable[ModelRun], columns: Sequence[RecordColumns] | None = None) -> list[EfficiencyRow]:
    """One row per (model, task) that has at least one scored answer, tasks in first-seen order.
    ``columns``: each run's :func:`~slm_energy_plugin.results.record_columns.record_columns` when
    the caller has them already."""
    runs = list(runs)
    columns = list(columns) if columns is not None else [record_columns(run) for run in runs]
    groups: dict[tuple[str, str], int] = {}     # (task, model) -> its index, first seen first
    codes = []
    for run, cols in zip(runs, columns):
        labels = _task_labels(cols)
        index = {label: groups.setdefault((label, run.alias), len(groups)) for label in dict.fromkeys(labels)}
        codes.append(np.array([index[label] for label in labels], dtype=np.intp))
    group_of = _joined(codes, np.intp)
    # Each group's records, in run and record order: a stable sort by group, cut where groups end.
    order = np.argsort(group_of, kind="stable")
    ends = np.cumsum(np.bincount(group_of, minlength=len(groups))).tolist()
    answers = _Answers.of(columns)
    rows = [_row(model, task, answers, order[start:end])
            for (task, model), start, end in zip(groups, [0, *ends], ends)]
    rows = [r for r in rows if r.scored > 0]
    by_task: dict[str, list[EfficiencyRow]] = {}
    for r in rows:
        by_task.setdefault(r.task, []).append(r)
    return [row for task_rows in by_task.values() for row in _mark_pareto(task_rows)]


def stars_text(stars: int | None, unicode: bool = True) -> str:
    if stars is None:
        return "-"
    full, empty = ("\u2605", "\u2606") if unicode else ("*", ".")
    return full * stars + empty * (5 - stars)


def efficiency_legend(rows: Sequence[EfficiencyRow], *, unicode: bool = True) -> list[str]:
    bands, lower = [], None
    for upper, stars in STAR_BANDS_J:
        if lower is None:
            span = f"below {format_energy(upper)}"
        elif upper == math.inf:
            span = f"{format_energy(lower)} and above"
        else:
            span = f"{format_energy(lower)}-{format_energy(upper)}"
        bands.append(f"{stars_text(stars, unicode)} {span}")
        lower = upper
    lines = [
        "accuracy: share of correct answers with its 95% Wilson score interval; errored tests are not counted.",
        "per query: mean energy per answer; per correct = mean energy per query / accuracy; "
        "correct/kJ = correct answers per kilojoule.",
        f"rating: fixed bands of energy per correct answer, one decade per star: {', '.join(bands)}; "
        "a rating does not change when models are added.",
        "Pareto: no other model on the same task is both cheaper per query and more accurate "
        "(a model with no correct answers is never on the front).",
    ]
    if any(0 < r.correct < FEW_CORRECT for r in rows):
        lines.append(f"* fewer than {FEW_CORRECT} correct answers: energy per correct answer is very uncertain.")
    chance_rows = [r for r in rows if r.at_chance and r.correct]
    if chance_rows:
        rates = sorted({f"{r.chance:.0%}" for r in chance_rows if r.chance is not None})
        lines.append(f"at chance: the 95% interval reaches the guessing accuracy ({', '.join(rates)} for multiple "
                     "choice); such accuracy is not distinguishable from guessing, so no rating and no Pareto place.")
    if all(r.correct == 0 for r in rows):
        lines.append("No model answered any question correctly (accuracy ~0): energy per correct answer and "
                     "ratings are undefined, not infinite.")
    kinds = {r.provenance for r in rows}
    if kinds & {"estimated", "mixed"}:
        lines.append("energy 'estimated': modelled by the meter (e.g. CodeCarbon's CPU load x TDP and a RAM "
                     "constant), not read from hardware counters; compare such figures with care.")
    if "measured" in kinds:
        lines.append("energy 'measured': read from hardware energy counters (RAPL / NVML).")
    if "none" in kinds:
        lines.append("energy 'none': no energy figure was recorded for these answers.")
    return lines
