"""Calibration recovers known throughputs and power from synthetic measured runs (within 2 %)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from .synthetic import MEASURED, synthetic_run, write_run
from slm_energy_plugin.carbon.calibration import calibrate_run, samples_from_run
from slm_energy_plugin.carbon.formulas import Datacenter, Region, Span, Workload, estimate
from slm_energy_plugin.errors import SlmEnergyError
from slm_energy_plugin.results.storage import load_runs


def within(value: float, expected: float, tolerance: float = 0.02) -> bool:
    return abs(value - expected) <= tolerance * abs(expected)


def test_recovers_throughputs_and_power_through_the_json_files(tmp_path):
    run_dir = write_run(tmp_path, synthetic_run("toy", prefill=800, decode=25, power={"cpu": 35, "ram": 5}),
                        synthetic_run("other", prefill=50, decode=2, seed=1))
    runs = load_runs([run_dir])          # the suite's own reader, from real files
    cal = calibrate_run(runs, "toy")
    assert within(cal.prefill_tokens_per_s, 800)
    assert within(cal.decode_tokens_per_s, 25)
    assert within(cal.power_w["cpu"], 35) and within(cal.power_w["ram"], 5)
    assert "gpu" not in cal.power_w
    assert cal.n_used == 60 and cal.skipped == {}
    assert cal.prefill_rel_se < 0.01 and cal.decode_rel_se < 0.01
    assert cal.time_fit.r2 > 0.99 and cal.power_fit.r2 > 0.99 and cal.energy_fit.r2 > 0.99
    assert cal.time_fit.median_abs_rel_residual < 0.02
    # The phase timings give an independent decode figure.
    assert within(cal.ttft_decode_tokens_per_s, 25)
    assert cal.provenance == "estimated"
    assert "ESTIMATED" in cal.provenance_sentence() and "cpu-load-estimate" in cal.provenance_sentence()


def test_recovers_gpu_power_and_says_measured(tmp_path):
    run = synthetic_run("gpu", prefill=6000, decode=90, power={"gpu": 250, "cpu": 40, "ram": 20},
                        methods=MEASURED, noise=0.01, seed=3)
    cal = calibrate_run(load_runs([write_run(tmp_path, run)]), "gpu")
    for component, watts in {"gpu": 250, "cpu": 40, "ram": 20}.items():
        assert within(cal.power_w[component], watts), (component, cal.power_w)
    assert within(cal.prefill_tokens_per_s, 6000) and within(cal.decode_tokens_per_s, 90)
    assert cal.provenance == "measured" and "hardware energy counters" in cal.provenance_sentence()


def test_calibrated_hardware_predicts_new_requests():
    cal = calibrate_run([synthetic_run(noise=0.005)], "toy")
    hw = cal.hardware()
    region = Region("g", "g", Span.point(100), "test")
    dc = Datacenter("local", "local", Span.point(1.0))
    est = estimate(Workload(Span.point(1500), Span.point(300)), hw, region, dc)
    true_time = 1500 / 800 + 300 / 25
    assert within(est.time_s.value, true_time)
    assert within(est.energy_kwh.value, 40 * true_time / 3.6e6)
    assert "calibrated from run synthetic-run" in hw.prefill_tokens_per_s.source


def test_noise_free_records_are_fitted_exactly():
    cal = calibrate_run([synthetic_run(noise=0.0, power={"gpu": 123.0, "cpu": 7.0})], "toy")
    assert cal.prefill_tokens_per_s == pytest.approx(800, rel=1e-9)
    assert cal.decode_tokens_per_s == pytest.approx(25, rel=1e-9)
    assert cal.power_w == pytest.approx({"gpu": 123.0, "cpu": 7.0}, rel=1e-9)
    assert cal.time_fit.r2 == pytest.approx(1.0) and cal.time_fit.max_abs_residual < 1e-9


def test_short_prompts_leave_prefill_poorly_determined_and_say_so():
    """When decoding dominates every query, the input-token coefficient rests on little signal:
    the reported standard error must show it."""
    short = calibrate_run([synthetic_run(max_in=80, noise=0.02)], "toy")
    long = calibrate_run([synthetic_run(max_in=2000, noise=0.02)], "toy")
    assert short.prefill_rel_se > 3 * long.prefill_rel_se


def test_unusable_records_are_counted_not_used():
    run = synthetic_run(n=12)
    records = list(run.records)
    records[0] = replace(records[0], outcome="error")
    records[1] = replace(records[1], energy=None)
    samples, skipped = samples_from_run(replace(run, records=tuple(records)))
    assert len(samples) == 10 and skipped == {"errored": 1, "no energy figure": 1}
    cal = calibrate_run([replace(run, records=tuple(records))], "toy")
    assert cal.n_used == 10 and cal.skipped == {"errored": 1, "no energy figure": 1}


def test_proportional_token_counts_cannot_be_separated():
    run = synthetic_run(n=10)
    records = tuple(replace(r, tokens_input=2 * r.tokens_output) for r in run.records)
    with pytest.raises(SlmEnergyError, match="proportional.*varied prompt and answer lengths"):
        calibrate_run([replace(run, records=records)], "toy")


def test_too_few_records_and_unknown_model():
    with pytest.raises(SlmEnergyError, match="2 usable queries.*at least 3"):
        calibrate_run([synthetic_run(n=2)], "toy")
    with pytest.raises(SlmEnergyError, match="no model 'phi2' in the run \\(models there: toy\\)"):
        calibrate_run([synthetic_run()], "phi2")
