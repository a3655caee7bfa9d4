"""``slm-energy estimate``: plain, calibrated and usage-log estimates, listings and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .synthetic import synthetic_run, write_run
from slm_energy_plugin import cli
from slm_energy_plugin.carbon.config import CONFIG_ENV, load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def run_json(capsys, *argv: str) -> dict:
    assert cli.main(["estimate", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plain_estimate_follows_the_formula_with_the_configured_figures(capsys):
    data = run_json(capsys, "--in-tokens", "2000", "--out-tokens", "500", "--region", "usa", "--hardware", "a100",
                    "--count", "1e6")
    config = load_config(include_user=False)
    hw, region, dc = config.hardware_profile("a100"), config.region("usa"), config.datacenter("typical")
    time = 2000 / hw.prefill_tokens_per_s.value + 500 / hw.decode_tokens_per_s.value
    power = (hw.gpu_power_w.value * hw.gpu_util.value + hw.cpu_power_w.value * hw.cpu_util.value
             + hw.ram_power_w.value)
    energy = power * time * dc.pue.value / 3.6e6
    per_request = data["per_request"]
    assert per_request["time_s"]["value"] == pytest.approx(time)
    assert per_request["energy_kwh"]["value"] == pytest.approx(energy)
    assert per_request["carbon_g"]["value"] == pytest.approx(energy * region.intensity_g_per_kwh.value)
    assert data["total"]["carbon_g"]["value"] == pytest.approx(energy * region.intensity_g_per_kwh.value * 1e6)
    assert data["total"]["count"] == 1_000_000
    assert per_request["energy_kwh"]["low"] < energy < per_request["energy_kwh"]["high"]
    assert "not a confidence interval" in data["range_note"]
    assert any("datacenter" in note for note in data["notes"])


def test_text_output_labels_ranges_and_method(capsys):
    assert cli.main(["estimate", "--profile", "summarisation", "--hardware", "l4", "--region", "FRA",
                     "--datacenter", "hyperscale"]) == 0
    out = " ".join(capsys.readouterr().out.split())   # long lines are wrapped to the terminal
    assert "[summarisation profile]: 1,000 requests" in out
    assert "(range " in out and "not a confidence interval" in out
    assert "Method: time = tokens_in / prefill_tokens_per_s + tokens_out / decode_tokens_per_s" in out


def test_token_ranges_and_profile_overrides(capsys):
    data = run_json(capsys, "--profile", "chatbot", "--in-tokens", "1000..4000", "--count", "10")
    assert data["workload"]["tokens_in"] == {"value": 2500, "low": 1000, "high": 4000, "source": "command line"}
    assert data["workload"]["tokens_out"]["low"] == 100      # still the profile's output range
    assert data["total"]["count"] == 10
    data = run_json(capsys, "--in-tokens", "100..200..900", "--out-tokens", "10", "--pue", "1.3")
    assert data["workload"]["tokens_in"]["value"] == 200 and data["datacenter"]["pue"]["value"] == 1.3


@pytest.mark.parametrize(("argv", "expected"), [
    (["--region", "narnia"], "unknown region 'narnia'"),
    (["--in-tokens", "-5", "--out-tokens", "1"], "--in-tokens: tokens per request must be at least 0"),
    (["--in-tokens", "lots", "--out-tokens", "1"], "--in-tokens: not a number of tokens: 'lots'"),
    (["--in-tokens", "99999999999", "--out-tokens", "1"], "at most 1e+07 tokens"),
    (["--in-tokens", "9..1..5", "--out-tokens", "1"], "LOW <= N <= HIGH"),
    (["--count", "many"], "--count: not a number of requests"),
    (["--count", "0"], "count must be between 1"),
    (["--pue", "0.9"], "PUE must be between 1.0 and 5.0"),
    (["--hardware", "a10"], "did you mean 'a100'"),
    (["--profile", "chatbott"], "did you mean 'chatbot'"),
    (["--model", "phi2"], "--model needs --from-run"),
    (["--config", "/nonexistent/x.yaml"], "/nonexistent/x.yaml: no such file"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, expected):
    assert cli.main(["estimate", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slm-energy estimate: error: ") and expected in err and err.count("\n") == 1


@pytest.mark.parametrize("what", ["regions", "countries", "datacenters", "hardware", "profiles"])
def test_listings(capsys, what):
    assert cli.main(["estimate", "--list", what]) == 0
    text = capsys.readouterr().out
    assert {"regions": "gcp:europe-west1", "countries": "FRA", "datacenters": "hyperscale",
            "hardware": "cpu-laptop", "profiles": "translation"}[what] in text
    assert isinstance(run_json(capsys, "--list", what), dict)


def test_calibrated_estimate_from_a_run_and_saved_profile(tmp_path, capsys):
    run_dir = write_run(tmp_path, synthetic_run("toy", prefill=800, decode=25, power={"cpu": 35, "ram": 5}),
                        synthetic_run("other", seed=4))
    saved = tmp_path / "toy-hw.yaml"
    data = run_json(capsys, "--from-run", str(run_dir), "--model", "toy", "--in-tokens", "1500",
                    "--out-tokens", "300", "--save-hardware", str(saved))
    cal, est = data["calibration"], data["estimate"]
    assert cal["prefill_tokens_per_s"] == pytest.approx(800, rel=0.02)
    assert cal["total_power_w"] == pytest.approx(40, rel=0.02)
    assert cal["energy_provenance"] == "estimated" and "ESTIMATED" in cal["provenance_note"]
    assert est["region"]["iso_code"] == "USA"                # the run's own grid unless --region is given
    assert est["datacenter"]["key"] == "local"
    assert est["per_request"]["time_s"]["value"] == pytest.approx(1500 / 800 + 300 / 25, rel=0.02)

    # The saved profile is a valid user file and gives the same estimate.
    data2 = run_json(capsys, "--config", str(saved), "--hardware", "calibrated-toy", "--region", "USA",
                     "--datacenter", "local", "--in-tokens", "1500", "--out-tokens", "300")
    assert data2["per_request"]["energy_kwh"]["value"] == pytest.approx(est["per_request"]["energy_kwh"]["value"])

    assert cli.main(["estimate", "--from-run", str(run_dir)]) == 2
    assert "pick one with --model" in capsys.readouterr().err
    assert cli.main(["estimate", "--from-run", str(run_dir), "--model", "toy", "--save-hardware", str(saved)]) == 2
    assert "never overwritten" in capsys.readouterr().err

    assert cli.main(["estimate", "--from-run", str(run_dir), "--model", "toy", "--profile", "chatbot"]) == 0
    text = capsys.readouterr().out
    assert "Calibration of toy" in text and "time fit" in text and "R^2" in text and "ESTIMATED" in text


def test_usage_log(tmp_path, capsys):
    log = tmp_path / "usage.csv"
    log.write_text("date,profile,requests\n2024-01-01,chatbot,100\n2024-01-15,translation,40\n"
                   "2024-02-01,chatbot,10\n", encoding="utf-8")
    data = run_json(capsys, "--usage-log", str(log), "--region", "DEU", "--hardware", "h100")
    assert data["total"]["requests"] == 150
    assert [m["month"] for m in data["monthly"]] == ["2024-01", "2024-01", "2024-02"]
    assert data["total"]["energy_kwh"]["value"] == pytest.approx(
        sum(m["energy_kwh"]["value"] for m in data["monthly"]))
    assert cli.main(["estimate", "--usage-log", str(log), "--period", "daily"]) == 0
    out = " ".join(capsys.readouterr().out.split())    # the note wraps at the terminal's width
    assert "2024-01-15" in out and "TOTAL" in out and "not a confidence interval" in out


def test_console_command_in_a_real_process():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": "/nonexistent"}
    done = subprocess.run([sys.executable, "-m", "slm_energy_plugin.cli", "estimate", "--in-tokens", "2000",
                           "--out-tokens", "500", "--region", "usa", "--hardware", "a100"],
                          capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "United States" in done.stdout and "per request" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "slm_energy_plugin.cli", "estimate", "--region", "xx"],
                         capture_output=True, text=True, env=env, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_serve_without_the_api_extra_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)      # makes `import uvicorn` raise ImportError
    assert cli.main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'slm-energy-plugin[api]'" in err and err.count("\n") == 1


def test_from_run_refuses_a_time_fit_that_explains_nothing_and_names_the_folder(tmp_path, capsys):
    # Durations with 30 % jitter over 12 queries: the fit's R^2 is negative (-0.34).
    run_dir = write_run(tmp_path, synthetic_run("toy", noise=0.3, seed=1, n=12))
    assert cli.main(["estimate", "--from-run", str(run_dir), "--model", "toy"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(run_dir) in err and "R^2 -0.34 < 0.5" in err and "--min-r2" in err
    # Asked for knowingly, the fit is used, and the output still names the run by its folder.
    data = run_json(capsys, "--from-run", str(run_dir), "--model", "toy", "--min-r2", "-1")
    assert data["calibration"]["run_folder"] == str(run_dir)
    assert data["calibration"]["time_fit"]["r2"] == pytest.approx(-0.339, abs=0.01)


def test_from_run_warns_when_the_fit_is_far_from_the_timed_phases(tmp_path, capsys):
    # R^2 0.70 passes, but the fitted prefill is 4.8x the one TTFT gives: said on stderr and in the JSON.
    run_dir = write_run(tmp_path, synthetic_run("toy", noise=0.3, seed=2, n=12))
    assert cli.main(["estimate", "--from-run", str(run_dir), "--model", "toy", "--format", "json"]) == 0
    captured = capsys.readouterr()
    data, err = json.loads(captured.out), captured.err
    assert "warning" in err and "4.8x off" in err and str(run_dir) in err
    assert data["calibration"]["warnings"] and "4.8x off" in data["calibration"]["warnings"][0]
    assert cli.main(["estimate", "--from-run", str(run_dir), "--model", "toy"]) == 0
    assert "WARNING" in capsys.readouterr().out


SEED_CONFIGS = ROOT / "tests" / "carbon" / "seed_calculator"


def test_the_seed_calculators_command_runs_as_written(capsys):
    """``--in_tok 2000 --out_tok 500 --region usa``, the seed CLI's flags, are --in-tokens/--out-tokens."""
    seed = run_json(capsys, "--in_tok", "2000", "--out_tok", "500", "--region", "usa")
    ours = run_json(capsys, "--in-tokens", "2000", "--out-tokens", "500", "--region", "usa")
    assert seed == ours
    assert seed["region"]["iso_code"] == "USA" and seed["workload"]["tokens_in"]["value"] == 2000
    assert cli.main(["estimate", "--in_tok", "2000", "--out_tok", "500", "--region", "usa"]) == 0
    assert "2,000 input + 500 output tokens" in capsys.readouterr().out


