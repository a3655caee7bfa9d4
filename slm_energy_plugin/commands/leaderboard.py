"""``slm-energy leaderboard``: energy, CO2 and price against model size from public leaderboards.

Reads LLM-Perf exports (one CSV per hardware), Open LLM Leaderboard contents and price tables
(CSV or Parquet; the kind is told by the columns), fits a power law per hardware, and with
``--runs`` places this project's own measured models against the trend. pandas, scipy and
matplotlib are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import SlmEnergyError
from ..leaderboard.fit import FIT_KINDS, LOG_LOG

NAME = "leaderboard"
HELP = "fit energy, CO2 and price against model size from leaderboard exports; place your runs on it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE[=HARDWARE]",
                        help="LLM-Perf CSV exports, Open LLM Leaderboard contents, price tables (CSV or Parquet); "
                             "other files are skipped with a notice. FILE=HARDWARE (e.g. input-1.csv=A10) names "
                             "the hardware of an LLM-Perf file, over its column and its name")
    parser.add_argument("--fit", choices=FIT_KINDS, default=LOG_LOG,
                        help="log-log: power law, slope = elasticity; linear: metric on parameters (B), as the "
                             "original analysis drew it. Default: %(default)r")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="Default: %(default)r")
    parser.add_argument("--plot", type=Path, metavar="DIR",
                        help="write leaderboard-energy.png (a panel per hardware), -co2.png and -price.png into DIR")
    parser.add_argument("--runs", nargs="+", type=Path, default=[], metavar="RUN",
                        help="run folders or environmental_data_*.json files of this project to place on the chart "
                             "(put --runs after the FILEs)")
    parser.add_argument("--precision", help="LLM-Perf rows of this precision only (e.g. float16)")
    parser.add_argument("--quantization", help="LLM-Perf rows of this quantisation only ('none' = unquantised)")
    parser.add_argument("--backend", help="LLM-Perf rows of this backend only (e.g. pytorch)")
    parser.add_argument("--all-models", action="store_true",
                        help="Open LLM Leaderboard: fit every model, not only chat models. Default: chat only")
    parser.add_argument("--no-fill-params", action="store_true",
                        help="leave out models whose parameter count is missing or 0 even when their "
                             "architecture is known. Default: fill from data/shapes, noted per model")


def file_and_hardware(argument: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE=HARDWARE``; a file whose own name holds '=' is taken whole."""
    if "=" not in argument or Path(argument).exists():
        return Path(argument), None
    name, hardware = argument.rsplit("=", 1)
    if not hardware.strip():
        raise SlmEnergyError(f"{argument}: FILE=HARDWARE needs a hardware name after '=' (e.g. {name}=A10)")
    return Path(name), hardware.strip()


def run(args: argparse.Namespace) -> int:
    from ..leaderboard.analysis import Filters, analyse
    from ..leaderboard.own_runs import place_runs
    from ..leaderboard.readers import is_table_file, read_table
    from ..render.leaderboard_tables import figure_footer, render
    from ..results.storage import load_runs

    tables = []
    skipped = []
    for argument in args.files:
        path, hardware = file_and_hardware(argument)
        if path.is_dir() or not is_table_file(path):
            skipped.append(f"{path}: not a CSV or Parquet table")
            continue
        tables.append(read_table(path, hardware))
    for line in skipped:
        print(f"slm-energy leaderboard: skipped {line}", file=sys.stderr)
    if not tables:
        raise SlmEnergyError("no CSV or Parquet leaderboard file among the arguments")
    filters = Filters(precision=args.precision, quantization=args.quantization, backend=args.backend,
                      chat_only=not args.all_models)
    analysis = analyse(tables, filters, fill_params=not args.no_fill_params, fit_kind=args.fit)
    if not analysis.panels:
        raise SlmEnergyError("no rows left to fit (check the filters)")
    placed = place_runs(load_runs(args.runs), analysis) if args.runs else ()
    sys.stdout.write(render(args.format, analysis, tables, placed, skipped))
    if args.plot:
        from ..render.leaderboard_plots import draw

        footer = figure_footer(tables, placed)
        for path in draw(analysis, placed, args.plot, footer):
            print(f"wrote {path}", file=sys.stderr)
    return 0
