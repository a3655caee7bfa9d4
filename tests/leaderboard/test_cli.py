"""`slm-energy leaderboard` end to end: on the shipped samples, on bad input, and with a real run."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.leaderboard.own_runs import DECODE_BASIS
from slm_energy_plugin.paths import data_dir

from ..conftest import load_model_json, run_dirs

SAMPLES = data_dir() / "leaderboard"


def sample_files() -> list[str]:
    return sorted(str(p) for p in SAMPLES.iterdir())


def test_json_on_the_shipped_samples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", *sample_files(), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert err.strip() == f"slm-energy leaderboard: skipped {SAMPLES / 'SAMPLES.txt'}: not a CSV or Parquet table"
    hardware = [(f["hardware"], f["metric"]) for f in document["fits"]]
    assert hardware == [("32vCPU", "energy_kwh_per_mtok"), ("A10", "energy_kwh_per_mtok"),
                        ("A100", "energy_kwh_per_mtok"), ("T4", "energy_kwh_per_mtok"),
                        ("across hardware (mean per model)", "energy_kwh_per_mtok"), ("open-llm-eval", "co2_kg"),
                        ("api-price", "usd_per_1k_input"), ("api-price", "usd_per_1k_output")]
    assert all(f["slope"] > 0 and f["slope_ci95"][0] < f["slope"] < f["slope_ci95"][1] for f in document["fits"])
    assert {s["kind"] for s in document["sources"]} == {"llm-perf", "open-llm", "price"}


def test_filters_change_the_rows_and_are_stated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", str(SAMPLES / "llm-perf-A10-sample.csv"), "--format", "json",
                 "--quantization", "none", "--precision", "float16"]) == 0
    filtered = json.loads(capsys.readouterr().out)
    assert main(["leaderboard", str(SAMPLES / "llm-perf-A10-sample.csv"), "--format", "json"]) == 0
    everything = json.loads(capsys.readouterr().out)
    rows = lambda doc: sum(p["rows"] for p in doc["fits"][0]["points"])  # noqa: E731
    assert 0 < rows(filtered) < rows(everything)
    assert all(p["rows"] == 1 for p in filtered["fits"][0]["points"])
    assert "filters: precision=float16, quantization=none" in filtered["method"]


def test_markdown_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", *sample_files(), "--format", "markdown", "--plot", str(tmp_path / "plots")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("### Power-law fits") and "| 32vCPU " in out
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "leaderboard-co2.png", "leaderboard-energy.png", "leaderboard-price.png"]
    assert f"wrote {tmp_path / 'plots' / 'leaderboard-energy.png'}" in err
    from matplotlib.image import imread
    height, width, _ = imread(tmp_path / "plots" / "leaderboard-energy.png").shape
    assert width > height > 400    # five panels in a 3 x 2 grid


@pytest.mark.parametrize(("content", "message"), [
    ("name,score\na,1\n", "not an LLM-Perf export, Open LLM Leaderboard contents or price table"),
    ("Model 🤗,Params (B),Energy (tokens/kWh)\n", "no rows left to fit"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                          message: str) -> None:
    path = tmp_path / "A10.csv"
    path.write_text(content, encoding="utf-8")
    assert main(["leaderboard", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slm-energy leaderboard: error: ") and message in err and err.count("\n") == 1


def test_only_skipped_files_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", str(SAMPLES / "SAMPLES.txt")]) == 2
    assert "error: no CSV or Parquet leaderboard file among the arguments" in capsys.readouterr().err


def test_the_console_script_runs_the_readme_command_with_a_shell_glob() -> None:
    root = Path(__file__).resolve().parents[2]
    script = Path(sys.executable).parent / "slm-energy"
    result = subprocess.run(f"{script} leaderboard data/leaderboard/*", shell=True, cwd=root, text=True,
                            capture_output=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("Power-law fits: log10(metric)")
    assert "across hardware (mean per model)" in result.stdout
    assert "skipped data/leaderboard/SAMPLES.txt: not a CSV or Parquet table" in result.stderr


def test_runs_from_a_real_decode_protocol_run_are_placed_on_the_cpu_trend(
        bench_project: pytest.Pytester, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = bench_project.runpytest(
        # tiny-gpt2 keeps this fast on two shared cores; gpt2@random (real shape) takes minutes here.
        "--energy-models", "tiny-gpt2", "--energy-decode-protocol", "--energy-protocol-warmup", "1",
        "--energy-protocol-min-seconds", "0", "--energy-protocol-min-iterations", "2",
        "--energy-max-new-tokens", "4", "--benchmark-disable", "-k", "q001")
    result.assert_outcomes(passed=1)
    (run_dir,) = run_dirs(bench_project.path)
    capsys.readouterr()   # the inner pytest run printed into the same capture
    assert main(["leaderboard", *sample_files(), "--runs", str(run_dir), "--format", "json",
                 "--plot", str(tmp_path)]) == 0
    document = json.loads(capsys.readouterr().out)
    runs = {r["alias"]: r for r in document["runs"]}
    assert set(runs) == {"tiny-gpt2"}
    cpu_fit = next(f for f in document["fits"] if f["hardware"] == "32vCPU")
    for alias, run in runs.items():
        saved = load_model_json(run_dir, alias)
        protocol = saved["performance"]["decode_protocol"]
        assert run["params_b"] == saved["model_info"]["parameters"] / 1e9
        assert run["hardware_class"] == "32vCPU"
        assert run["class_reason"] == "CPU run -> the leaderboard's CPU class 32vCPU"
        # CodeCarbon without counters estimates; the label says so, the file says so.
        assert run["energy_provenance"] == protocol["generate"]["energy"]["provenance"]
        assert run["estimated"] == (run["energy_provenance"] in ("estimated", "mixed"))
        if protocol["decode_kwh_per_token"] and protocol["decode_kwh_per_token"] > 0:
            assert run["basis"] == DECODE_BASIS
            value = protocol["decode_kwh_per_token"] * 1e6
            assert run["energy_kwh_per_mtok"] == pytest.approx(value)
            trend = cpu_fit["intercept"] + cpu_fit["slope"] * math.log10(run["params_b"])
            assert run["residual_log10"] == pytest.approx(math.log10(value) - trend)
            assert run["residual_factor"] == pytest.approx(10 ** run["residual_log10"])
        else:   # an estimate can make generate - prefill <= 0 on very short windows: said, not hidden
            assert "decode energy was not positive" in run["note"]
    tiny = runs["tiny-gpt2"]
    assert tiny["params_b"] == pytest.approx(296_704 / 1e9)   # tiny-gpt2 with 2,048 positions
    # 0.0002 B: far below any leaderboard model, and the report says the residual extrapolates.
    assert tiny["residual_log10"] is not None and tiny["in_fitted_range"] is False
    assert "outside the fitted range" in tiny["note"]
    assert (tmp_path / "leaderboard-energy.png").stat().st_size > 10_000


def test_the_samples_are_package_data() -> None:
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[2]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = setuptools["package-data"]["slm_energy_plugin._data"]
    for path in SAMPLES.iterdir():
        assert any(fnmatch.fnmatch(f"leaderboard/{path.name}", p) for p in patterns), path.name
    assert {"slm_energy_plugin.leaderboard", "slm_energy_plugin.render"} <= set(setuptools["packages"])


def test_the_how_to_page_quotes_the_fits_and_run_rows_it_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/how-to/leaderboard.md: its fit table is what the command prints on the shipped samples, line
    for line, and the figures its prose quotes are those of its run rows (one run, one set of numbers)."""
    import re

    page = (Path(__file__).resolve().parents[2] / "docs" / "how-to" / "leaderboard.md").read_text()
    block = page[page.index("```\nPower-law fits"):]
    block = block[4:block.index("```", 4)]
    assert main(["leaderboard", *sample_files()]) == 0
    printed = capsys.readouterr().out.splitlines()
    fits = block[:block.index("\n\n")].splitlines()
    assert fits == printed[:len(fits)]
    rows = {line.split()[0]: line.split() for line in block.splitlines() if line.startswith(("gpt2@random ", "tiny-gpt2 "))}
    assert set(rows) == {"gpt2@random", "tiny-gpt2"}
    kwh = rows["gpt2@random"][2]
    assert re.search(rf"costs {re.escape(kwh)} kWh per million decode tokens", " ".join(page.split()))
