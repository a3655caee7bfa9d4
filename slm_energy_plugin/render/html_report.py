"""One self-contained HTML report of a run: no network, no scripts, every text escaped.

Result files are untrusted input: every string taken from them goes through
``html.escape``, and the page's Content-Security-Policy allows no script, no external
resource and images only as ``data:`` URIs, so a crafted alias or answer cannot run code
or fetch anything even if an escape were missed. Figures are embedded as base64 PNG.

Sections: the provenance banner (measured or estimated, in words), warnings, the
per-model table, a sequential run's verdicts (``--energy-until decided``: its always-valid
intervals, in place of the fixed-n tests), statistics in words, efficiency per quality,
figures, the machine and the settings. Everything is computed by the project's modules
(statistics, efficiency, figure data); this module only lays it out.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .. import __version__
from ..quality.efficiency import efficiency_legend, stars_text
from ..results.records import ModelRun
from .summary import WEIGHT_NOTES, meter_warnings
from ..number_format import accuracy, format_energy, num, plural
from .stats_tables import report_lines
from ..stats.build import StatsReport, build_report, choose_metrics
from ..stats.frame_stats import value_tables
from .run_input import RunInput
from . import sequential_tables as seq
from .sequential_lines import interval_text, load_level_sentence
from .stats_words import method_sentence, section_sentences
from .verdicts import trust_lines

if TYPE_CHECKING:   # matplotlib loads only when figures are drawn
    from .plots import Drawn

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:1rem 1.5rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.banner{padding:.8rem 1rem;border-radius:6px;margin:1rem 0;font-weight:600}
.banner.measured{background:#e3f2ec;border-left:6px solid #009E73}
.banner.estimated,.banner.mixed{background:#fdf1dc;border-left:6px solid #E69F00}
.banner.none{background:#eee;border-left:6px solid #999}
.warn{background:#fbe9e2;border-left:4px solid #D55E00;padding:.4rem .8rem;margin:.3rem 0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}td{white-space:nowrap}th{background:#f5f5f5}
.scroll{overflow-x:auto;max-width:100%}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444}pre{font-size:.78rem;overflow-x:auto;background:#f7f7f7;padding:.6rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.85rem}dt{font-weight:600}
dd{margin:0;word-break:break-word}.muted{color:#555;font-size:.85rem}
"""
# The paired-ratio figures draw fixed-n Hodges-Lehmann intervals: said where a sequential run is shown.
FIXED_N_FIGURES = (" The bars of the per-query ratio figures are fixed-n Hodges-Lehmann intervals, drawn to show "
                   "the spread: they are not this sequential run's verdicts (Sequential verdicts, above).")


def esc(value: Any) -> str:
    """Any value as escaped text ('-' for None): the only way text from a result file gets in."""
    return "-" if value is None else html.escape(str(value), quote=True)


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    # In its own scrolling box: a wide table scrolls instead of wrapping model names or the page.
    return f'<div class="scroll"><table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></div>'


def _definitions(items: Mapping[str, Any]) -> str:
    flat = dict(_flatten(items))
    if not flat:
        return "<p class=muted>not recorded</p>"
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in flat.items()) + "</dl>"


def _flatten(items: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in items.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        elif isinstance(value, (list, tuple)):
            yield name, ", ".join(str(v) for v in value) if value else "-"
        else:
            yield name, value


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f" [{num(low)}, {num(high)}]"


def _count(value: int | None) -> str:
    """Parameters as people say them: 198 k, 124 M, 2.78 B."""
    if not value:
        return "-"
    for factor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.3g} {suffix}"
    return str(value)


