"""The original leaderboard analysis' inputs as its users have them: public export names, the older
input-*.csv names, FILE=HARDWARE, a one-column price table, a linear fit; invented samples say so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.render.leaderboard_plots import build_figure, figures_data
from slm_energy_plugin.leaderboard.readers import hardware_from_name, read_table
from slm_energy_plugin.render.leaderboard_tables import figure_footer
from slm_energy_plugin.leaderboard.analysis import analyse
from slm_energy_plugin.paths import data_dir

from . import samples

SAMPLES = data_dir() / "leaderboard"
PRICES = "Model,Params (B),$ per 1K tokens\n" + "\n".join(
    f"org/model-{b}b,{b},{0.00002 * b + 0.00001:.6f}" for b in (0.5, 1, 3, 7, 13, 34, 70)) + "\n"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["leaderboard", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("name", "hardware"), [
    ("llm-perf-leaderboard-1xA10.csv", "A10"), ("llm-perf-leaderboard-1xA100.csv", "A100"),
    ("llm-perf-leaderboard-1xT4.csv", "T4"), ("llm-perf-leaderboard-32vCPU-C7i.csv", "32vCPU"),
    ("input-A10.csv", "A10"), ("input-A100.csv", "A100"), ("input-T4.csv", "T4"), ("input-32vCPU.csv", "32vCPU"),
    ("llm-perf-leaderboard-2xA100.csv", "2xA100"),
])
def test_hardware_from_the_public_export_names(name: str, hardware: str) -> None:
    assert hardware_from_name(name) == hardware


def test_exports_under_their_public_names_are_fitted_per_hardware(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    files = []
    for hardware, name in (("A10", "llm-perf-leaderboard-1xA10.csv"), ("A100", "llm-perf-leaderboard-1xA100.csv"),
                           ("T4", "llm-perf-leaderboard-1xT4.csv"), ("32vCPU", "llm-perf-leaderboard-32vCPU-C7i.csv")):
        samples.llm_perf_frame(hardware, seed=11).to_csv(tmp_path / name, index=False)
        files.append(str(tmp_path / name))
    document = run_json(capsys, *files)
    assert [f["hardware"] for f in document["fits"]][:4] == ["32vCPU", "A10", "A100", "T4"]
    assert document["sample_data"] is False and "data_note" not in document


def test_two_files_of_unknown_hardware_are_never_pooled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples.llm_perf_frame("A10").to_csv(tmp_path / "results-1.csv", index=False)
    samples.llm_perf_frame("T4").to_csv(tmp_path / "results-2.csv", index=False)
    first, second = str(tmp_path / "results-1.csv"), str(tmp_path / "results-2.csv")
    document = run_json(capsys, first, second)
    energy = [f for f in document["fits"] if f["metric"] == "energy_kwh_per_mtok"]
    assert [f["hardware"] for f in energy][:2] == ["unknown (results-1.csv)", "unknown (results-2.csv)"]
    assert any("FILE=HARDWARE" in n for s in document["sources"] for n in s["notes"])
    # FILE=HARDWARE names them (and wins over a hardware column too).
    named = run_json(capsys, f"{first}=A10", f"{second}=T4")
    assert [f["hardware"] for f in named["fits"]][:2] == ["A10", "T4"]
    with_column = samples.llm_perf_frame("A10").assign(GPU="NVIDIA T4")
    with_column.to_csv(tmp_path / "results-3.csv", index=False)
    assert read_table(tmp_path / "results-3.csv", "A10").frame["hardware"].unique().tolist() == ["A10"]
    assert main(["leaderboard", f"{first}="]) == 2
    assert "needs a hardware name" in capsys.readouterr().err


def test_a_price_table_with_one_price_column_and_a_linear_fit(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "financier.csv"
    path.write_text(PRICES, encoding="utf-8")
    loglog = run_json(capsys, str(path))
    assert [(f["hardware"], f["metric"], f["fit"]) for f in loglog["fits"]] == [
        ("api-price", "usd_per_1k", "log-log")]
    linear = run_json(capsys, str(path), "--fit", "linear")
    fit = linear["fits"][0]
    sizes = [0.5, 1, 3, 7, 13, 34, 70]
    slope, intercept = np.polyfit(sizes, [round(0.00002 * b + 0.00001, 6) for b in sizes], 1)
    assert linear["fit"] == "linear" and fit["fit"] == "linear"
    assert fit["slope"] == pytest.approx(slope) and fit["intercept"] == pytest.approx(intercept, abs=1e-9)
    assert fit["r2"] == pytest.approx(1.0)
    assert any("fit (--fit linear)" in m for m in linear["method"])
    assert main(["leaderboard", str(path), "--fit", "linear"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Linear fits: metric = intercept + slope x parameters in B") and "per 1B params" in text
    # Sizes and prices only, no model column: each row is its own point.
    no_model = tmp_path / "prices-no-model.csv"
    pd.read_csv(path).drop(columns=["Model"]).to_csv(no_model, index=False)
    assert run_json(capsys, str(no_model))["fits"][0]["n"] == 7


def test_every_output_from_the_shipped_samples_says_invented_sample_data(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in sorted(SAMPLES.iterdir()) if p.suffix != ".txt"]
    document = run_json(capsys, *files)
    assert document["sample_data"] is True and "invented sample data" in document["data_note"]
    assert all(s["sample"] for s in document["sources"])
    for fmt in ("text", "markdown"):
        assert main(["leaderboard", *files, "--format", fmt]) == 0
        assert "INVENTED SAMPLE DATA" in capsys.readouterr().out
    tables = [read_table(Path(f)) for f in files]
    footer = figure_footer(tables, [])
    assert footer.startswith("INVENTED SAMPLE DATA")
    figure = build_figure(figures_data(analyse(tables))["energy"], footer)
    assert figure._supxlabel is not None and "INVENTED SAMPLE DATA" in figure._supxlabel.get_text()
    # A copy under the original analysis' name is still invented; a real export is not labelled.
    copy = tmp_path / "input-A10.csv"
    copy.write_bytes((SAMPLES / "llm-perf-A10-sample.csv").read_bytes())
    assert figure_footer([read_table(copy)], []).startswith("INVENTED SAMPLE DATA")
    real = tmp_path / "llm-perf-leaderboard-1xA10.csv"
    samples.llm_perf_frame("A10", seed=5).to_csv(real, index=False)
    assert "INVENTED" not in figure_footer([read_table(real)], [])
