"""``slm-energy compare`` on real run folders and on SLM Green Benchmark files."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ..run_factory import MEASURED, J_PER_KWH, make_run, three_models, write_seed_file
from slm_energy_plugin import cli
from slm_energy_plugin.results.storage import write_model_runs

REPO = Path(__file__).resolve().parents[2]
RUN = "20250101T120000Z-aaaaaa"


def _run_cli(capsys, *args, flat: bool = True) -> tuple[int, str, str]:
    """Exit code, stdout and stderr; stdout with whitespace runs made single spaces, since
    the text output wraps at 80 columns wherever a sentence happens to fall."""
    code = cli.main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, (" ".join(out.split()) if flat else out), err


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results folder with an older and a newer run of gpt2, deepseek-r1-1.5b and phi2."""
    rng = np.random.default_rng(3)
    runs = three_models(40)
    scored = [make_run(r.alias, [x.energy_kwh * J_PER_KWH for x in r.records], run_id=RUN,
                       correct=list(rng.random(40) < p)) for r, p in zip(runs, (0.3, 0.6, 0.8))]
    write_model_runs(tmp_path / "results" / "20240101T000000Z-old000", three_models(10, run_id="old"))
    write_model_runs(tmp_path / "results" / RUN, scored)
    return tmp_path / "results"


def test_latest_run_by_default_as_text(capsys, results):
    code, out, err = _run_cli(capsys, "--results-dir", results, flat=False)
    assert code == 0 and err.startswith("comparing ") and "newest run with model files" in err
    tables = out[out.index("-- energy per query"):]
    assert all(len(line) <= 80 for line in tables.splitlines())
    out = " ".join(out.split())
    assert f"Comparing 3 models from {results / RUN}." in out
    assert "-- energy per query (J): 3 models, 40 queries answered by all --" in out
    assert "-- correct answers (share)" in out   # scored, so shown
    # Every energy figure is estimated: latency is the same test, said once, as the pytest summary does.
    assert "-- latency (ms)" not in out and "Energy and latency are one measurement here" in out


def test_metrics_asked_for_by_name_are_all_shown(capsys, results):
    code, out, _ = _run_cli(capsys, results / RUN, "--metrics", "energy,latency")
    assert code == 0 and "-- latency (ms)" in out and "one measurement" not in out
    assert "Energy: ESTIMATED, not measured" in out


def test_real_entry_point_in_a_subprocess(results):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "slm_energy_plugin.cli", "compare", str(results / RUN),
                           "--format", "json", "--metrics", "energy"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [m["metric"] for m in data["metrics"]] == ["energy"]
    assert data["metrics"][0]["models"] == ["deepseek-r1-1.5b", "gpt2", "phi2"]


@pytest.mark.parametrize("fmt", ["markdown", "json", "csv"])
def test_other_formats(capsys, results, fmt):
    code, out, _ = _run_cli(capsys, results / RUN, "--format", fmt, "--metrics", "energy,tokens", flat=False)
    assert code == 0
    if fmt == "markdown":
        assert out.startswith("### slm-energy statistics") and "| phi2 / gpt2" in out
    elif fmt == "json":
        assert [m["metric"] for m in json.loads(out)["metrics"]] == ["energy", "tokens"]
    else:
        rows = list(csv.DictReader(io.StringIO(out)))
        assert {r["metric"] for r in rows} == {"energy", "tokens"}


def test_gate_fails_on_a_real_regression_and_passes_otherwise(capsys, tmp_path):
    baseline = three_models(40, run_id="base")
    write_model_runs(tmp_path / "base", baseline)
    worse = [make_run(r.alias, np.array([x.energy_kwh * J_PER_KWH for x in r.records])
                      * (1.3 if r.alias == "phi2" else 1.0), run_id="now") for r in baseline]
    write_model_runs(tmp_path / "now", worse)
    code, out, _ = _run_cli(capsys, tmp_path / "now", "--baseline", tmp_path / "base", "--fail", "energy:10%")
    assert code == 1
    assert "energy gate (energy:10%): FAILED for 1 model" in out
    assert "phi2: energy per query: REGRESSION above 10%, significant at 0.05 - median rose 30.0%" in out
    code, out, _ = _run_cli(capsys, tmp_path / "now", "--baseline", tmp_path / "base", "--fail", "energy:50%")
    assert code == 0 and "energy gate (energy:50%): passed" in out
    code, out, _ = _run_cli(capsys, tmp_path / "now", "--baseline", tmp_path / "base", "--format", "json")
    assert code == 0 and {g["status"] for g in json.loads(out)["gate"]} == {"compared"}


