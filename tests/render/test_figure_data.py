"""Figure data from constructed runs with known values: what matplotlib is handed, not pixels."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slm_energy_plugin.quality.efficiency import efficiency_rows
from slm_energy_plugin.render import figure_data as fd
from slm_energy_plugin.render.plots import build_figures, save_figures
from slm_energy_plugin.results.records import ModelRun
from slm_energy_plugin.render.style import PALETTE
from slm_energy_plugin.results.frame import frame_from_runs, values_from_frame
from tests.run_factory import MEASURED, make_run


def test_distribution_medians_quartiles_and_estimated_label() -> None:
    frame = frame_from_runs([make_run("a", [1.0, 2.0, 3.0, 4.0, 5.0]), make_run("b", [10.0, 20.0, 30.0])])
    data = fd.distribution(frame, "energy")
    assert data is not None
    a, b = data.series
    assert (a.model, a.median, a.q1, a.q3, a.n) == ("a", pytest.approx(3.0), pytest.approx(2.0), pytest.approx(4.0), 5)
    assert b.median == pytest.approx(20.0) and b.n == 3
    assert (a.color, b.color) == PALETTE[:2]
    assert data.ylabel == "energy per query (J, estimated)" and "(estimated)" in data.title
    latency = fd.distribution(frame, "latency")
    assert latency is not None and "estimated" not in latency.ylabel


def test_measured_energy_is_not_called_estimated() -> None:
    frame = frame_from_runs([make_run("a", [1.0, 2.0], methods=MEASURED), make_run("b", [3.0, 4.0], methods=MEASURED)])
    data = fd.distribution(frame, "energy")
    assert data is not None and data.ylabel == "energy per query (J)" and "estimated" not in data.title


def test_paired_ratios_of_a_model_using_exactly_twice_the_energy() -> None:
    base = [1.0, 3.0, 0.5, 8.0, 2.0, 4.0]
    frame = frame_from_runs([make_run("small", base), make_run("big", [2 * x for x in base])])
    data = fd.paired_ratios(frame, "energy")
    assert data is not None and data.baseline == "small"
    (big,) = data.series
    assert big.model == "big" and big.n_shared == 6
    assert np.allclose(big.log10_ratios, math.log10(2.0))
    assert big.median_ratio == pytest.approx(2.0)
    assert big.hl_ratio == pytest.approx(2.0) and big.hl_low == pytest.approx(2.0) and big.hl_high == pytest.approx(2.0)
    flipped = fd.paired_ratios(frame, "energy", baseline="big")
    assert flipped is not None and flipped.series[0].median_ratio == pytest.approx(0.5)


def test_unknown_baseline_is_one_clear_error() -> None:
    from slm_energy_plugin.errors import SlmEnergyError

    frame = frame_from_runs([make_run("a", [1.0, 2.0]), make_run("b", [2.0, 3.0])])
    with pytest.raises(SlmEnergyError, match="baseline model 'zzz' is not in the run"):
        fd.paired_ratios(frame, "energy", baseline="zzz")


def test_pareto_front_holds_exactly_the_undominated_models() -> None:
    # cheap: 2 J, 2/10 right; accurate: 8 J, 9/10 right; dominated: 9 J, 1/10 right.
    runs = [
        make_run("cheap", [2.0] * 10, correct=[True] * 2 + [False] * 8),
        make_run("accurate", [8.0] * 10, correct=[True] * 9 + [False]),
        make_run("dominated", [9.0] * 10, correct=[True] + [False] * 9),
    ]
    frame = frame_from_runs(runs)
    data = fd.accuracy_vs_energy(efficiency_rows(runs), frame)
    assert data is not None
    (panel,) = data.panels
    points = {p.model: p for p in panel.points}
    assert [m for m, p in points.items() if p.pareto] == ["cheap", "accurate"]
    assert panel.front == (pytest.approx((2.0, 0.2)), pytest.approx((8.0, 0.9)))
    # Wilson 95% interval of 9/10 (the project's function): about [0.596, 0.982].
    assert points["accurate"].low == pytest.approx(0.5958, abs=1e-3)
    assert points["accurate"].high == pytest.approx(0.9821, abs=1e-3)
    assert "estimated" in data.xlabel


def test_scatter_pairs_each_querys_latency_with_its_energy() -> None:
    frame = frame_from_runs([make_run("a", [1.0, 2.0, 4.0], seconds_per_joule=0.5)])
    data = fd.energy_vs_latency(frame)
    assert data is not None
    (series,) = data.series
    assert list(series.x) == pytest.approx([0.5, 1.0, 2.0]) and list(series.y) == pytest.approx([1.0, 2.0, 4.0])
    tokens = fd.tokens_vs_energy(frame_from_runs([make_run("a", [1.0, 2.0], tokens=[10, 30])]))
    assert tokens is not None and list(tokens.series[0].x) == [10.0, 30.0]


def test_large_runs_draw_a_seeded_sample_but_keep_every_value_for_the_box() -> None:
    values = list(np.random.default_rng(3).lognormal(0, 1, 10_000))
    frame = frame_from_runs([make_run("a", values)])
    first, second = fd.distribution(frame, "energy"), fd.distribution(frame, "energy")
    assert first is not None and second is not None
    (series,) = first.series
    assert series.n == 10_000 and len(series.shown) == fd.MAX_POINTS
    assert series.median == pytest.approx(float(np.median(values)))
    assert np.array_equal(series.shown, second.series[0].shown)      # the same sample every time
    assert "seeded sample" in first.caption


def test_per_task_groups_only_when_there_are_several() -> None:
    run = make_run("a", [1.0, 2.0, 3.0, 4.0])
    frame = frame_from_runs([run])
    assert fd.grouped(frame) is None
    tasks = ["math", "math", "sql", "sql"]
    tasked = replace(run, records=tuple(replace(r, task=t) for r, t in zip(run.records, tasks)))
    data = fd.grouped(frame_from_runs([tasked]))
    assert data is not None and data.groups == ("math", "sql")
    assert [(s.model, s.median) for s in data.series] == [("math / a", pytest.approx(1.5)), ("sql / a", pytest.approx(3.5))]


def test_machines_side_by_side_one_panel_per_host() -> None:
    one = replace(make_run("gpt2", [1.0, 2.0, 3.0]), machine={"hostname": "laptop"}, run_id="r1")
    two = replace(make_run("gpt2", [4.0, 5.0, 6.0]), machine={"hostname": "ci-runner"}, run_id="r2")
    frame = frame_from_runs([one, two])
    data = fd.machines(frame)
    assert data is not None
    assert [p.host for p in data.panels] == ["laptop", "ci-runner"]
    assert [p.series[0].median for p in data.panels] == [pytest.approx(2.0), pytest.approx(5.0)]
    assert fd.machines(frame_from_runs([one])) is None


def test_timeline_from_a_csv_table() -> None:
    table = pd.DataFrame({"elapsed_s": [10.0, 10.5, 11.0], "cpu_percent": [50.0, 95.0, 20.0], "note": ["a", "b", "c"]})
    data = fd.timeline(table)
    assert data is not None
    assert list(data.time) == [0.0, 0.5, 1.0]
    assert [name for name, _ in data.lines] == ["cpu_percent"]
    assert fd.timeline(pd.DataFrame({"cpu_percent": [1.0]})) is None


def _awkward_table() -> pd.DataFrame:
    """Rows values_from_frame must sort out: a query asked twice (averaged), a second round and an
    error (not counted), a missing value and a missing query id (left out), two tasks, two hosts."""
    rows = [  # model, query, round, outcome, energy J, task, host
        ("a", "q1", 1, "passed", 1.0, "math", "h1"), ("a", "q1", 2, "passed", 99.0, "math", "h1"),
        ("a", "q2", 1, "passed", 2.0, "math", "h1"), ("a", "q1", 1, "failed", 3.0, "code", "h1"),
        ("a", "q3", 1, "error", 5.0, "math", "h1"), ("a", "q4", 1, "passed", math.nan, "math", "h1"),
        ("a", None, 1, "passed", 7.0, "math", "h1"), ("a", "q5", 1, "passed", 4.0, "code", "h1"),
        ("b", "q2", 1, "passed", 4.0, "math", "h2"), ("b", "q1", 1, "passed", 2.0, "math", "h2"),
        ("b", "q5", 1, "failed", 8.0, "code", "h2"), ("b", "q1", 1, "passed", 6.0, "math", "h2"),
    ]
    frame = pd.DataFrame(rows, columns=["model", "query_id", "round", "outcome", "energy_j", "task", "host"])
    return frame.assign(alias_in_file=frame["model"], run_id="r", estimated=False,
                        latency_s=frame["energy_j"] / 10)


def _expected(frame: pd.DataFrame, model: str) -> np.ndarray:
    return np.array(list(values_from_frame(frame, "energy")[model].values()))


def test_figures_take_the_values_values_from_frame_gives_repeated_queries_averaged() -> None:
    frame = _awkward_table()
    data = fd.distribution(frame, "energy")
    assert data is not None
    assert [s.values.tolist() for s in data.series] == [[2.0, 2.0, 4.0], [4.0, 4.0, 8.0]]
    assert all(np.array_equal(s.values, _expected(frame, s.model)) for s in data.series)
    ratios = fd.paired_ratios(frame, "energy")
    assert ratios is not None and np.allclose(ratios.series[0].log10_ratios, math.log10(2.0))
    assert ratios.series[0].n_shared == 3
    scatter = fd.energy_vs_latency(frame)
    assert scatter is not None and [s.y.tolist() for s in scatter.series] == [[2.0, 2.0, 4.0], [4.0, 4.0, 8.0]]
    by_task = fd.grouped(frame)
    assert by_task is not None and by_task.groups == ("math", "code")
    for series in by_task.series:
        task, model = series.model.split(" / ")
        assert np.array_equal(series.values, _expected(frame[frame["task"] == task], model))
    assert [s.values.tolist() for s in by_task.series] == [[1.0, 2.0], [4.0, 4.0], [3.0, 4.0], [8.0]]
    per_host = fd.machines(frame)
    assert per_host is not None
    assert [(p.host, [s.model for s in p.series]) for p in per_host.panels] == [("h1", ["a"]), ("h2", ["b"])]
    assert per_host.panels[1].series[0].values.tolist() == [4.0, 4.0, 8.0]


def _without_energy(run: ModelRun) -> ModelRun:
    """As a run with the null meter writes it: no energy figure, no emissions."""
    return replace(run, records=tuple(replace(r, energy=None, emissions_kg=None) for r in run.records))


def test_no_energy_anywhere_draws_no_by_group_or_machines_figure(tmp_path: Path) -> None:
    tasks = ["math", "math", "sql", "sql"]
    run = make_run("a", [1.0, 2.0, 3.0, 4.0])
    tasked = _without_energy(replace(run, records=tuple(replace(r, task=t) for r, t in zip(run.records, tasks))))
    frame = frame_from_runs([tasked])
    assert fd.grouped(frame, "energy") is None and fd.grouped(frame, "latency") is not None
    one = replace(tasked, machine={"hostname": "laptop"}, run_id="r1")
    two = replace(make_run("a", [4.0, 5.0, 6.0]), machine={"hostname": "ci-runner"}, run_id="r2")
    assert fd.machines(frame_from_runs([one, replace(_without_energy(two), run_id="r3")])) is None
    data = fd.machines(frame_from_runs([one, two]))   # a machine without a value has no panel
    assert data is not None and [p.host for p in data.panels] == ["ci-runner"]
    # The figures a meterless run supports are drawn (this raised "Data cannot be log-scaled" before).
    specs = build_figures(frame, efficiency_rows([tasked]))
    assert specs and "by_group_energy" not in {s.name for s in specs}
    assert save_figures(specs, tmp_path, ("png",))
