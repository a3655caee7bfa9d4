"""load_results: every field of a real run's files becomes a column; exports read back equal."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from slm_energy_plugin import load_results
from slm_energy_plugin.cli import main
from slm_energy_plugin.errors import SlmEnergyError
from slm_energy_plugin.results.export import read_export
from slm_energy_plugin.results.frame import COLUMN_NAMES, column_for, json_leaves, values_from_frame
from slm_energy_plugin.stats.frame_stats import compare_models
from slm_energy_plugin.results.metrics import values_by_model
from slm_energy_plugin.results.storage import load_run_dir
from tests.run_factory import write_seed_file


def _same(expected: Any, actual: Any) -> bool:
    if expected is None:
        return actual is None or (isinstance(actual, float) and math.isnan(actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected) == bool(actual) if not isinstance(actual, str) else str(expected) == actual
    if isinstance(expected, (int, float)) and not isinstance(actual, str):
        return math.isclose(float(expected), float(actual), rel_tol=1e-12, abs_tol=0.0)
    if isinstance(actual, str) and not isinstance(expected, str):
        return str(expected) == actual        # a field of mixed types across records is text
    return bool(expected == actual)


def test_every_field_of_every_model_file_is_a_column_with_its_value(real_run: Path) -> None:
    frame = load_results(real_run)
    checked = 0
    for path in sorted(real_run.glob("environmental_data_*.json")):
        data = json.loads(path.read_text())
        history = data.pop("query_history")
        rows = frame[frame["source_file"] == str(path)]
        assert len(rows) == sum(r["rounds"] for r in history)
        for leaf, value in json_leaves(data):
            column = column_for(leaf, level="model")
            assert column in frame.columns, f"{'.'.join(leaf)} has no column"
            assert all(_same(value, v) for v in rows[column]), (leaf, value, rows[column].iloc[0])
            checked += 1
        for record in history:
            row = rows[(rows["query_id"] == record["query_id"]) & (rows["round"] == 1)]
            assert len(row) == 1
            for leaf, value in json_leaves(record):
                column = column_for(leaf, level="record")
                assert column in frame.columns, f"query_history[].{'.'.join(leaf)} has no column"
                assert _same(value, row[column].iloc[0]), (leaf, value, row[column].iloc[0])
                checked += 1
    assert checked > 500


def test_one_row_per_record_and_round_with_each_rounds_own_time(real_run: Path) -> None:
    frame = load_results(real_run)
    data = json.loads((real_run / "environmental_data_tiny-gpt2.json").read_text())
    record = data["query_history"][0]
    assert record["rounds"] == 2
    rows = frame[(frame["model"] == "tiny-gpt2") & (frame["query_id"] == record["query_id"])]
    assert list(rows["round"]) == [1, 2]
    assert list(rows["round_duration_s"]) == pytest.approx(record["extra"]["round_seconds"])
    # Both rounds carry the record's per-round energy (the window's energy / rounds).
    assert list(rows["energy_kwh"]) == pytest.approx([record["energy_kwh"]] * 2)


def test_provenance_columns_say_where_and_how(real_run: Path) -> None:
    frame = load_results(real_run)
    manifest = json.loads((real_run / "run.json").read_text())
    assert set(frame["run_id"]) == {manifest["run_id"]}
    assert set(frame["host"]) == {manifest["machine"]["hostname"]}
    # This machine has no energy counter: CodeCarbon estimates, and the table says so per row.
    assert frame["estimated"].all()
    assert set(frame["energy_method"]) == {"cpu=cpu-load-estimate,ram=ram-constant-estimate"}
    assert (frame["energy_j"] == frame["energy_kwh"] * 3.6e6).all()
    assert set(COLUMN_NAMES) <= set(frame.columns)
    assert list(frame.columns[:len(COLUMN_NAMES)]) == list(COLUMN_NAMES)


def test_seed_format_file_reads_with_no_energy_method(tmp_path: Path) -> None:
    path = write_seed_file(tmp_path / "environmental_data_gpt2.json", "openai-community/gpt2",
                           [1e-6, 2e-6, 3e-6], [0.5, 0.6, 0.7])
    frame = load_results(path)
    assert list(frame["source_format"]) == ["seed"] * 3
    assert list(frame["host"]) == ["unknown"] * 3
    assert list(frame["energy_method"]) == [""] * 3 and not frame["estimated"].any()
    assert list(frame["emissions_g"]) == pytest.approx([1e-3, 2e-3, 3e-3])
    assert frame["energy_j"].isna().all()
    assert list(frame["model_id"]) == ["openai-community/gpt2"] * 3


def test_a_broken_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "environmental_data_x.json"
    bad.write_text("{not json")
    with pytest.raises(SlmEnergyError, match="not valid JSON"):
        load_results(bad)
    with pytest.raises(SlmEnergyError, match="missing-run: no such file"):
        load_results(tmp_path / "missing-run")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_reads_back_equal(real_run: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"run.{fmt}"
    assert main(["export", str(real_run), "--format", fmt, "-o", str(out)]) == 0
    frame = load_results(real_run)
    back = read_export(out, fmt)
    assert list(back.columns) == list(frame.columns)
    assert len(back) == len(frame)
    for column in frame.columns:
        for expected, actual in zip(frame[column], back[column]):
            if expected is None or (isinstance(expected, float) and math.isnan(expected)):
                assert actual is None or (isinstance(actual, float) and math.isnan(actual)), (column, actual)
            elif isinstance(expected, (bool, str)):
                # CSV carries no types: a text that reads as a number comes back as that number.
                assert expected == actual or str(expected) == str(actual) or (
                    fmt == "csv" and _number(expected) == _number(actual) is not None), (column, expected, actual)
            else:
                assert float(actual) == pytest.approx(float(expected), rel=1e-12), (column, expected, actual)


def test_export_to_stdout_and_parquet_needs_a_file(real_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(real_run), "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(load_results(real_run))
    assert json.loads(lines[0])["model"] in {"tiny-gpt2", "tiny-phi"}
    assert main(["export", str(real_run), "--format", "parquet"]) == 2
    assert "give -o FILE" in capsys.readouterr().err


def test_statistics_accept_the_frame_and_agree_with_the_records(real_run: Path) -> None:
    frame = load_results(real_run)
    runs = load_run_dir(real_run)
    for metric in ("energy", "latency", "tokens", "correct"):
        assert values_from_frame(frame, metric) == values_by_model(runs, metric), metric
    from_frame, from_runs = compare_models(frame, "energy"), compare_models(runs, "energy")
    assert from_frame == from_runs
    pair = from_frame.pairs[0]
    assert pair.n_shared == 4 and pair.wilcoxon is not None and pair.shift is not None
    assert compare_models(real_run, "energy") == from_runs      # a run folder works too
    assert isinstance(frame, pd.DataFrame)


def test_the_lean_table_is_the_full_one_cut_to_its_columns(real_run: Path) -> None:
    from slm_energy_plugin.results.frame import frame_from_runs
    from slm_energy_plugin.results.storage import load_run_dir

    runs = load_run_dir(real_run)
    full, lean = frame_from_runs(runs), frame_from_runs(runs, lean=True)
    assert set(lean.columns) < set(full.columns) and len(lean) == len(full)
    pd.testing.assert_frame_equal(lean, full[list(lean.columns)], check_dtype=False)
