"""Text rendering of estimates, calibrations, usage reports and re-projections.

Pure: returns lines; the CLI prints them. Numbers get readable units (Wh/kWh/MWh, g/kg/t...)
and every range is labelled as a range, not a confidence interval.
"""

from __future__ import annotations

from typing import Callable, Sequence

from tabulate import tabulate

from ..results.records import ModelRun
from .analytics import Totals, UsageReport
from .calibration import Calibration
from .formulas import METHOD, RANGE_NOTE, Estimate, Span

Formatter = Callable[[float], str]


def _scaled(value: float, units: Sequence[tuple[float, str]]) -> str:
    magnitude = abs(value)
    factor, unit = units[0]
    for candidate_factor, candidate_unit in units:
        if magnitude >= candidate_factor:
            factor, unit = candidate_factor, candidate_unit
    return f"{_number(value / factor)} {unit}"


def _number(x: float) -> str:
    """Three significant digits, without exponent notation below a billion."""
    return f"{x:,.0f}" if 1000 <= abs(x) < 1e9 else f"{x:.3g}"


def energy(kwh: float) -> str:
    return _scaled(kwh, [(1e-6, "mWh"), (1e-3, "Wh"), (1.0, "kWh"), (1e3, "MWh"), (1e6, "GWh")])


def carbon(g: float) -> str:
    return _scaled(g, [(1e-3, "mg CO2e"), (1.0, "g CO2e"), (1e3, "kg CO2e"), (1e6, "t CO2e")])


def water(litres: float) -> str:
    return _scaled(litres, [(1e-3, "mL"), (1.0, "L"), (1e3, "m3")])


def duration(seconds: float) -> str:
    return _scaled(seconds, [(1e-3, "ms"), (1.0, "s"), (3600.0, "h"), (86400.0 * 365.25, "years")])


def power(watts: float) -> str:
    return _scaled(watts, [(1.0, "W"), (1e3, "kW")])


def span_text(span: Span | None, fmt: Formatter) -> str:
    if span is None:
        return "n/a"
    if span.is_point:
        return fmt(span.value)
    return f"{fmt(span.value)}  (range {fmt(span.low)} - {fmt(span.high)})"


def _tokens(span: Span) -> str:
    if span.is_point:
        return f"{span.value:,.0f}"
    return f"{span.value:,.0f} (range {span.low:,.0f}-{span.high:,.0f})"


def render_estimate(est: Estimate) -> list[str]:
    w, hw, region, dc = est.workload, est.hardware, est.region, est.datacenter
    profile = f" [{w.profile} profile]" if w.profile else ""
    lines = [
        f"Footprint estimate{profile}: {est.count:,} {'request' if est.count == 1 else 'requests'} of {_tokens(w.tokens_in)} input + "
        f"{_tokens(w.tokens_out)} output tokens, batch size {w.batch_size}",
        f"  hardware   {hw.key}: {hw.name}" + (f" ({hw.notes})" if hw.notes and len(hw.notes) < 120 else ""),
        f"  region     {region.key}: {region.name}, {region.intensity_g_per_kwh.value:.1f} g CO2e/kWh"
        f" ({region.source}{', ' + str(region.year) if region.year else ''})",
        f"  datacenter {dc.key}: PUE {span_text(dc.pue, lambda v: f'{v:.2f}')}"
        + ("" if dc.wue_l_per_kwh is None else f", WUE {span_text(dc.wue_l_per_kwh, lambda v: f'{v:.2f} L/kWh')}"),
        "",
    ]
    rows = [
        ("time", span_text(est.time_s, duration), span_text(est.total("time_s"), duration)),
        ("power (IT)", span_text(est.power_w, power), ""),
        ("energy", span_text(est.energy_kwh, energy), span_text(est.total("energy_kwh"), energy)),
        ("carbon", span_text(est.carbon_g, carbon), span_text(est.total("carbon_g"), carbon)),
        ("water", span_text(est.water_l, water), span_text(est.total("water_l"), water)),
    ]
    lines += tabulate(rows, headers=["", "per request", f"total ({est.count:,} requests)"]).splitlines()
    lines += ["", f"Ranges: {RANGE_NOTE}.",
              "Total time is machine occupancy (per-request time x count / batch size).",
              f"Method: time = {METHOD['time_s']}; energy = {METHOD['energy_kwh']} with power = "
              f"{METHOD['power_w']}; carbon = {METHOD['carbon_g']}."]
    lines += [f"Note: {note}" for note in est.notes]
    return lines


