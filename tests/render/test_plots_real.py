"""Every figure from a real run: the data handed to matplotlib, the files, the command line."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.render import figure_data as fd
from slm_energy_plugin.render.plots import build_figures, draw, save_figures
from slm_energy_plugin.render.run_input import load_input
from slm_energy_plugin.stats.frame_stats import compare_models

EXPECTED = {
    "distribution_energy", "distribution_latency", "distribution_energy_per_token", "distribution_tokens",
    "distribution_ttft", "distribution_emissions", "paired_ratio_energy", "paired_ratio_latency", "energy_vs_latency",
    "accuracy_vs_energy", "tokens_vs_energy", "by_group_energy",
}


def test_a_real_run_gives_every_figure_it_supports(real_run: Path) -> None:
    data = load_input([real_run])
    specs = build_figures(data.frame, data.efficiency)
    assert {s.name for s in specs} == EXPECTED       # one machine, no timeline: those two are left out
    by_name = {s.name: s.data for s in specs}
    energy = by_name["distribution_energy"]
    # The medians drawn are the statistics' medians (bootstrap CI summaries) of the same values.
    comparison = compare_models(data.frame, "energy")
    assert [s.median for s in energy.series] == pytest.approx([m.median for m in comparison.summaries])
    assert energy.ylabel == "energy per query (J, estimated)"
    ratio = by_name["paired_ratio_energy"]
    assert ratio.baseline == "tiny-gpt2" and ratio.series[0].n_shared == 4
    pair = comparison.pair("tiny-gpt2", "tiny-phi")
    assert pair.shift is not None and pair.shift.estimate is not None
    assert ratio.series[0].hl_ratio == pytest.approx(1 / pair.shift.estimate, rel=0.05)
    assert by_name["by_group_energy"].groups == ("addition", "product")
    # The math benchmark's CO2 distribution: the records' own emissions, in grams, said to be estimates.
    emissions = by_name["distribution_emissions"]
    by_query = compare_models(data.frame, "emissions")
    assert [s.median for s in emissions.series] == pytest.approx([m.median for m in by_query.summaries])
    assert all(s.median is not None and s.median > 0 for s in emissions.series)
    assert emissions.ylabel == "emissions per query (g CO2eq, estimated)"
    accuracy = by_name["accuracy_vs_energy"]
    assert {p.task for p in accuracy.panels} == {"addition", "product"}


def test_drawn_axes_carry_the_labels_and_the_estimated_note(real_run: Path) -> None:
    data = load_input([real_run])
    specs = {s.name: s for s in build_figures(data.frame, data.efficiency)}
    fig = draw(specs["distribution_energy"])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "energy per query (J, estimated)" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["tiny-gpt2", "tiny-phi"]
    fig = draw(specs["energy_vs_latency"])
    assert "estimated" in fig.axes[0].get_ylabel() and "estimated" not in fig.axes[0].get_xlabel()


def test_png_and_svg_files_are_written_and_valid(real_run: Path, tmp_path: Path) -> None:
    data = load_input([real_run])
    specs = build_figures(data.frame, data.efficiency)
    written = save_figures(specs, tmp_path)
    assert len(written) == 2 * len(specs)
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
        else:
            root = ET.parse(path).getroot()
            assert root.tag.endswith("svg")


def test_plot_command_draws_two_machines_side_by_side(real_run: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # The same run "from another machine": a copy whose files name another host and run id.
    other = tmp_path / "other-run"
    shutil.copytree(real_run, other)
    for path in other.glob("environmental_data_*.json"):
        data = json.loads(path.read_text())
        data["machine"]["hostname"] = "ci-runner"
        data["run_id"] = "other"
        path.write_text(json.dumps(data))
    out = tmp_path / "plots"
    assert main(["plot", str(real_run), str(other), "-o", str(out), "--format", "png"]) == 0
    printed = capsys.readouterr().out
    assert "machines_energy: Energy per query per model, one panel per machine" in printed
    assert (out / "machines_energy.png").stat().st_size > 5000
    assert not list(out.glob("*.svg"))
    data = load_input([real_run, other])
    figure = fd.machines(data.frame)
    assert figure is not None and [p.host for p in figure.panels][1] == "ci-runner"
    assert [s.model for s in figure.panels[1].series] == ["tiny-gpt2", "tiny-phi"]


def test_a_timeline_csv_in_the_run_folder_is_drawn(real_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(real_run, run)
    (run / "timeline.csv").write_text("elapsed_s,cpu_percent,rss_mb\n0,10,400\n0.5,90,420\n1.0,85,430\n")
    data = load_input([run])
    specs = {s.name: s for s in build_figures(data.frame, data.efficiency, timeline=data.timeline)}
    timeline = specs["timeline"].data
    assert [name for name, _ in timeline.lines] == ["cpu_percent", "rss_mb"]
    assert list(timeline.time) == [0.0, 0.5, 1.0]


def test_plot_of_a_missing_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", str(tmp_path / "nope"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("slm-energy plot: error:")
