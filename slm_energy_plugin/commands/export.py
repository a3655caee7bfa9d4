"""``slm-energy export``: a run as one tidy table (one row per record and round) for other tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..results.storage import latest_run_dir

# pandas loads only when the command runs: `slm-energy --help` and other commands never pay for it.
FORMATS = ("csv", "parquet", "jsonl")

NAME = "export"
HELP = "write a run as a tidy table (CSV, Parquet or JSON lines): one row per query record and round"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="RUN_DIR_OR_FILE",
                        help="run folders and/or model JSON files. Default: the latest run under --results-dir")
    parser.add_argument("--results-dir", default="results", metavar="DIR",
                        help="where to look for the latest run when no path is given. Default: %(default)r")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="Default: %(default)r")
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="file to write. Default: standard output (csv and jsonl only)")


def run(args: argparse.Namespace) -> int:
    from ..results.export import export_frame
    from ..results.frame import load_results

    paths = [Path(p) for p in args.paths] or [latest_run_dir(Path(args.results_dir))]
    skipped: list[str] = []   # a file that cannot be used is left out, said, and the others exported
    frame = load_results(*paths, skipped=skipped)
    for line in skipped:
        print(f"slm-energy: {line}", file=sys.stderr)
    output = Path(args.output) if args.output else None
    text = export_frame(frame, args.format, output)
    if text is not None:
        sys.stdout.write(text)
    else:
        print(f"wrote {output} ({len(frame)} rows, {len(frame.columns)} columns)", file=sys.stderr)
    return 0