def render_calibration(cal: Calibration) -> list[str]:
    lines = [f"Calibration of {cal.model} from run {cal.run_name}: {cal.n_used} queries used"
             + (f", skipped {', '.join(f'{n} {r}' for r, n in sorted(cal.skipped.items()))}" if cal.skipped else "")]
    def se(value: float | None) -> str:
        return "" if value is None else f"(standard error {value:.1%})"
    rows = [("prefill throughput", f"{cal.prefill_tokens_per_s:,.4g} tokens/s", se(cal.prefill_rel_se)),
            ("decode throughput", f"{cal.decode_tokens_per_s:,.4g} tokens/s", se(cal.decode_rel_se))]
    rows += [(f"{component} power", f"{watts:.4g} W", "") for component, watts in sorted(cal.power_w.items())]
    rows += [("total power", f"{cal.total_power_w:.4g} W", "")]
    lines += ["  " + line for line in tabulate(rows, tablefmt="plain").splitlines()]
    lines += [f"  time fit   (duration ~ tokens):      {cal.time_fit.describe()}",
              f"  power fit  (energy ~ duration):      {cal.power_fit.describe()}",
              f"  energy fit (energy ~ tokens, chain): {cal.energy_fit.describe()}"]
    if cal.ttft_prefill_tokens_per_s or cal.ttft_decode_tokens_per_s:
        def tps(v: float | None) -> str:
            return "n/a" if v is None else f"{v:,.4g} tokens/s"
        lines.append(f"  cross-check from timed phases: prefill {tps(cal.ttft_prefill_tokens_per_s)} (TTFT), "
                     f"decode {tps(cal.ttft_decode_tokens_per_s)} (decode time)")
    lines.append(f"  {cal.provenance_sentence()}")
    lines += [f"  WARNING: {warning}" for warning in cal.warnings()]
    return lines


def _totals_row(label: Sequence[str], totals: Totals) -> list[str]:
    return [*label, f"{totals.requests:,}", span_text(totals.energy_kwh, energy), span_text(totals.carbon_g, carbon),
            span_text(totals.water_l, water)]


def render_usage(report: UsageReport, period: str = "monthly") -> list[str]:
    table = report.daily if period == "daily" else report.monthly
    headers = ["date" if period == "daily" else "month", "profile", "requests", "energy", "carbon", "water"]
    lines = [f"Usage footprint ({report.rows} log rows) on {report.hardware.key}, region {report.region.key} "
             f"({report.region.intensity_g_per_kwh.value:.1f} g CO2e/kWh), datacenter {report.datacenter.key}", ""]
    lines += tabulate([_totals_row(key, t) for key, t in table.items()], headers=headers).splitlines()
    lines += ["", "Per profile:"]
    rows = [_totals_row((p,), t) for p, t in report.by_profile.items()] + [_totals_row(("TOTAL",), report.total)]
    lines += tabulate(rows, headers=["profile", "requests", "energy", "carbon", "water"]).splitlines()
    lines += ["", f"Ranges: {RANGE_NOTE}."]
    return lines


def render_reprojection(before: Sequence[ModelRun], after: Sequence[ModelRun]) -> list[str]:
    def total_kg(run: ModelRun) -> float | None:
        values = [r.emissions_kg for r in run.records if r.emissions_kg is not None]
        return sum(values) if values else None

    def context(run: ModelRun) -> str:
        c = run.carbon
        return "unknown" if c is None else f"{c.country_iso_code} {c.intensity_g_per_kwh:.1f} g/kWh, PUE {c.pue:g}"

    rows = []
    for old, new in zip(before, after):
        energies = [r.energy_kwh for r in old.records if r.energy_kwh is not None]
        old_kg, new_kg = total_kg(old), total_kg(new)
        rows.append([old.alias, len(old.records), energy(sum(energies)) if energies else "n/a",
                     old.energy_provenance, context(old), "n/a" if old_kg is None else carbon(old_kg * 1000),
                     context(new), "n/a" if new_kg is None else carbon(new_kg * 1000)])
    headers = ["model", "queries", "energy", "energy is", "measured with", "emissions", "re-projected to", "emissions"]
    lines = tabulate(rows, headers=headers).splitlines()
    if after and after[0].carbon is not None:
        lines += ["", f"Grid intensity source: {after[0].carbon.source}"
                  + (f" ({after[0].carbon.year})" if after[0].carbon.year else "")]
    lines.append("Only the conversion changes: the energy figures (and whether they were measured or estimated) "
                 "are those of the run.")
    return lines
