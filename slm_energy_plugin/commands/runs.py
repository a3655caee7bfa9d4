"""``slm-energy runs``: the run folders under a results directory, newest last, with what each holds.

``slm-energy compare`` without a path takes the newest run that has model files; this shows
the candidates, so a user can pick another one explicitly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..results.storage import latest_run_dir, run_candidates

NAME = "runs"
HELP = "list the run folders under a results directory and what each holds"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results-dir", default="results", metavar="DIR",
                        help="the results directory to list. Default: %(default)r")
    parser.add_argument("--latest", action="store_true",
                        help="print only the newest run folder with model files (the one `compare`, `plot`, "
                             "`report` and `export` take by default), for scripts: "
                             "--runs \"$(slm-energy runs --latest)\"")


def run(args: argparse.Namespace) -> int:
    if args.latest:
        # Only run folders qualify: an adapter or an empty folder under the results directory never does.
        print(latest_run_dir(Path(args.results_dir)))
        return 0
    candidates = run_candidates(Path(args.results_dir))
    if not candidates:
        print(f"{args.results_dir}: no runs yet; run `pytest benchmarks` first")
        return 0
    picked = next((p for p, state in reversed(candidates) if "model file" in state), None)
    for path, state in candidates:
        mark = "  <- `slm-energy compare` picks this one (newest with model files)" if path == picked else ""
        print(f"{path}  {state}{mark}")
    return 0
