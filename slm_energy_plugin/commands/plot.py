"""``slm-energy plot``: a run's figures as PNG and SVG files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..results.storage import latest_run_dir

NAME = "plot"
HELP = "draw a run's figures (PNG and SVG): distributions, ratios, energy vs latency and quality"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="RUN_DIR_OR_FILE",
                        help="run folders and/or model JSON files; several runs (e.g. from different machines) "
                             "are drawn side by side. Default: the latest run under --results-dir")
    parser.add_argument("--results-dir", default="results", metavar="DIR",
                        help="where to look for the latest run when no path is given. Default: %(default)r")
    parser.add_argument("-o", "--output", default="plots", metavar="DIR",
                        help="folder for the figures. Default: %(default)r")
    parser.add_argument("--baseline", default=None, metavar="MODEL",
                        help="model the paired per-query ratios are taken against. Default: the first model")
    parser.add_argument("--format", action="append", choices=("png", "svg"), default=None,
                        help="file format (repeat for both). Default: png and svg")


def run(args: argparse.Namespace) -> int:
    from ..render.plots import FORMATS, build_figures, save_figures
    from ..render.run_input import load_input

    paths = [Path(p) for p in args.paths] or [latest_run_dir(Path(args.results_dir))]
    data = load_input(paths)
    for line in data.skipped:   # a file that cannot be used is left out, said, and the others drawn
        print(f"slm-energy: {line}", file=sys.stderr)
    specs = build_figures(data.frame, data.efficiency, baseline=args.baseline, timeline=data.timeline)
    written = save_figures(specs, Path(args.output), tuple(args.format or FORMATS))
    for spec in specs:
        print(f"{spec.name}: {spec.title}")
    print(f"wrote {len(written)} files to {args.output}")
    return 0
