"""Records read once as columns: the metrics, the lean table's types and the efficiency rows they give
are those of the per-record definitions (metrics.METRICS) and of a table per run and their concat."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.quality.efficiency import efficiency_rows
from slm_energy_plugin.results.frame import _Coded, _lean_columns, _stacked, frame_from_runs
from slm_energy_plugin.results.metrics import METRICS
from slm_energy_plugin.results.record_columns import record_columns
from slm_energy_plugin.results.records import ModelRun, QueryRecord
from slm_energy_plugin.stats.build import unpair_different_texts
from tests.run_factory import ESTIMATED, MEASURED, make_run


def _odd_records() -> list[QueryRecord]:
    """One record per way a field can hold a value: missing reading or figure, no tokens, whole
    numbers where floats are usual, scores of other types than the scorers write."""
    base = make_run("odd", [4.0] * 8, correct=[True] * 8).records
    no_figure = EnergyReading(0.5, None, None, None, {"cpu": "not-measured"}, "null")
    whole = EnergyReading(0.5, 0, None, 0, dict(MEASURED), "rapl")
    changes: list[dict[str, Any]] = [
        {"energy": None, "emissions_kg": None},
        {"energy": no_figure, "scores": {"correct": 0, "score": "0.25"}},
        {"energy": whole, "emissions_kg": 0, "tokens_output": 0},
        {"scores": {"correct": "yes", "score": math.nan}},
        {"scores": {}, "duration_s": 2},
        {"outcome": "error", "scores": {"correct": None, "score": None}},
        {"energy": replace(base[6].energy, methods={"ram": "ram-constant-estimate", "cpu": "rapl"})},
        {},
    ]
    return [replace(record, **change) for record, change in zip(base, changes)]


def test_metric_arrays_equal_each_metrics_own_extract() -> None:
    records = _odd_records()
    columns = record_columns(ModelRun(info=make_run("odd", [1.0]).info, records=tuple(records)))
    for name, values in columns.metrics.items():
        expected = [math.nan if (v := METRICS[name].extract(r)) is None else float(v) for r in records]
        np.testing.assert_array_equal(values, np.array(expected, dtype=float), err_msg=name)


def test_a_column_built_at_once_has_the_type_and_values_of_a_table_per_run_and_their_concat() -> None:
    cases: list[list[Any]] = [
        [[1.0, None], [2, 3]],                   # numbers: floats
        [[1, 2], [3]],                           # whole numbers stay whole
        [[None, None], [1.5, 2.5]],              # a run without any value: objects, as concat makes them
        [["a", None], ["b"]],                    # text, missing as NaN
        [["a"], [None, None]],
        [[True], [False, True]],
        [[True, None], [False]],
        [[1, "a"], [2.0]],
        [[2**63], [1]],                          # beyond int64
        ["same", "other"],                       # one value per run
        [None, "text"],
    ]
    for parts in cases:
        lengths = [len(p) if isinstance(p, list) else 3 for p in parts]
        per_run = [pd.DataFrame({"c": p}, index=pd.RangeIndex(n)) for p, n in zip(parts, lengths)]
        expected = pd.concat(per_run, ignore_index=True, sort=False)["c"]
        built = pd.Series(_stacked("c", parts, lengths), name="c")
        pd.testing.assert_series_equal(built, expected, check_exact=True, obj=repr(parts))
    coded = _stacked("c", [_Coded(["x", ""], np.array([1, 0, 0])), _Coded(["y", "x"], np.array([1, 0]))], [3, 2])
    assert list(coded) == ["", "x", "x", "x", "y"] and coded.dtype == pd.Series(["x"]).dtype


def test_lean_table_of_unlike_runs_is_the_concat_of_their_own_tables() -> None:
    odd = make_run("odd", [1.0, 2.0, 3.0], correct=[True, False, True])
    odd = replace(odd, records=tuple(replace(r, ttft_s=None, task=None, rounds=2, extra={"load": "long"})
                                     for r in odd.records))
    plain = make_run("plain", [1.5, 2.5], methods=MEASURED)
    runs = [plain, odd, make_run("empty", [])]
    frame = frame_from_runs(runs, ["a.json", "b.json", "c.json"], lean=True)
    own = [frame_from_runs([run], [name], lean=True) for run, name in zip(runs[:2], ["a.json", "b.json"])]
    assert list(frame["round"]) == [1, 1, 1, 2, 1, 2, 1, 2]
    assert frame["ttft_s"].dtype == object and frame["extra.load"].isna().tolist()[:3] == [True, True, False]
    # Each run's rows are its own table's (the columns whose type the other run changes compared as values).
    for part, rows in zip(own, (frame.iloc[:2], frame.iloc[2:])):
        rows = rows[list(part.columns)].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, part, check_dtype=False)


def test_lean_columns_say_how_energy_was_obtained_per_set_of_labels() -> None:
    records = _odd_records()
    run = ModelRun(info=make_run("odd", [1.0]).info, records=tuple(records))
    columns = _lean_columns(run, record_columns(run), "f.json", "odd")
    methods = columns["energy_method"]
    texts = [methods.labels[c] for c in methods.codes]
    assert texts[0] == "" and texts[1] == ""            # no reading; a reading without a measured component
    assert texts[2] == "cpu=rapl,ram=rapl"
    assert texts[6] == "cpu=rapl,ram=ram-constant-estimate"
    assert texts[7] == "cpu=cpu-load-estimate,ram=ram-constant-estimate"
    assert list(columns["estimated"]) == [False, False, False, True, True, True, True, True]
    assert columns["model_energy_provenance"] == "mixed"


def test_efficiency_rows_read_each_records_own_figures() -> None:
    records = _odd_records()
    run = ModelRun(info=make_run("odd", [1.0]).info, records=tuple(records))
    (row,) = efficiency_rows([run])
    scored = [r for r in records if r.outcome != "error" and r.scores.get("correct") is not None]
    assert (row.scored, row.errors) == (len(scored), 1)
    assert row.correct == sum(bool(r.scores["correct"]) for r in scored)
    # A NaN score is a score (the mean is NaN), as each record says; readings without a figure are left out.
    assert row.mean_score is not None and math.isnan(row.mean_score)
    energies = [r.energy.total_kwh for r in scored if r.energy is not None and r.energy.total_kwh is not None]
    assert row.energy_records == len(energies) and row.provenance == "mixed"
    assert row.energy_per_query_j == sum(energies) * 3.6e6 / len(energies)


def test_ids_are_split_per_text_however_the_runs_ask_them() -> None:
    same = [make_run("a", [1.0, 2.0]), make_run("b", [1.0, 2.0])]
    assert unpair_different_texts(same) == (same, [])
    # Different ids per run, an id without text: nothing to split.
    other = [make_run("a", [1.0, 2.0]), make_run("b", [1.0], query_ids=["q009"]),
             make_run("c", [1.0], texts=[""])]
    assert unpair_different_texts(other) == (other, [])
    across = [make_run("a", [1.0, 2.0]), make_run("b", [1.0, 2.0], texts=["What is 0 + 0?", "Another text"])]
    runs, notes = unpair_different_texts(across, ["r1", "r2"])
    assert [r.query_id for r in runs[1].records] == ["q001", "q002~2"] and "in different runs" in notes[0]
    within = [make_run("a", [1.0, 2.0], query_ids=["q001", "q001"], methods=ESTIMATED)]
    runs, notes = unpair_different_texts(within)
    assert [r.query_id for r in runs[0].records] == ["q001~1", "q001~2"] and "within the run" in notes[0]


def test_values_from_the_table_are_the_records_own_with_repeats_errors_and_rounds() -> None:
    from slm_energy_plugin.results.frame import values_from_frame
    from slm_energy_plugin.results.metrics import values_by_model

    once = make_run("once", [1.0, 2.0, 3.0], correct=[True, False, True])
    once = replace(once, records=tuple(replace(r, rounds=3) if i == 1 else r for i, r in enumerate(once.records)))
    # q001 asked twice (two tests of one query), one errored test, records out of id order.
    twice = make_run("twice", [1.0, 4.0, 2.0, 8.0], correct=[True, True, False, True],
                     query_ids=["q002", "q001", "q002", "q003"])
    twice = replace(twice, records=tuple(replace(r, outcome="error") if i == 3 else r
                                         for i, r in enumerate(twice.records)))
    for runs in ([once], [once, twice], [twice, once]):
        frame = frame_from_runs(runs, lean=True)
        for metric in ("energy", "latency", "correct", "tokens", "ttft"):
            expected = values_by_model(runs, metric)
            got = values_from_frame(frame, metric)
            assert got == expected and [list(v) for v in got.values()] == [list(v) for v in expected.values()]
