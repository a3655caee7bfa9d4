"""Everything the plots and the HTML report are drawn from, loaded once from run folders/files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..bulk import collector_paused
from ..errors import SlmEnergyError
from ..quality.efficiency import EfficiencyRow, efficiency_rows
from ..results.records import ModelRun
from ..results.frame import frame_from_runs, runs_and_sources
from ..results.record_columns import record_columns
from ..results.run_manifest import read_manifests
from ..stats.build import prepare_for_pairing
from .sequential_tables import SequentialRun, problem_lines, sequential_runs

TIMELINE_FILE = "timeline.csv"


@dataclass(frozen=True)
class RunInput:
    paths: tuple[Path, ...]
    runs: tuple[ModelRun, ...]          # equal aliases from different runs told apart (gpt2@1, gpt2@2)
    sources: tuple[str, ...]
    frame: pd.DataFrame                 # the lean table (results.frame: the columns figures use)
    efficiency: tuple[EfficiencyRow, ...]
    notes: tuple[str, ...]
    timeline: pd.DataFrame | None
    skipped: tuple[str, ...] = ()       # files left out as unusable, one line each (also in notes)
    sequential: tuple[SequentialRun, ...] = ()   # runs made with --energy-until decided, verdicts from run.json


def read_timeline(paths: Sequence[Path]) -> pd.DataFrame | None:
    """The utilisation timeline of the first run folder that has one."""
    for path in paths:
        candidate = path / TIMELINE_FILE
        if path.is_dir() and candidate.is_file():
            try:
                return pd.read_csv(candidate)
            except (ValueError, pd.errors.ParserError) as exc:
                raise SlmEnergyError(f"{candidate}: not a readable CSV file ({exc})") from None
    return None


def load_input(paths: Sequence[Path]) -> RunInput:
    with collector_paused():    # millions of acyclic objects: see bulk.py
        return _load_input(paths)


def _load_input(paths: Sequence[Path]) -> RunInput:
    skipped: list[str] = []   # one bad file never refuses the honest ones beside it
    runs, sources = runs_and_sources(list(paths), skipped)
    if not any(run.records for run in runs):   # e.g. a served model whose every query failed to connect
        where = ", ".join(str(path) for path in paths)
        raise SlmEnergyError(f"{where}: no query record in its model files ({', '.join(sources)}): nothing to "
                             "plot or report; `slm-energy runs` lists the runs that have some")
    sequential = sequential_runs(runs, sources, read_manifests(sources))
    aliases_in_files = [run.alias for run in runs]
    runs, pairing_notes = prepare_for_pairing(runs, sources)
    notes = skipped + list(pairing_notes) + problem_lines(sequential)
    columns = [record_columns(run) for run in runs]   # read once, for the table and the efficiency rows
    return RunInput(tuple(paths), tuple(runs), tuple(sources),
                    frame_from_runs(runs, sources, aliases_in_files, lean=True, columns=columns),
                    tuple(efficiency_rows(runs, columns)), tuple(notes), read_timeline(paths), tuple(skipped),
                    tuple(sequential))
