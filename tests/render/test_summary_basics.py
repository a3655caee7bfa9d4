"""The summary renderer's basics: estimates said to be estimates, small numbers readable, meter warnings counted."""

from __future__ import annotations

from slm_energy_plugin.render.writer import LineCollector
from slm_energy_plugin.render.summary import fmt, provenance_sentence, render_brief, render_model_table

from ..results.test_records_and_storage import model_run


def test_summary_says_estimates_are_estimates() -> None:
    collector = LineCollector()
    lines = collector.lines
    runs = [model_run("tiny-a"), model_run("b", weights="pretrained"), model_run("deepseek-r1-1.5b")]
    render_model_table(runs, collector)
    render_brief(runs, collector)
    assert provenance_sentence(runs).startswith("Energy: ESTIMATED, not measured")
    brief = {line.split()[0]: line.split() for line in lines[-4:-1]}
    assert brief["tiny-a"] == ["tiny-a", "3", "7.2", "0.2", "10", "-", "estimated", "untrained"]
    assert brief["b"][-1] == "pretrained"
    assert lines[-1] == "untrained: a tiny model never trained: its cost is real, its answers are not."
    assert max(len(line) for line in lines if not line.startswith(("Energy", "Medians"))) <= 80


def test_fmt_keeps_small_numbers_readable() -> None:
    assert fmt(None) == "-" and fmt(0) == "0" and fmt(7.2) == "7.2" and fmt(3.05e-05) == "3.05e-05"
    assert fmt(123456.0) == "1.23e+05"


def test_meter_warnings_are_counted_in_the_summary() -> None:
    from dataclasses import replace

    run = model_run("m")
    flagged = replace(run.records[0].energy, warnings=("CodeCarbon reported zero energy for this window",))
    run = replace(run, records=(replace(run.records[0], energy=flagged),) + run.records[1:])
    collector = LineCollector()
    from slm_energy_plugin.render.summary import render_summary

    render_summary([run], collector, full=False, metrics=("energy",))
    assert "Meter warning (1 query): CodeCarbon reported zero energy for this window" in collector.lines
