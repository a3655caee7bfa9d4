"""The report's per-metric tables built from the results table at once are what compare_models
makes of the dicts: same rows, columns, values, counts, notes; the dicts where only they can say."""

from __future__ import annotations

import math

import numpy as np
import pytest

from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.results.frame import frame_from_runs, values_from_frame
from slm_energy_plugin.results.metrics import values_by_model
from slm_energy_plugin.results.records import ModelInfo, ModelRun, QueryRecord
from slm_energy_plugin.stats.core import compare_models, compare_table
from slm_energy_plugin.stats.frame_stats import value_table, value_tables

METHODS = {"cpu": "cpu-load-estimate", "gpu": "absent", "ram": "ram-constant-estimate"}


def _record(model: str, qid: str, i: int, rng: np.random.Generator, **changes: object) -> QueryRecord:
    joules = float(rng.lognormal(0, 0.5))
    fields: dict[str, object] = dict(
        model=model, query_id=qid, query=f"q {qid}", response="r", tokens_input=3, tokens_output=int(rng.integers(1, 9)),
        duration_s=round(joules / 7, 2), sequence=i + 1,
        energy=EnergyReading(1.0, joules / 3.6e6, None, None, METHODS, "codecarbon"),
        scores={"correct": bool(rng.random() < 0.5), "score": float(rng.random())})
    fields.update(changes)
    return QueryRecord(**fields)  # type: ignore[arg-type]


def _runs(rng: np.random.Generator, duplicate: bool = False) -> list[ModelRun]:
    runs = []
    for m in range(4):
        model = f"m{m}"
        records = []
        for i in range(60):
            qid = f"q{(i * 7) % 60:03d}"       # ids not in sorted order in the file
            if m == 1 and i % 5 == 0:
                continue                        # queries only some models answered
            changes: dict[str, object] = {}
            if i % 11 == 3:
                changes["outcome"] = "error"    # never counted
            elif i % 13 == 4:
                changes["energy"] = None        # no energy figure
            elif m == 2 and i % 17 == 5:
                changes["duration_s"] = math.inf   # non-finite: said to be left out
            elif i % 19 == 6:
                changes["rounds"] = 3           # one value, three rows in the table
            records.append(_record(model, qid, i, rng, **changes))
        if duplicate and m == 3:
            records += [_record(model, "q001", 99, rng), _record(model, "q001", 100, rng)]
        runs.append(ModelRun(info=ModelInfo(alias=model, model_id=model), records=tuple(records)))
    runs.append(ModelRun(info=ModelInfo(alias="empty", model_id="empty"), records=()))
    return runs


@pytest.mark.parametrize("metric", ["energy", "latency", "tokens", "correct", "score", "ttft"])
def test_the_table_compares_as_the_dicts_do(metric: str) -> None:
    runs = _runs(np.random.default_rng(3))
    frame = frame_from_runs(runs, lean=True)
    aliases = [run.alias for run in runs]
    binary = metric == "correct"
    table = value_table(frame, metric, aliases, binary=binary)
    assert table is not None
    from_records = compare_models(values_by_model(runs, metric), binary=binary)
    from_frame = compare_models({a: values_from_frame(frame, metric).get(a, {}) for a in aliases}, binary=binary)
    assert compare_table(table, binary=binary) == from_records == from_frame


def test_a_query_answered_twice_by_a_model_is_left_to_the_dicts() -> None:
    """record_values averages a model's repeated query id in record order: only the dicts can say."""
    runs = _runs(np.random.default_rng(4), duplicate=True)
    frame = frame_from_runs(runs, lean=True)
    assert value_table(frame, "energy", [run.alias for run in runs]) is None
    assert value_table(frame_from_runs(_runs(np.random.default_rng(4)), lean=True), "energy",
                       [run.alias for run in runs]) is not None


def test_a_binary_value_neither_0_nor_1_is_left_to_the_dicts() -> None:
    """Its note names the first such value in record order: only the dicts keep that order."""
    runs = _runs(np.random.default_rng(5))
    frame = frame_from_runs(runs, lean=True)
    assert value_table(frame, "score", [run.alias for run in runs], binary=True) is None   # scores in (0, 1)
    assert value_table(frame, "correct", [run.alias for run in runs], binary=True) is not None


def test_one_frame_s_tables_serve_every_metric_as_each_alone() -> None:
    """The report asks one value_tables for each metric in turn: the rows and codes worked out once
    serve them all, also where a model has no value of one metric (it is then not in that table's
    way: a model missing from ``models`` refuses only the metrics it has values of)."""
    runs = _runs(np.random.default_rng(6))
    runs[3] = ModelRun(info=runs[3].info, records=tuple(
        QueryRecord(**{**r.__dict__, "energy": None}) for r in runs[3].records))   # m3: no energy at all
    frame = frame_from_runs(runs, lean=True)
    aliases = [run.alias for run in runs]
    tables = value_tables(frame, aliases)
    for metric in ("energy", "latency", "correct", "tokens", "energy"):
        binary = metric == "correct"
        table = tables(metric, binary)
        assert table is not None
        assert compare_table(table, binary=binary) == compare_models(values_by_model(runs, metric), binary=binary)
    without_m3 = value_tables(frame, [a for a in aliases if a != "m3"])
    assert without_m3("energy", False) is not None and without_m3("latency", False) is None