def test_gate_in_markdown_for_ci_summaries(capsys, tmp_path):
    write_model_runs(tmp_path / "base", [make_run("gpt2", [1.0] * 8)])
    write_model_runs(tmp_path / "now", [make_run("gpt2", [2.0, 2.1, 2.2, 1.9, 2.0, 2.3, 2.1, 2.4])])
    code, out, _ = _run_cli(capsys, tmp_path / "now", "--baseline", tmp_path / "base",
                            "--fail", "energy:10%", "--format", "markdown")
    assert code == 1 and "### energy gate (energy:10%): FAILED for 1 model" in out
    assert "- gpt2: energy per query: REGRESSION" in out


def test_seed_format_files_compare_emissions_and_latency(capsys, tmp_path):
    rng = np.random.default_rng(1)
    write_seed_file(tmp_path / "environmental_data_gpt2.json", "openai-community/gpt2",
                    list(rng.lognormal(-12, 0.3, 20)), list(rng.lognormal(0, 0.3, 20)))
    write_seed_file(tmp_path / "environmental_data_phi2.json", "microsoft/phi-2",
                    list(rng.lognormal(-10, 0.3, 20)), list(rng.lognormal(1, 0.3, 20)))
    code, out, err = _run_cli(capsys, tmp_path / "environmental_data_gpt2.json",
                              tmp_path / "environmental_data_phi2.json")
    assert code == 0, err
    assert "SLM Green Benchmark files hold only emissions" in out
    assert "comparing emissions and latency instead of energy" in out
    assert "-- emissions per query" in out and "-- latency (s)" in out
    assert "phi2 / gpt2" in out
    code, out, _ = _run_cli(capsys, tmp_path, "--metrics", "energy,latency")
    assert code == 0
    assert "not compared: no model has values for energy; SLM Green Benchmark files hold no energy" in out
    code, out, err = _run_cli(capsys, tmp_path, "--metrics", "energy")
    assert code == 2 and out == ""
    assert err.startswith("slm-energy compare: error: none of the metrics energy has values")
    assert "try --metrics emissions,latency" in err


def test_models_from_two_machines_are_told_apart_and_pairing_is_stated(capsys, tmp_path):
    write_model_runs(tmp_path / "laptop", three_models(20, run_id="laptop"))
    write_model_runs(tmp_path / "server", [make_run("gpt2", list(np.linspace(1, 3, 20)), run_id="server",
                                                    methods=MEASURED)])
    code, out, _ = _run_cli(capsys, tmp_path / "laptop", tmp_path / "server", "--metrics", "energy")
    assert code == 0
    assert f"gpt2@1 = {tmp_path / 'laptop' / 'environmental_data_gpt2.json'}" in out
    assert f"gpt2@2 = {tmp_path / 'server' / 'environmental_data_gpt2.json'}" in out
    assert "more than one run" in out and "Energy: partly measured" in out
    assert "gpt2@2 / gpt2@1" in out or "gpt2@1 / gpt2@2" in out


def test_runs_with_different_queries_are_not_paired(capsys, tmp_path):
    write_model_runs(tmp_path / "a", [make_run("gpt2", [1.0, 2.0, 3.0], texts=["a?", "b?", "c?"])])
    write_model_runs(tmp_path / "b", [make_run("phi2", [4.0, 5.0, 6.0], texts=["x?", "y?", "z?"])])
    code, out, _ = _run_cli(capsys, tmp_path / "a", tmp_path / "b", "--metrics", "energy")
    assert code == 0
    assert "3 query ids (q001, q002, q003) carry different texts" in out
    assert "not paired (no shared query ids), unpaired tests only: gpt2 / phi2" in out