def model_table(report: StatsReport, runs: Sequence[ModelRun]) -> str:
    """Per model: medians with bootstrap CIs from the report's sections, tokens, accuracy, provenance."""
    by_metric = {s.name: {m.model: m for m in s.comparison.summaries}
                 for s in report.sections if s.comparison is not None and not s.binary}
    accuracies = {a.model: a for s in report.sections if s.comparison is not None and s.binary
                  for a in s.comparison.accuracies}
    rows = []
    for run in runs:
        row: list[Any] = [run.alias, len(run.records)]
        for name in ("energy", "latency"):
            summary = by_metric.get(name, {}).get(run.alias)
            row.append("-" if summary is None or summary.median is None
                       else f"{num(summary.median)}{_interval(summary.ci_low, summary.ci_high)}")
        facts = run.facts    # one pass over the records, shared with the header and the warnings
        row.append("-" if facts.tokens_median is None else num(float(facts.tokens_median)))
        acc = accuracies.get(run.alias)
        row.append("-" if acc is None or acc.accuracy is None else accuracy(acc.correct, acc.n, acc.ci_low, acc.ci_high))
        row += [facts.provenance, run.info.weights, _count(run.info.parameters),
                f"{run.info.device} {run.info.dtype}"]
        rows.append(row)
    head = ["model", "queries", "energy J/query: median [95% CI]", "latency s/query: median [95% CI]",
            "output tokens (median)", "correct [95% Wilson]", "energy", "weights", "parameters", "runs on"]
    return _table(head, rows)


def efficiency_table(data: RunInput) -> str:
    rows = [r for r in data.efficiency if r.scored]
    if not rows:
        return "<p class=muted>No scored answers in this run.</p>"
    table = _table(
        ["model", "task", "accuracy [95% Wilson]", "energy per query", "per correct answer", "correct/kJ",
         "rating", "Pareto", "energy"],
        [[r.model, r.task, "-" if r.accuracy is None else accuracy(r.correct, r.scored, r.ci_low, r.ci_high),
          format_energy(r.energy_per_query_j),
          "no correct answers" if r.correct == 0 else format_energy(r.energy_per_correct_j),
          "-" if r.correct_per_kj is None else f"{r.correct_per_kj:.3g}",
          "at chance" if r.at_chance and r.correct else stars_text(r.stars),
          {True: "yes", False: "no", None: "-"}[r.pareto], r.provenance] for r in rows])
    legend = "".join(f"<li>{esc(line)}</li>" for line in efficiency_legend(rows))
    return table + f"<ul class=muted>{legend}</ul>"


def warnings_of(data: RunInput, report: StatsReport) -> list[str]:
    runs = list(data.runs)
    # Background load, run order, load levels: the lines the terminal summary and compare print.
    found = list(trust_lines(runs, [s.name for s in report.sections]).conditions) + list(meter_warnings(runs))
    for run in runs:
        if run.status != "complete":
            found.append(f"{run.alias}: the run ended {run.status}; its figures cover only what finished.")
        errors = run.facts.errors
        if errors:
            found.append(f"{run.alias}: {plural(errors, 'test')} errored and are left out of every statistic.")
    for weights in sorted({run.info.weights for run in runs} & set(WEIGHT_NOTES)):
        found.append(f"{weights} weights: {WEIGHT_NOTES[weights]}.")
    workers = {w for run in runs for w in run.extra.get("workers", [])}
    if len(workers) > 1:
        found.append(f"{len(workers)} parallel workers shared the machine; each query's energy includes the "
                     "other workers' load.")
    return found + list(data.notes)


