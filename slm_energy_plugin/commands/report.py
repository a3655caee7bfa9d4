"""``slm-energy report``: one self-contained HTML file of a run (figures embedded, no network)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..results.storage import latest_run_dir

NAME = "report"
HELP = "write one self-contained HTML report of a run: figures, tables, statistics in words"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="RUN_DIR_OR_FILE",
                        help="run folders and/or model JSON files. Default: the latest run under --results-dir")
    parser.add_argument("--results-dir", default="results", metavar="DIR",
                        help="where to look for the latest run when no path is given. Default: %(default)r")
    parser.add_argument("-o", "--output", default="report.html", metavar="FILE",
                        help="the HTML file to write. Default: %(default)r")
    parser.add_argument("--metrics", default=None, metavar="LIST",
                        help="comma-separated metrics for the statistics. Default: energy,latency, plus correct "
                             "where answers were scored")
    parser.add_argument("--baseline", default=None, metavar="MODEL",
                        help="model the paired per-query ratio figures are taken against. Default: the first")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level. Default: %(default)r")
    parser.add_argument("--plots", default=None, metavar="DIR",
                        help="also write the figures as files in DIR, as `slm-energy plot` does, drawn once for "
                             "both (faster than `plot` then `report`). Default: the report only")
    parser.add_argument("--format", action="append", choices=("png", "svg"), default=None,
                        help="with --plots: file format (repeat for both). Default: as `slm-energy plot`")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..render.html_report import write_report

    if not 0 < args.alpha < 1:
        raise ConfigError(f"--alpha {args.alpha} is not between 0 and 1")
    paths = [Path(p) for p in args.paths] or [latest_run_dir(Path(args.results_dir))]
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    figure_files: list[Path] = []
    skipped: list[str] = []   # a file that cannot be used is left out, said (also in the report), the others shown
    if args.format and not args.plots:
        raise ConfigError("--format chooses the files --plots DIR writes; give --plots DIR too")
    output = write_report(paths, Path(args.output), skipped=skipped, metrics=metrics, alpha=args.alpha,
                          baseline=args.baseline, plots_dir=Path(args.plots) if args.plots else None,
                          plot_formats=args.format, figure_files=figure_files)
    for line in skipped:
        print(f"slm-energy: {line}", file=sys.stderr)
    if args.plots:
        print(f"wrote {len(figure_files)} figure files to {args.plots}")
    print(f"wrote {output} ({output.stat().st_size // 1024} KiB)")
    return 0
