"""``slm-energy report --plots DIR``: the report and the figure files from one load and one drawing
(issue 24), the same files `slm-energy plot` writes and the same report `report` alone writes."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

from slm_energy_plugin.cli import main
from tests.real_run import real_run  # noqa: F401 - a fixture


def test_report_with_plots_writes_what_plot_and_report_write_apart(
        real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(matplotlib.rcParams, "svg.hashsalt", "fixed")   # else SVG ids are random
    assert main(["plot", str(real_run), "-o", str(tmp_path / "apart")]) == 0
    assert main(["report", str(real_run), "-o", str(tmp_path / "apart.html")]) == 0
    capsys.readouterr()
    assert main(["report", str(real_run), "-o", str(tmp_path / "together.html"),
                 "--plots", str(tmp_path / "together")]) == 0
    out = capsys.readouterr().out
    apart = sorted((tmp_path / "apart").iterdir())
    together = sorted((tmp_path / "together").iterdir())
    assert [p.name for p in together] == [p.name for p in apart] and {p.suffix for p in apart} == {".png", ".svg"}
    assert f"wrote {len(together)} figure files to {tmp_path / 'together'}" in out
    for one, other in zip(apart, together):
        assert one.read_bytes() == other.read_bytes(), one.name
    assert (tmp_path / "together.html").read_text() == (tmp_path / "apart.html").read_text()


def test_report_plots_takes_the_format(real_run: Path, tmp_path: Path) -> None:
    assert main(["report", str(real_run), "-o", str(tmp_path / "r.html"), "--plots", str(tmp_path / "p"),
                 "--format", "png"]) == 0
    assert {p.suffix for p in (tmp_path / "p").iterdir()} == {".png"}


def test_format_without_plots_is_refused_in_one_line(real_run: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(real_run), "-o", str(tmp_path / "r.html"), "--format", "svg"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["slm-energy report: error: --format chooses the files --plots DIR writes; give --plots DIR too"]
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("command", ["plot", "report"])
def test_a_file_where_the_figures_folder_should_be_is_one_usage_line(
        real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    where = ["-o", str(taken)] if command == "plot" else ["-o", str(tmp_path / "r.html"), "--plots", str(taken)]
    assert main([command, str(real_run), *where]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"slm-energy {command}: error: {taken}: not a folder; give a folder for the figures"]
    assert taken.read_text() == "not a folder" and not (tmp_path / "r.html").exists()
