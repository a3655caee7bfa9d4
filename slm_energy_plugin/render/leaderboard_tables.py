"""The leaderboard analysis as text (tabulate), markdown or JSON.

JSON shape: ``{"fits": [{"hardware", "metric", "unit", "n", "excluded", "excluded_models",
"slope", "slope_ci95", "intercept", "r2", "reason", "points"}], "runs": [...], "sources": [...],
"skipped": [...], "notes": [...], "method": [...], "filters": {...}}``. Pure: returns strings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from tabulate import tabulate

from ..leaderboard.analysis import Analysis, PanelFit
from ..leaderboard.fit import LOG_LOG
from ..leaderboard.own_runs import OwnPoint
from ..leaderboard.readers import SAMPLE_NOTE, LeaderboardTable

FORMATS = ("text", "markdown", "json")


def _g(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def fit_dict(panel: PanelFit) -> dict[str, Any]:
    fit = panel.fit
    return {
        "hardware": panel.hardware,
        "metric": panel.metric,
        "unit": panel.unit,
        "fit": None if fit is None else fit.kind,
        "n": len(panel.points),
        "excluded": len(panel.excluded),
        "excluded_models": [{"model": e.model, "reason": e.reason} for e in panel.excluded],
        "slope": None if fit is None else fit.slope,
        "slope_ci95": None if fit is None else list(fit.slope_ci95),
        "intercept": None if fit is None else fit.intercept,
        "r2": None if fit is None else fit.r2,
        "reason": panel.reason,
        "points": [{"model": p.model, "params_b": p.params_b, "value": p.value, "rows": p.rows,
                    "params_note": p.params_note} for p in panel.points],
    }


def run_dict(point: OwnPoint) -> dict[str, Any]:
    return {
        "alias": point.alias, "model_id": point.model_id, "device": point.device, "params_b": point.params_b,
        "energy_kwh_per_mtok": point.value, "basis": point.basis, "energy_provenance": point.provenance,
        "estimated": point.estimated, "hardware_class": point.hardware_class, "class_reason": point.class_reason,
        "residual_log10": point.residual_log10, "residual_factor": point.factor, "in_fitted_range": point.in_range,
        "note": point.note,
    }


def source_dict(table: LeaderboardTable) -> dict[str, Any]:
    return {"path": table.source, "kind": table.kind, "hardware": table.hardware, "rows": table.rows,
            "columns_used": dict(table.columns_used), "notes": list(table.notes), "sample": table.sample}


def sample_banner(tables: Sequence[LeaderboardTable]) -> str | None:
    """The line every output made from a shipped sample carries, or None."""
    samples = [Path(t.source).name for t in tables if t.sample]
    if not samples:
        return None
    return (f"{SAMPLE_NOTE.upper()}: {', '.join(samples)} {'is' if len(samples) == 1 else 'are'} "
            f"{SAMPLE_NOTE} shipped for trying the command offline, not the real leaderboards; do not cite these "
            "figures")


def figure_footer(tables: Sequence[LeaderboardTable], runs: Sequence[OwnPoint]) -> str:
    """Where the points came from, under every figure; invented samples say so first."""
    footer = "data: " + ", ".join(Path(t.source).name for t in tables)
    if runs:
        footer += "; runs: " + ", ".join(f"{r.alias} ({r.provenance})" for r in runs)
    if any(t.sample for t in tables):
        footer = f"{SAMPLE_NOTE.upper()}, not the real leaderboards - {footer}"
    return footer


def fits_title(analysis: Analysis) -> str:
    if analysis.fit_kind == LOG_LOG:
        return "Power-law fits: log10(metric) = intercept + slope x log10(parameters in B)"
    return "Linear fits: metric = intercept + slope x parameters in B"


def to_json(analysis: Analysis, tables: Sequence[LeaderboardTable], runs: Sequence[OwnPoint],
            skipped: Sequence[str]) -> str:
    banner = sample_banner(tables)
    document = {
        "sample_data": banner is not None,
        **({"data_note": banner} if banner else {}),
        "fit": analysis.fit_kind,
        "fits": [fit_dict(p) for p in analysis.panels],
        "runs": [run_dict(r) for r in runs],
        "sources": [source_dict(t) for t in tables],
        "skipped": list(skipped),
        "notes": list(analysis.notes),
        "method": list(analysis.method),
        "filters": analysis.filters.as_dict(),
    }
    return json.dumps(document, indent=2, allow_nan=False)


def _fit_rows(analysis: Analysis) -> list[list[str]]:
    rows = []
    for panel in analysis.panels:
        fit = panel.fit
        if fit is None:
            rows.append([panel.hardware, panel.unit, str(len(panel.points)), str(len(panel.excluded)),
                         f"no fit: {panel.reason}", "-", "-", "-"])
            continue
        low, high = fit.slope_ci95
        if fit.kind == LOG_LOG:
            slope, per = f"{fit.slope:.2f} [{low:.2f}, {high:.2f}]", f"x{10 ** fit.slope:.3g}"
        else:
            slope, per = f"{fit.slope:.3g} [{low:.3g}, {high:.3g}]", f"{fit.slope:+.3g} per B"
        rows.append([panel.hardware, panel.unit, str(fit.n), str(len(panel.excluded)), slope, per,
                     f"{fit.intercept:.3g}" if fit.kind != LOG_LOG else f"{fit.intercept:.3f}", f"{fit.r2:.2f}"])
    return rows


FIT_HEADERS = ["hardware", "metric", "n", "excluded", "slope [95% CI]", "10x params", "intercept", "R2"]
RUN_HEADERS = ["run model", "params (B)", "kWh/1M tok", "energy", "trend of", "residual (log10)", "x trend"]


def _run_rows(runs: Sequence[OwnPoint]) -> list[list[str]]:
    rows = []
    for r in runs:
        rows.append([r.alias, _g(r.params_b), _g(r.value), r.provenance, r.hardware_class or "-",
                     "-" if r.residual_log10 is None else f"{r.residual_log10:+.2f}",
                     "-" if r.factor is None else f"{r.factor:.3g}"])
    return rows


def _lines(analysis: Analysis, tables: Sequence[LeaderboardTable], runs: Sequence[OwnPoint], bullet: str) -> list[str]:
    out: list[str] = []
    for r in runs:
        out.append(f"{bullet}{r.alias}: {r.basis}; trend: {r.class_reason}"
                   + ("; energy ESTIMATED, not measured" if r.estimated else "")
                   + (f"; {r.note}" if r.note else ""))
    out += [f"{bullet}method: {line}" for line in analysis.method]
    # Files read the same way share one line, so the header mapping stays readable.
    by_mapping: dict[tuple[str, str], list[LeaderboardTable]] = {}
    for t in tables:
        used = ", ".join(f"{k}={v!r}" for k, v in t.columns_used.items())
        by_mapping.setdefault((t.kind, used), []).append(t)
    for (kind, used), group in by_mapping.items():
        names = ", ".join(f"{t.source} ({t.rows} rows, {t.hardware})" for t in group)
        out.append(f"{bullet}{kind}: {names}; columns used: {used}")
    out += [f"{bullet}{t.source}: {n}" for t in tables for n in t.notes]
    out += [f"{bullet}{n}" for n in analysis.notes]
    where: dict[tuple[str, str], list[str]] = {}
    for panel in analysis.panels:
        for gone in panel.excluded:
            where.setdefault((gone.model, gone.reason), []).append(panel.hardware)
    for (model, reason), panels in where.items():
        out.append(f"{bullet}excluded {model} ({reason}) from: {', '.join(panels)}")
    return out


def to_text(analysis: Analysis, tables: Sequence[LeaderboardTable], runs: Sequence[OwnPoint],
            markdown: bool = False) -> str:
    """Tables and notes; skipped files are announced by the command on stderr, not here."""
    fmt = "github" if markdown else "simple"
    parts = []
    banner = sample_banner(tables)
    if markdown:
        parts.append(f"### {fits_title(analysis)}\n")
        if banner:
            parts.append(f"**{banner}**\n")
    else:
        parts.append(fits_title(analysis))
        if banner:
            parts.append(banner)
    headers = FIT_HEADERS if analysis.fit_kind == LOG_LOG else [*FIT_HEADERS[:5], "per 1B params", *FIT_HEADERS[6:]]
    parts.append(tabulate(_fit_rows(analysis), headers=headers, tablefmt=fmt, disable_numparse=True))
    if runs:
        parts.append("\n### This project's runs against the trend\n" if markdown
                     else "\nThis project's runs against the trend")
        parts.append(tabulate(_run_rows(runs), headers=RUN_HEADERS, tablefmt=fmt, disable_numparse=True))
    parts.append("")
    parts.extend(_lines(analysis, tables, runs, "- " if markdown else ""))
    return "\n".join(parts) + "\n"


def render(fmt: str, analysis: Analysis, tables: Sequence[LeaderboardTable], runs: Sequence[OwnPoint],
           skipped: Sequence[str]) -> str:
    if fmt == "json":
        return to_json(analysis, tables, runs, skipped) + "\n"
    return to_text(analysis, tables, runs, markdown=fmt == "markdown")