def sequential_html(runs: Sequence[seq.SequentialRun]) -> str:
    """A sequential run's verdicts: the method, how far it ran, and per pair the decision, the
    always-valid interval and what it cost (a run whose block cannot be read is a warning)."""
    parts = []
    shown = [run for run in runs if run.block is not None]
    for run in shown:
        block = run.block
        assert block is not None
        rows = seq.verdicts(block)
        reasons = any(row.reason for row in rows)
        head = ["pair (first / second)", "metric", "verdict", "queries to verdict", "ratio (geometric mean per query)",
                "always-valid CI", f"query energy to verdict (J, {seq.energy_words(run.provenance)})"]
        table = _table(head + (["why"] if reasons else []), [
            [row.pair, row.metric, row.decision, row.after_queries, num(row.ratio), interval_text(row.ci),
             num(row.energy_j)] + ([row.reason or ""] if reasons else []) for row in rows])
        title = f"<h3>Run {esc(run.run_id)}: {esc(', '.join(run.models))}</h3>" if len(shown) > 1 else ""
        alpha, margin = float(block["alpha"]), float(block["equivalence_margin"])
        stopped = " ".join(filter(None, (seq.stop_sentence(block, run.provenance), load_level_sentence(block))))
        parts.append(
            f"{title}<p>Measured until the verdicts were decided (<code>--energy-until decided</code>). Test: "
            f"{esc(block['method_text'])}; alpha {alpha:g}, equivalent within ±{margin:.0%}.</p>"
            f"<p>{esc(stopped)}</p>{table}"
            f"<p class=muted>{esc(seq.legend(block, run.provenance))}</p>")
    return "".join(parts)


def _figures_html(data: RunInput, baseline: str | None, drawn: Sequence[Drawn] | None) -> tuple[str, int]:
    from .plots import build_figures, figure_bytes, render_figures

    if drawn is None:   # else the figures `plot` drew in this process: nothing is drawn twice
        drawn = render_figures(build_figures(data.frame, data.efficiency, baseline=baseline, timeline=data.timeline),
                               None)
    parts = []
    for figure in drawn:
        spec = figure.spec
        png = figure.embedded_png if figure.embedded_png is not None else figure_bytes(spec, "png", caption=False)
        encoded = base64.b64encode(png).decode("ascii")
        caption = getattr(spec.data, "caption", "")
        parts.append(f'<figure id="fig-{esc(spec.name)}"><img alt="{esc(spec.title)}" '
                     f'src="data:image/png;base64,{encoded}"><figcaption><b>{esc(spec.title)}</b>. '
                     f"{esc(caption)}</figcaption></figure>")
    return "".join(parts), len(drawn)


