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
from typing import Any, Iterable, Sequence

from ..stats.binary import wilson_interval as stats_wilson_interval
from ..results.records import COUNTED_OUTCOMES, ModelRun, QueryRecord, combine_provenance
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


def _task_of(record: QueryRecord) -> str:
    """The task type, with the input load when the record has one (e.g. ``summary@long``)."""
    load = record.extra.get("load") if record.extra else None
    return (record.task or "-") + (f"@{load}" if load else "")


def _row(model: str, task: str, records: Sequence[QueryRecord]) -> EfficiencyRow:
    counted = [r for r in records if r.outcome in COUNTED_OUTCOMES]
    scored = [r for r in counted if r.scores and r.scores.get("correct") is not None]
    errors = len(records) - len(counted)
    n, k = len(scored), sum(1 for r in scored if bool(r.scores.get("correct")))
    accuracy = k / n if n else None
    low, high = wilson_interval(k, n) if n else (None, None)
    score_values = [float(r.scores["score"]) for r in scored if r.scores.get("score") is not None]
    # The scored answers' readings with an energy figure (record.energy_kwh is not None), in order.
    energies = [e for r in scored if (e := r.energy) is not None and e.total_kwh is not None]
    mean_j = (sum(e.total_kwh for e in energies) * J_PER_KWH / len(energies)  # type: ignore[misc]
              if energies else None)
    per_correct = per_kj = None
    if mean_j is not None and mean_j > 0 and accuracy:
        per_correct = mean_j / accuracy
        per_kj = accuracy / (mean_j / 1000.0)
    provenance = combine_provenance({e.provenance for e in energies})
    chance = _chance(scored)
    at_chance = chance is not None and low is not None and low <= chance
    return EfficiencyRow(
        model=model, task=task, scored=n, correct=k, errors=errors, accuracy=accuracy,
        ci_low=low, ci_high=high,
        mean_score=sum(score_values) / len(score_values) if score_values else None,
        energy_per_query_j=mean_j, energy_records=len(energies), energy_per_correct_j=per_correct,
        correct_per_kj=per_kj, stars=None if at_chance else star_rating(per_correct), pareto=None,
        provenance=provenance, chance=chance, at_chance=at_chance,
    )


def _chance(scored: Sequence[QueryRecord]) -> float | None:
    """Guessing accuracy when every answer is a multiple choice (1 / number of options)."""
    if not scored or any(r.scores.get("kind") != "multiple_choice" for r in scored):
        return None
    options = [len((r.scores.get("details") or {}).get("loglikelihoods") or {}) or 4 for r in scored]
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


def efficiency_rows(runs: Iterable[ModelRun]) -> list[EfficiencyRow]:
    """One row per (model, task) that has at least one scored answer, tasks in first-seen order."""
    grouped: dict[tuple[str, str], list[QueryRecord]] = {}
    for run in runs:
        alias = run.alias
        for record in run.records:
            grouped.setdefault((_task_of(record), alias), []).append(record)
    rows = [_row(model, task, recs) for (task, model), recs in grouped.items()]
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
