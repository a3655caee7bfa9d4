"""``slm-energy compare``: are the differences between models real? Optionally, a CI gate.

Prints, for a finished run (or any model files, also from different runs or machines,
also in the original SLM Green Benchmark format), the per-model tables, omnibus and
pairwise tests that the pytest summary shows. With ``--baseline`` it compares each model
with a saved run; with ``--fail energy:10%`` it exits 1 when a model regressed.

A sequential run (``--energy-until decided``) is shown as its summary shows it: the verdicts
with their always-valid intervals from ``run.json``, and the per-model values without the
fixed-n tests, whose p-values do not hold after stopping on the data. For the same reason its
gate is an always-valid verdict (:mod:`..stats.sequential_gate`) and ``--by task`` refuses it.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path


from ..errors import ConfigError
from ..finetune.tradeoff import AccuracyGateSpec, is_accuracy_spec, parse_accuracy_spec
from ..stats.gate import GateSpec, gate_failed, gate_lines, parse_gate_specs
from ..results.metrics import get_metric
from ..number_format import plural
from ..results.records import ModelRun
from ..render import sequential_tables as seq
from ..render.regression_gate import regression_gate
from ..render.stats_export import render_csv, render_json
from ..render.writer import WIDTH
from ..render.stats_tables import render_markdown, report_lines
from ..render.verdicts import trust_lines
from ..stats.build import build_report, choose_metrics, prepare_for_pairing
from ..results import storage
from ..results.storage import latest_run_dir
from ..settings import add_cli_options, parse_cli_options

NAME = "compare"
HELP = "compare models with statistical tests; optionally gate on a baseline"
FORMATS = ("text", "markdown", "json", "csv")
SHARED_OPTIONS = ("results-dir", "metrics", "alpha")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="RUN_DIR_OR_FILE",
                        help="run folders and/or model JSON files (environmental_data_*.json, also in the "
                             "SLM Green Benchmark format). Default: the latest run under --results-dir")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text for terminals, markdown for CI job summaries, json or csv for tools. "
                             "Default: %(default)r")
    parser.add_argument("--baseline", default=None, metavar="RUN_DIR_OR_FILE",
                        help="a saved run (folder or model file) to compare each model with, by alias")
    parser.add_argument("--fail", action="append", default=None, metavar="METRIC:PERCENT%",
                        help="with --baseline: exit 1 when a model's median rose by more than PERCENT and a "
                             "one-sided paired Wilcoxon test says the rise is significant, e.g. energy:10%% "
                             "(repeat or comma-separate for several); correct:-5pp fails when a model's accuracy "
                             "on a task fell by more than 5 points and a one-sided exact McNemar test agrees "
                             "(against --baseline, else each fine-tuned model against its base). On a sequential "
                             "run (--energy-until decided) a cost gate fails when the always-valid interval of the "
                             "ratio to the baseline lies above 1 at the run's alpha; accuracy gates are refused")
    parser.add_argument("--region", default=None,
                        help="re-project emissions to this grid first: a named region, ISO 3166 alpha-3 code "
                             "(FRA) or gcp:REGION (energy is unchanged; see `slm-energy reproject`)")
    parser.add_argument("--pue", type=float, default=None,
                        help="with --region: the PUE to apply. Default: the runs' own when they agree, else 1.0")
    # Declared once, in the option table the pytest plugin uses too.
    add_cli_options(parser, SHARED_OPTIONS, defaults={
        "metrics": (None, "energy,latency, plus correct where answers were scored")})
    parser.add_argument("--by", choices=("model", "task"), default="model",
                        help="task: per-task accuracy (Wilson CIs), paired differences (McNemar, Newcombe CI), "
                             "energy per query and per correct answer, and the fine-tuning trade-off table "
                             "(gain, loss, training kWh, break-even); refused for a sequential run. "
                             "Default: %(default)r")


def load_sources(paths: list[Path]) -> tuple[list[ModelRun], list[str]]:
    """Model runs and the file each came from, in the order given; a file that cannot be used is
    left out with one line on stderr, and the others are compared."""
    skipped: list[str] = []
    runs, sources = storage.load_sources(paths, skipped)
    for line in skipped:
        print(f"slm-energy: {line}", file=sys.stderr)
    return runs, sources


def _sequential_runs(runs: list[ModelRun], sources: list[str]) -> list[seq.SequentialRun]:
    """The sequential runs among the compared files, with their verdicts from run.json."""
    from ..results.run_manifest import read_manifests

    return seq.sequential_runs(runs, sources, read_manifests(sources))


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


def _run_by_task(args: argparse.Namespace, accuracy_specs: list[AccuracyGateSpec]) -> int:
    from ..finetune.by_task import (build_task_comparison, render_task_comparison, task_comparison_csv,
                                    task_comparison_dict)

    paths = [Path(p) for p in args.paths] or [latest_run_dir(Path(args.results_dir))]
    runs, sources = load_sources(paths)
    baseline, baseline_sources = load_sources([Path(args.baseline)]) if args.baseline else (None, [])
    stopped = _sequential_runs(runs, sources) + _sequential_runs(baseline or [], baseline_sources)
    if stopped:
        raise ConfigError(seq.by_task_refusal(stopped))
    result = build_task_comparison(runs, alpha=args.alpha, gate=accuracy_specs[-1] if accuracy_specs else None,
                                   baseline=baseline)
    if args.format == "json":
        import json

        _emit(json.dumps(task_comparison_dict(result), indent=2, default=str))
    elif args.format == "csv":
        _emit(task_comparison_csv(result))
    elif args.format == "markdown":   # the aligned text tables, fenced, for CI job summaries
        _emit("```\n" + "\n".join(render_task_comparison(result)) + "\n```")
    else:
        _emit("\n".join(render_task_comparison(result)))
    return 1 if any(v.failed for v in result.gate) else 0


def run(args: argparse.Namespace) -> int:
    parse_cli_options(args, SHARED_OPTIONS)
    fails = [part for text in (args.fail or []) for part in text.split(",") if part.strip()]
    accuracy_specs = [parse_accuracy_spec(part) for part in fails if is_accuracy_spec(part)]
    cost_fails = [part for part in fails if not is_accuracy_spec(part)]
    specs: list[GateSpec] | None = parse_gate_specs(cost_fails) if cost_fails else None
    if args.by == "task" or accuracy_specs:
        if specs:
            raise ConfigError("cost gates (METRIC:PERCENT%) need --by model; with --by task gate on correct:-Npp")
        return _run_by_task(args, accuracy_specs)
    if specs and not args.baseline:
        raise ConfigError("--fail needs --baseline RUN_DIR_OR_FILE to compare with")
    paths = [Path(p) for p in args.paths] or [latest_run_dir(Path(args.results_dir))]
    if not args.paths:   # say which run was picked and why: the newest is not always the one meant
        print(f"comparing {paths[0]}: the newest run with model files under {args.results_dir} "
              "(`slm-energy runs` lists them all)", file=sys.stderr)
    runs, sources = load_sources(paths)
    sequential = _sequential_runs(runs, sources)
    region_notes: list[str] = []
    if args.region:
        runs, region_notes = _reprojected(runs, args.region, args.pue)
    elif args.pue is not None:
        raise ConfigError("--pue needs --region: the grid to re-project the emissions to")
    runs, pairing_notes = prepare_for_pairing(runs, sources)   # the summary and the report pair the same way
    names, metric_notes = choose_metrics(args.metrics, runs)
    notes = [f"Comparing {plural(len(runs), 'model')} from {', '.join(str(p) for p in paths)}."]
    notes += region_notes + pairing_notes + metric_notes + seq.problem_lines(sequential)
    # Run order, background load, repeatability: the lines the pytest summary prints, from one source.
    trust = trust_lines(runs, names)
    notes += trust.conditions + trust.spread
    if args.metrics is None and trust.same_note:   # metrics asked for by name are all shown
        names = trust.metrics
        notes.append(trust.same_note)
    report = build_report(runs, names, alpha=args.alpha, notes=notes)
    if sequential:   # as the summary shows it: the fixed-n tests are not this run's verdicts
        report = seq.without_fixed_n(report, seq.fixed_n_note(sequential))

    gate = None
    if args.baseline:
        baseline, baseline_sources = load_sources([Path(args.baseline)])
        specs = specs or [GateSpec(n, None) for n in names if get_metric(n).lower_is_better]
        gate = regression_gate(runs, sequential, baseline, _sequential_runs(baseline, baseline_sources), specs,
                               args.alpha)

    if args.format == "json":
        _emit(render_json(report, gate, {"sequential": seq.json_blocks(sequential)} if sequential else None))
    elif args.format == "csv":
        _emit(render_csv(report, gate, seq.csv_rows(sequential), seq.CSV_COLUMNS if sequential else ()))
    elif args.format == "markdown":
        text = render_markdown(report)
        verdict_lines = seq.text_lines(sequential)
        if verdict_lines:
            text += "\n### Sequential verdicts\n\n```\n" + "\n".join(verdict_lines) + "\n```\n"
        if gate is not None:
            title, *lines = gate_lines(gate, specs or [])
            text += f"\n### {title}\n\n" + "".join(f"- {line}\n" for line in lines)
        _emit(text)
    else:
        lines = report_lines(report)
        from ..render.lm_eval_tables import lm_eval_lines   # lm-eval tasks (issue 22): per-task aggregates

        task_lines = lm_eval_lines(runs, args.alpha)
        lines += [""] + task_lines if task_lines else []
        verdict_lines = seq.text_lines(sequential)
        lines += [""] + verdict_lines if verdict_lines else []
        if gate is not None:
            title, *rest = gate_lines(gate, specs or [])
            lines += ["", title] + [w for line in rest for w in textwrap.wrap(
                line, WIDTH, subsequent_indent="    ", break_on_hyphens=False, break_long_words=False)]
        _emit("\n".join(lines))
    return 1 if gate is not None and gate_failed(gate) else 0