@pytest.mark.parametrize("args, message", [
    (["--fail", "energy:10%"], "--fail needs --baseline"),
    (["--metrics", "power"], "unknown metric 'power'"),
    (["--baseline", "{base}", "--fail", "energy:ten"], "bad gate spec 'energy:ten'"),
    (["--alpha", "2"], "--alpha='2': a significance level is between 0 and 1"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, results, args, message):
    args = [a.replace("{base}", str(results / RUN)) for a in args]
    code, out, err = _run_cli(capsys, results / RUN, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("slm-energy compare: error: ") and message in err


def test_missing_results_say_what_to_do(capsys, tmp_path):
    code, _, err = _run_cli(capsys, "--results-dir", tmp_path / "nothing")
    assert code == 2 and "no such results directory" in err
    (tmp_path / "empty").mkdir()
    code, _, err = _run_cli(capsys, tmp_path / "empty")
    assert code == 2 and "no environmental_data_*.json files" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = _run_cli(capsys, bad)
    assert code == 2 and "not valid JSON" in err


def test_region_reprojects_emissions_before_comparing(capsys, tmp_path):
    """Emissions scale with the new grid's intensity; energy stays as measured."""
    from slm_energy_plugin.energy.intensity import carbon_context

    usa, fra = carbon_context("USA"), carbon_context("FRA")
    runs = [replace(run, carbon=usa) for run in three_models(12, intensity_g_per_kwh=usa.intensity_g_per_kwh)]
    folder = tmp_path / "run"
    write_model_runs(folder, runs)
    code, before, _ = _run_cli(capsys, folder, "--metrics", "emissions,energy", "--format", "json")
    assert code == 0
    code, after, _ = _run_cli(capsys, folder, "--metrics", "emissions,energy", "--format", "json",
                              "--region", "FRA", "--pue", "1.2")
    assert code == 0

    def medians(text: str, metric: str) -> dict[str, float]:
        section = next(m for m in json.loads(text)["metrics"] if m["metric"] == metric)
        return {m["model"]: m["median"] for m in section["summaries"]}

    ratio = 1.2 * fra.intensity_g_per_kwh / usa.intensity_g_per_kwh
    for model, value in medians(before, "emissions").items():
        assert medians(after, "emissions")[model] == pytest.approx(value * ratio)
    assert medians(after, "energy") == medians(before, "energy")
    assert "Emissions re-projected to France" in " ".join(json.dumps(json.loads(after)).split())
    code, _, err = _run_cli(capsys, folder, "--pue", "1.2")
    assert code == 2 and "--pue needs --region" in err


def test_compare_says_what_the_summary_says_about_order_and_repeatability(bench_project, capsys):
    """A real grouped, repeated run: compare prints the summary's run-order and repeatability lines."""
    from ..conftest import run_dirs
    from slm_energy_plugin.render.verdicts import trust_lines
    from slm_energy_plugin.results.storage import load_run_dir

    result = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2,tiny-phi", "--benchmark-disable",
                                                "--energy-report", "--energy-order", "grouped",
                                                "--energy-repeat", "2")
    result.assert_outcomes(passed=6)
    summary = " ".join(result.stdout.str().split())
    [run_dir] = run_dirs(bench_project.path)
    code, out, _ = _run_cli(capsys, run_dir)
    assert code == 0
    for text in (summary, out):
        assert "Warning: run order grouped (model by model)" in text
        assert "Repeatability: within-query spread of latency (median CV across rounds): tiny-gpt2" in text
        assert "Energy and latency are one measurement here" in text
    trust = trust_lines(load_run_dir(run_dir), ["energy", "latency"])
    for line in trust.conditions + trust.spread + [trust.same_note or ""]:
        assert line in summary and line in out   # background load too, when the machine was busy
    markdown = _run_cli(capsys, run_dir, "--format", "markdown")[1]
    assert "- Warning: run order grouped" in markdown