def test_the_seed_calculators_yaml_files_are_accepted_by_config(capsys):
    configs = ["--config", str(SEED_CONFIGS / "config.yaml"), "--config", str(SEED_CONFIGS / "config_model.yaml")]
    data = run_json(capsys, *configs, "--in_tok", "2000", "--out_tok", "500", "--region", "usa")
    # Its machine (GPU share 1 - cpu.eta, no RAM), its US grid and the PUE its region carries.
    power = 700 * 0.85 + 70 * 0.15
    time_s = 2000 / (60 * 100) + 500 / 60
    assert data["hardware"]["key"] == "seed" and data["per_request"]["power_w"]["value"] == pytest.approx(power)
    assert data["region"]["intensity_g_per_kwh"]["value"] == 380 and data["datacenter"]["pue"]["value"] == 1.3
    assert data["per_request"]["energy_kwh"]["value"] == pytest.approx(power * time_s * 1.3 / 3.6e6)
    assert data["per_request"]["carbon_g"]["value"] == pytest.approx(power * time_s * 1.3 / 3.6e6 * 380)
    assert any("seed hardware read as --hardware seed" in n for n in data["notes"])
    # default_region, and a profile in characters (the seed's 4 characters per token).
    data = run_json(capsys, *configs, "--profile", "translation")
    assert data["region"]["key"] == "france" and data["region"]["intensity_g_per_kwh"]["value"] == 60
    assert data["workload"]["tokens_in"]["value"] == 750 and data["workload"]["tokens_out"]["value"] == 750
    # An explicit facility still wins over the one the seed region carries.
    assert run_json(capsys, *configs, "--region", "usa", "--pue", "1.1")["datacenter"]["pue"]["value"] == 1.1


def test_a_seed_yaml_mapping_we_cannot_honour_is_one_line(tmp_path, capsys):
    bad = tmp_path / "config_model.yaml"
    bad.write_text("profiles:\n  chatbot:\n    throughput_tokens_per_s: 60\n    utilization_rate: 0.5\n")
    assert cli.main(["estimate", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "utilization_rate" in err and str(bad) in err
