"""Summary lines on how far a run's comparisons hold: order, background load, one measurement, repeats."""

from __future__ import annotations

from dataclasses import replace

from slm_energy_plugin.render.writer import LineCollector
from slm_energy_plugin.render.summary import render_summary
from slm_energy_plugin.render.verdicts import (background_lines, order_lines, repeatability_lines, round_cv,
                                               same_measurement)
from slm_energy_plugin.results.records import ModelRun

from ..run_factory import MEASURED, make_run


def _with_extra(run: ModelRun, **fields: object) -> ModelRun:
    records = tuple(replace(r, extra={**r.extra, **{k: (v(i) if callable(v) else v) for k, v in fields.items()}})
                    for i, r in enumerate(run.records))
    return replace(run, records=records)


def _runs(**fields: object) -> list[ModelRun]:
    return [_with_extra(make_run(alias, [10.0 * scale + i for i in range(10)]), **fields)
            for alias, scale in (("gpt2", 1.0), ("phi2", 1.4))]


def test_order_lines_say_which_order_ran_and_warn_for_grouped() -> None:
    assert "interleaved" in order_lines(_runs(order={"mode": "interleaved"}))[0]
    [warning] = order_lines(_runs(order={"mode": "grouped"}))
    assert warning.startswith("Warning: run order grouped") and "confounded" in warning
    assert order_lines(_runs()) == []    # files written before run orders were recorded


def test_background_warning_names_how_many_queries_per_model() -> None:
    runs = _runs(background_load=lambda i: 0.5 if i < 3 else 0.01)
    [line] = background_lines(runs)
    assert "gpt2 3/10" in line and "phi2 3/10" in line and "20%" in line
    assert background_lines(_runs(background_load=0.05)) == []
    assert background_lines(_runs(background_load=lambda i: 0.5 if i == 0 else 0.0)) == []   # 1 in 10: not a pattern


def test_estimated_energy_and_latency_are_shown_once() -> None:
    shown, note = same_measurement(_runs(), ["energy", "latency", "tokens"])
    assert shown == ["energy", "tokens"] and note is not None and "one measurement" in note
    measured = [make_run(a, [1.0, 2.0, 3.0], methods=MEASURED) for a in ("x", "y")]
    assert same_measurement(measured, ["energy", "latency"]) == (["energy", "latency"], None)
    # A load level shares a window's energy by overlap: energy is no longer latency x power.
    batched = _runs()
    batched[1] = replace(batched[1], performance={"load": {"batch_size": 8}})
    assert same_measurement(batched, ["energy", "latency"]) == (["energy", "latency"], None)
    out = LineCollector()
    render_summary(_runs(), out, full=True, metrics=["energy", "latency"])
    text = "\n".join(out.lines)
    assert "one measurement" in text and "-- energy per query" in text and "-- latency" not in text


def test_repeatability_puts_within_query_spread_beside_between_model_differences() -> None:
    assert round_cv([1.0, 1.0]) == 0.0 and round_cv([1.0]) is None
    noisy = _runs(round_seconds=[1.0, 1.5, 0.5])
    [line] = repeatability_lines(noisy)
    assert "gpt2 50.0%" in line and "as large as the differences" in line
    quiet = _runs(round_seconds=[1.0, 1.01, 0.99])
    [line] = repeatability_lines(quiet)
    assert "gpt2 1.0%" in line and "as large" not in line
    assert repeatability_lines(_runs()) == []