def started_html(iso: str | None) -> str:
    """A start time as people read it (``3 Dec 2026, 11:37:25 UTC``), the ISO string kept for machines."""
    if not iso:
        return "unknown"
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return esc(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    zone = " UTC" if moment.tzinfo is not None else ""
    shown = f"{moment.day} {moment:%b %Y, %H:%M:%S}{zone}"
    return f'<time datetime="{esc(iso)}" title="{esc(iso)}">{esc(shown)}</time>'


def build_html(data: RunInput, metrics: Sequence[str] | None = None, *, alpha: float = 0.05,
               baseline: str | None = None, figures: bool = True, drawn: Sequence[Drawn] | None = None) -> str:
    """The whole report as one string; ``drawn``: figures already drawn with their embedded PNGs
    (``plots.render_figures``), used instead of drawing them again."""
    runs = list(data.runs)
    names, metric_notes = choose_metrics(",".join(metrics) if metrics else None, runs)
    # The per-query values from the table the figures read, taken from its columns at once.
    aliases = [run.alias for run in runs]
    report = build_report(runs, names, alpha=alpha, notes=list(data.notes) + metric_notes,
                          tables=value_tables(data.frame, aliases))
    sequential = ""
    if data.sequential:   # as the summary shows a sequential run: its verdicts, no fixed-n tests
        report = seq.without_fixed_n(report, seq.fixed_n_note(data.sequential))
        sequential = (f'<h2 id="sequential">Sequential verdicts</h2>{sequential_html(data.sequential)}'
                      f"<p>{esc(seq.FIXED_N_REASON)}</p>")
    first = runs[0]
    title = f"slm-energy report: {', '.join(r.alias for r in runs)}"
    warnings = "".join(f'<div class="warn">{esc(w)}</div>' for w in warnings_of(data, report))
    words = "".join(
        f"<h3>{esc(s.label)} ({esc(s.unit)})</h3><ul>"
        + "".join(f"<li>{esc(line)}</li>" for line in section_sentences(s, alpha)) + "</ul>"
        for s in report.sections) if not data.sequential else ""
    method = esc(method_sentence(report)) if not data.sequential else (
        "Not shown for a sequential run: see Sequential verdicts above; the tables below hold the per-model "
        "values.")
    figures_html, count = _figures_html(data, baseline, drawn) if figures else ("", 0)
    run_ids = sorted({r.run_id for r in runs if r.run_id})
    machines = {r.machine.get("hostname", "unknown"): r.machine for r in runs}
    machine_html = "".join(f"<h3>{esc(host)}</h3>{_definitions(m)}" for host, m in machines.items())
    settings_html = _definitions(first.extra.get("settings") or {})
    carbon = next((r.carbon for r in runs if r.carbon is not None), None)
    carbon_html = "" if carbon is None else (
        f"<p>Emissions = energy x PUE {esc(carbon.pue)} x {esc(round(carbon.intensity_g_per_kwh))} g CO2eq/kWh "
        f"({esc(carbon.country_name)}, {esc(carbon.year)}; {esc(carbon.source)}).</p>")
    tables = "\n".join(report_lines(report, header=False))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{esc(title)}</h1>
<p class=muted>Run{'s' if len(run_ids) > 1 else ''} {esc(', '.join(run_ids) or 'unknown')}; started
{started_html(first.started_at)}; {len(data.frame)} query records from {len(data.sources)} file(s);
made by slm-energy {esc(__version__)}.</p>
<div class="banner {esc(report.energy)}" id="provenance">{esc(report.header)}</div>
{warnings}
<h2>Models</h2>{model_table(report, runs)}{carbon_html}{sequential}
<h2>Statistics in words</h2><p class=muted>{method}</p>{words}
<details><summary>All statistics tables</summary><pre>{esc(tables)}</pre></details>
<h2>Efficiency per quality</h2>{efficiency_table(data)}
<h2>Figures</h2><p class=muted>{count} figure(s).{esc(FIXED_N_FIGURES) if data.sequential else ""}</p>{figures_html}
<h2>Machine</h2>{machine_html}
<h2>Settings</h2>{settings_html}
<h2>Files</h2><ul class=muted>{''.join(f'<li>{esc(s)}</li>' for s in data.sources)}</ul>
</body></html>
"""


def write_report(paths: Sequence[Path], output: Path, skipped: list[str] | None = None, *,
                 plots_dir: Path | None = None, plot_formats: Sequence[str] | None = None,
                 figure_files: list[Path] | None = None, **options: Any) -> Path:
    """Load runs from ``paths`` and write the report to ``output`` (atomically); files left out
    as unusable are named in the report's notes, and in ``skipped`` when given. With
    ``plots_dir``, the figures are also written there as files (``plot_formats``, default
    :data:`.plots.FORMATS`; named in ``figure_files`` when given), from the same drawing the
    report embeds: one load, one drawing."""
    import os
    import tempfile

    from ..encodable import encodable_text
    from ..results.storage import _umask
    from .run_input import load_input

    data = load_input(paths)
    if skipped is not None:
        skipped.extend(data.skipped)
    if plots_dir is not None:
        from .plots import FORMATS, build_figures, render_figures

        specs = build_figures(data.frame, data.efficiency, baseline=options.get("baseline"), timeline=data.timeline)
        options["drawn"] = drawn = render_figures(specs, plots_dir, tuple(plot_formats or FORMATS))
        if figure_files is not None:
            figure_files.extend(path for figure in drawn for path in figure.files)
    text = encodable_text(build_html(data, **options))   # content never makes the write fail
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())   # mkstemp makes 0600; a report is shared like any result file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return output

