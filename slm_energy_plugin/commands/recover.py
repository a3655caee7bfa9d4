"""``slm-energy recover RUN_DIR``: model files from the journal of an interrupted run.

A run killed before it could write its files (power loss, ``kill -9``, a full disk)
leaves ``journal.jsonl``: every finished query, one JSON line each. This rebuilds the
model files from it with the same code the plugin uses, marked ``status: recovered``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..number_format import plural
from ..results import storage
from ..results.collector import RunCollector
from ..errors import SlmEnergyError
from ..timestamps import utc_now

NAME = "recover"
HELP = "rebuild the model files of an interrupted run from its journal"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="the run folder holding journal.jsonl")
    parser.add_argument("--force", action="store_true", help="rewrite model files that already exist")


def run(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    journal = run_dir / storage.JOURNAL
    if not journal.is_file():
        raise SlmEnergyError(f"{run_dir}: no {storage.JOURNAL} here; only interrupted runs have one")
    existing = storage.model_files(run_dir)
    if existing and not args.force:
        raise SlmEnergyError(f"{run_dir}: already holds {len(existing)} model files; pass --force to rebuild them")
    unreadable: list[str] = []
    collector = RunCollector.from_journal(storage.read_journal(journal, skipped=unreadable))
    skipped = unreadable + collector.skipped
    runs = collector.build_runs(status="recovered", finished_at=utc_now())
    if not runs:
        reason = f" ({len(skipped)} unreadable lines; first: {skipped[0]})" if skipped else ""
        raise SlmEnergyError(f"{journal}: holds no finished measurements{reason}")
    if skipped:
        print(f"skipped {len(skipped)} unreadable journal lines (first: {skipped[0]})", file=sys.stderr)
    failed: list[str] = []   # one model's file that cannot be written never costs the others theirs
    for path in storage.write_model_runs(run_dir, runs, failed=failed):
        print(f"wrote {path}")
    for line in failed:
        print(f"slm-energy: {line}", file=sys.stderr)
    print(f"recovered {plural(collector.record_count, 'record')} of {plural(len(runs), 'model')} from {journal}")
    return 1 if failed else 0
