"""``slm-energy compare``: are the differences between models real? Optionally, a CI gate.

Prints, for a finished run (or any model files, also from different runs or machines,
also in the original SLM Green Benchmark format), the per-model tables, omnibus and
pairwise tests that the pytest summary shows. With ``--baseline`` it compares each model
with a saved run; with ``--fail energy:10%`` it exits 1 when a model regressed.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from ..errors import ConfigError, SlmEnergyError
from ..stats.gate import GateSpec, check_regressions, gate_failed, gate_lines, parse_gate_specs
from ..stats.metrics import DEFAULT_METRICS, get_metric, has_values, record_values
from ..render.format import plural
from ..results.records import ModelRun
from ..render.stats_export import render_csv, render_json
from ..render.stats_tables import WIDTH, render_markdown, report_lines
from ..stats.build import build_report, disambiguate, parse_metric_names, unpair_different_texts
from ..results.storage import latest_run_dir, load_model_file, load_run_dir, model_files

NAME = "compare"
FORMATS = ("text", "markdown", "json", "csv")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="RUN_DIR_OR_FILE",
                        help="run folders and/or model JSON files (environmental_data_*.json, also in the "
                             "SLM Green Benchmark format). Default: the latest run under --results-dir")
    parser.add_argument("--results-dir", default="results", metavar="DIR",
                        help="where to look for the latest run when no path is given. Default: %(default)r")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text for terminals, markdown for CI job summaries, json or csv for tools. "
                             "Default: %(default)r")
    parser.add_argument("--metrics", default=None, metavar="LIST",
                        help="comma-separated metrics (energy, energy_per_token, latency, ttft, tokens, "
                             "emissions, correct, score). Default: energy,latency, plus correct where "
                             "answers were scored")
    parser.add_argument("--baseline", default=None, metavar="RUN_DIR_OR_FILE",
                        help="a saved run (folder or model file) to compare each model with, by alias")
    parser.add_argument("--fail", action="append", default=None, metavar="METRIC:PERCENT%",
                        help="with --baseline: exit 1 when a model's median rose by more than PERCENT and a "
                             "one-sided paired Wilcoxon test says the rise is significant, e.g. energy:10%% "
                             "(repeat or comma-separate for several)")
    parser.add_argument("--region", default=None,
                        help="re-project emissions to this grid first: a named region, ISO 3166 alpha-3 code "
                             "(FRA) or gcp:REGION (energy is unchanged; see `slm-energy reproject`)")
    parser.add_argument("--pue", type=float, default=None,
                        help="with --region: the PUE to apply. Default: the runs' own when they agree, else 1.0")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="significance level for tests and the gate. Default: %(default)r")


def load_sources(paths: list[Path]) -> tuple[list[ModelRun], list[str]]:
    """Model runs and the file each came from, in the order given."""
    runs, sources = [], []
    for path in paths:
        if path.is_dir():
            files = model_files(path)
            if not files:
                load_run_dir(path)          # raises the storage layer's explanation
            for file in files:
                runs.append(load_model_file(file))
                sources.append(str(file))
        else:
            runs.append(load_model_file(path))
            sources.append(str(path))
    return runs, sources


def choose_metrics(requested: str | None, runs: list[ModelRun]) -> tuple[list[str], list[str]]:
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


def _reprojected(runs: list[ModelRun], region_name: str, pue: float | None) -> tuple[list[ModelRun], list[str]]:
    from ..carbon.config import load_config
    from ..carbon.reproject import carbon_context_for, default_pue, reproject
    from ..carbon.service import check_pue

    region = load_config().region(region_name)
    context = carbon_context_for(region, check_pue(default_pue(runs) if pue is None else pue))
    note = (f"Emissions re-projected to {context.country_name} ({context.intensity_g_per_kwh:.0f} g/kWh, "
            f"PUE {context.pue:g}; {context.source}); energy figures are as measured.")
    return reproject(runs, context), [note]


def _emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 1:
        raise ConfigError(f"--alpha {args.alpha} is not between 0 and 1")
    specs: list[GateSpec] | None = parse_gate_specs(args.fail) if args.fail else None
    if specs and not args.baseline:
        raise ConfigError("--fail needs --baseline RUN_DIR_OR_FILE to compare with")
    paths = [Path(p) for p in args.paths] or [latest_run_dir(Path(args.results_dir))]
    if not args.paths:   # say which run was picked and why: the newest is not always the one meant
        print(f"comparing {paths[0]}: the newest run with model files under {args.results_dir} "
              "(`slm-energy runs` lists them all)", file=sys.stderr)
    runs, sources = load_sources(paths)
    region_notes = []
    if args.region:
        runs, region_notes = _reprojected(runs, args.region, args.pue)
    elif args.pue is not None:
        raise ConfigError("--pue needs --region: the grid to re-project the emissions to")
    runs, alias_notes = disambiguate(runs, sources)
    runs, text_notes = unpair_different_texts(runs)
    names, metric_notes = choose_metrics(args.metrics, runs)
    notes = [f"Comparing {plural(len(runs), 'model')} from {', '.join(str(p) for p in paths)}."]
    if len({r.run_id or str(Path(s).parent) for r, s in zip(runs, sources)}) > 1:
        notes.append("The models come from more than one run: differences mix model and machine/run effects.")
    notes += region_notes + alias_notes + text_notes + metric_notes
    report = build_report(runs, names, alpha=args.alpha, notes=notes)

    gate = None
    if args.baseline:
        baseline, _ = load_sources([Path(args.baseline)])
        specs = specs or [GateSpec(n, None) for n in names if get_metric(n).lower_is_better]
        gate = check_regressions(runs, baseline, specs, alpha=args.alpha)

    if args.format == "json":
        _emit(render_json(report, gate))
    elif args.format == "csv":
        _emit(render_csv(report, gate))
    elif args.format == "markdown":
        text = render_markdown(report)
        if gate is not None:
            title, *lines = gate_lines(gate, specs)
            text += f"\n### {title}\n\n" + "".join(f"- {line}\n" for line in lines)
        _emit(text)
    else:
        lines = report_lines(report)
        if gate is not None:
            title, *rest = gate_lines(gate, specs)
            lines += ["", title] + [w for line in rest for w in textwrap.wrap(
                line, WIDTH, subsequent_indent="    ", break_on_hyphens=False, break_long_words=False)]
        _emit("\n".join(lines))
    return 1 if gate is not None and gate_failed(gate) else 0
