"""``slm-energy export``: a run as one tidy table (one row per record and round) for other tools,
or in the shapes the seeds' own tools read (seed JSON files, the experiment file, an Excel workbook)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError
from ..results.storage import latest_run_dir

# pandas loads only when the command runs: `slm-energy --help` and other commands never pay for it.
TABLE_FORMATS = ("csv", "parquet", "jsonl")
# The seeds' shapes (see results/seed_exports.py): written to files, never to standard output.
SEED_FORMATS = ("xlsx", "seed", "experiment")
FORMATS = TABLE_FORMATS + SEED_FORMATS

NAME = "export"
HELP = "write a run as a tidy table (CSV, Parquet, JSON lines) or in the seeds' shapes (xlsx, seed JSON files, experiment_results)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="RUN_DIR_OR_FILE",
                        help="run folders and/or model JSON files. Default: the latest run under --results-dir")
    parser.add_argument("--results-dir", default="results", metavar="DIR",
                        help="where to look for the latest run when no path is given. Default: %(default)r")
    parser.add_argument("--format", choices=FORMATS, default="csv",
                        help="csv/parquet/jsonl: the tidy table; xlsx: the math benchmark's workbook (a summary "
                             "sheet, one sheet of records per model); seed: environmental_data_<name>.json per model "
                             "with the original fields only (gpt2, phi2, deepseek), into -o DIR; experiment: one "
                             "experiment_results_YYYYMMDD_HHMMSS.json into -o DIR. Default: %(default)r")
    parser.add_argument("-o", "--output", default=None, metavar="FILE_OR_DIR",
                        help="file to write (a folder for seed and experiment). Default: standard output (csv and "
                             "jsonl), run.xlsx (xlsx), the current folder (seed, experiment)")
    parser.add_argument("--seed-name", action="append", default=None, metavar="ALIAS=NAME",
                        help="with --format seed: write model ALIAS as environmental_data_NAME.json (repeat for "
                             "several), e.g. tiny-gpt2=gpt2. Default: gpt2/phi2/deepseek for the seed's three models, "
                             "else the alias")


def run(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or [latest_run_dir(Path(args.results_dir))]
    if args.seed_name and args.format != "seed":
        raise ConfigError("--seed-name goes with --format seed")
    if args.format in SEED_FORMATS:
        return _seed_shapes(args, paths)
    from ..results.export import export_frame
    from ..results.frame import load_results

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


def _refuse_existing(path: Path) -> None:
    if path.exists():
        raise ConfigError(f"{path} already exists; exports never overwrite a file: choose another -o")


def _seed_shapes(args: argparse.Namespace, paths: list[Path]) -> int:
    from ..results.frame import runs_and_sources
    from ..results.seed_exports import (experiment_file_name, experiment_results, parse_seed_names,
                                        seed_file_names, seed_model_dict)
    from ..results.storage import atomic_write_json

    runs, _ = runs_and_sources(paths)
    if args.format == "xlsx":
        from ..render.workbook import write_workbook

        target = Path(args.output or "run.xlsx")
        _refuse_existing(target)
        sheets = write_workbook(runs, target)
        print(f"wrote {target} (sheets: {', '.join(sheets)})", file=sys.stderr)
        return 0
    folder = Path(args.output or ".")
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"-o {folder}: --format {args.format} writes into a folder, and this is a file")
    folder.mkdir(parents=True, exist_ok=True)
    if args.format == "seed":
        names = seed_file_names(runs, parse_seed_names(args.seed_name or ()))
        targets = [folder / name for name in names]
        for target in targets:      # all checked before any is written: none or all
            _refuse_existing(target)
        for run, target in zip(runs, targets):
            atomic_write_json(target, seed_model_dict(run))
            print(f"wrote {target} ({run.alias}, {len(run.records)} queries)", file=sys.stderr)
        return 0
    name = experiment_file_name(runs, datetime.now(timezone.utc))
    target = folder / name
    _refuse_existing(target)
    data = experiment_results(runs, name.removeprefix("experiment_results_").removesuffix(".json"))
    atomic_write_json(target, data)
    print(f"wrote {target} ({data['experiment_info']['total_tests']} results, "
          f"{len(runs)} models)", file=sys.stderr)
    return 0
