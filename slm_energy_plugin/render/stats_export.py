"""A :class:`~slm_energy_plugin.stats.build.StatsReport` (and gate results) as JSON or CSV.

Pure: returns strings. JSON keeps every field of every result, in the stored order of
each pair (effects > 0 mean the first model's values are larger); CSV is one long
table, one row per model summary, test or estimate, for spreadsheets and pandas.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from typing import Any, Mapping, Sequence

from ..spreadsheet import spreadsheet_safe
from ..stats.gate import GateResult
from ..stats.core import PairComparison
from ..stats.build import StatsReport

CSV_COLUMNS = (
    "metric", "unit", "row", "model", "model_b", "n", "n_shared", "paired", "dropped", "median", "q1", "q3",
    "mean", "std", "ci_low", "ci_high", "correct", "accuracy", "test", "statistic_name", "statistic", "df",
    "p_value", "p_holm", "effect_name", "effect", "kind", "estimate", "low", "high", "confidence", "method",
    "note", "reason", "status", "threshold", "baseline_median", "current_median", "change", "scale",
)


def _pair_dict(pair: PairComparison) -> dict[str, Any]:
    data = asdict(pair)
    data["paired"] = pair.paired
    return data


def report_dict(report: StatsReport, gate: Sequence[GateResult] | None = None) -> dict[str, Any]:
    metrics = []
    for section in report.sections:
        entry: dict[str, Any] = {"metric": section.name, "label": section.label, "unit": section.unit,
                                 "binary": section.binary, "reason": section.reason}
        c = section.comparison
        if c is not None:
            entry.update(
                models=list(c.models), n_common=c.n_common, alpha=c.alpha,
                bootstrap={"resamples": c.bootstrap_resamples, "seed": c.bootstrap_seed,
                           "method": "percentile bootstrap of the median"},
                summaries=[asdict(s) for s in c.summaries], accuracies=[asdict(a) for a in c.accuracies],
                omnibus=[asdict(t) for t in c.omnibus], pairs=[_pair_dict(p) for p in c.pairs],
                notes=list(c.notes),
            )
        metrics.append(entry)
    data: dict[str, Any] = {"energy_provenance": report.energy, "energy_header": report.header,
                            "alpha": report.alpha, "notes": list(report.notes), "metrics": metrics}
    if gate is not None:
        data["gate"] = [dict(asdict(r), failed=r.failed) for r in gate]
    return data


def render_json(report: StatsReport, gate: Sequence[GateResult] | None = None,
                extra: Mapping[str, Any] | None = None) -> str:
    """``extra``: more top-level keys (a sequential run's verdicts)."""
    return json.dumps(dict(report_dict(report, gate), **(extra or {})), indent=2, allow_nan=False) + "\n"


def _rows(report: StatsReport, gate: Sequence[GateResult] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for section in report.sections:
        base = {"metric": section.name, "unit": section.unit}
        c = section.comparison
        if c is None:
            rows.append(dict(base, row="metric", reason=section.reason))
            continue
        for s in c.summaries:
            rows.append(dict(base, row="model", **asdict(s)))
        for a in c.accuracies:
            rows.append(dict(base, row="model", **asdict(a)))
        for t in c.omnibus:
            rows.append(dict(base, row="omnibus", **asdict(t)))
        for p in c.pairs:
            pair = dict(base, row="pair", model=p.a, model_b=p.b, n_shared=p.n_shared, scale=p.scale)
            for t in p.tests:
                rows.append(dict(pair, **asdict(t)))
            if p.shift is not None:
                rows.append(dict(pair, test="Hodges-Lehmann", **asdict(p.shift)))
            if p.difference is not None and p.difference is not p.shift:
                rows.append(dict(pair, test="Hodges-Lehmann difference", **asdict(p.difference)))
    for r in gate or ():
        rows.append({"metric": r.metric, "row": "gate", "model": r.model, "n_shared": r.n_shared,
                     "test": r.test, "p_value": r.p_value, "status": r.status, "threshold": r.threshold,
                     "change": r.change, "baseline_median": r.baseline_median,
                     "current_median": r.current_median, "reason": r.reason})
    return rows


def render_csv(report: StatsReport, gate: Sequence[GateResult] | None = None,
               extra_rows: Sequence[Mapping[str, Any]] = (), extra_columns: Sequence[str] = ()) -> str:
    """``extra_rows`` after the report's (a sequential run's verdicts), with ``extra_columns`` added."""
    out = io.StringIO()
    columns = list(CSV_COLUMNS) + [c for c in extra_columns if c not in CSV_COLUMNS]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in _rows(report, gate) + [dict(r) for r in extra_rows]:
        writer.writerow({k: ("" if v is None else spreadsheet_safe(v)) for k, v in row.items()})
    return out.getvalue()
