"""The regression gate: spec parsing, and per-model verdicts against a baseline."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats as sps

from ..run_factory import J_PER_KWH, make_run, three_models
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.stats.gate import GateSpec, check_regressions, gate_failed, gate_lines, parse_gate_specs


def _energies(run):
    return [r.energy_kwh * J_PER_KWH for r in run.records]


def _scaled(runs, factors, **kwargs):
    """Copies of runs whose energies are multiplied per model (alias -> factor or array)."""
    return [make_run(r.alias, np.array(_energies(r)) * factors.get(r.alias, 1.0), **kwargs) for r in runs]


# --- specs ---------------------------------------------------------------------------------

def test_parse_gate_specs():
    assert parse_gate_specs("energy:10%") == [GateSpec("energy", 0.10)]
    assert parse_gate_specs("latency:5%, tokens:20%") == [GateSpec("latency", 0.05), GateSpec("tokens", 0.20)]
    assert parse_gate_specs(["energy:2.5%", "latency:5%"])[0].threshold == pytest.approx(0.025)
    assert str(GateSpec("energy", 0.1)) == "energy:10%"


@pytest.mark.parametrize("spec, words", [
    ("energy", "METRIC:PERCENT%"), ("energy:10", "METRIC:PERCENT%"), ("energy:-5%", "METRIC:PERCENT%"),
    ("energy:ten%", "METRIC:PERCENT%"), ("power:10%", "unknown metric 'power'"),
    ("correct:5%", "higher 'correct' is better"), ("", "no gate spec"),
])
def test_bad_gate_specs_are_one_clear_config_error(spec, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        parse_gate_specs(spec)


# --- verdicts ---------------------------------------------------------------------------------

def test_significant_rise_above_threshold_fails_with_one_reason_line():
    baseline = three_models(40)
    current = _scaled(baseline, {"phi2": 1.25})
    results = check_regressions(current, baseline, parse_gate_specs("energy:10%"))
    by_model = {r.model: r for r in results}
    phi2 = by_model["phi2"]
    assert phi2.failed and gate_failed(results)
    assert phi2.change == pytest.approx(0.25)
    assert phi2.reason.startswith("phi2: energy per query: REGRESSION above 10%")
    assert "rose 25.0%" in phi2.reason and "40 shared queries" in phi2.reason and "\n" not in phi2.reason
    cur = np.array(_energies(current[2]))
    base = np.array(_energies(baseline[2]))
    assert phi2.p_value == pytest.approx(sps.wilcoxon(cur, base, alternative="greater").pvalue)
    assert by_model["gpt2"].status == "ok" and "within 10%" in by_model["gpt2"].reason
    lines = gate_lines(results, parse_gate_specs("energy:10%"))
    assert lines[0] == "energy gate (energy:10%): FAILED for 1 model" and lines[1].startswith("phi2:")


def test_rise_below_threshold_passes():
    baseline = three_models(40)
    results = check_regressions(_scaled(baseline, {"phi2": 1.05}), baseline, parse_gate_specs("energy:10%"))
    assert not gate_failed(results)
    phi2 = next(r for r in results if r.model == "phi2")
    assert phi2.status == "ok" and "rose 5.0%" in phi2.reason


def test_large_but_not_significant_rise_passes_and_says_why():
    baseline = [make_run("gpt2", [10.0, 12.0, 9.0, 11.0, 10.5, 9.5])]
    noise = [1.9, 0.7, 1.8, 0.8, 1.6, 0.9]     # median up, but half the queries got cheaper
    current = [make_run("gpt2", np.array(_energies(baseline[0])) * noise)]
    result = check_regressions(current, baseline, parse_gate_specs("energy:10%"))[0]
    assert result.change > 0.10 and result.p_value >= 0.05
    assert result.status == "ok" and "not significant at 0.05" in result.reason
    assert result.p_value == pytest.approx(14 / 64)   # R+ = 15 of 21: 14 of 64 sign patterns reach it


def test_improvement_never_fails():
    baseline = three_models(30)
    results = check_regressions(_scaled(baseline, {"phi2": 0.5}), baseline, parse_gate_specs("energy:10%"))
    phi2 = next(r for r in results if r.model == "phi2")
    assert phi2.status == "ok" and "fell 50.0%" in phi2.reason


def test_medians_use_shared_queries_only():
    # The baseline also ran 20 cheap queries this run skipped: those must not read as a rise.
    base = make_run("gpt2", [20.0] * 20 + [1.0] * 20,
                    query_ids=[f"q{i:03d}" for i in range(40)])
    cur = make_run("gpt2", [20.0] * 20, query_ids=[f"q{i:03d}" for i in range(20)])
    result = check_regressions([cur], [base], parse_gate_specs("energy:10%"))[0]
    assert result.n_shared == 20 and result.change == pytest.approx(0.0) and not result.failed


def test_models_that_cannot_be_compared_say_why():
    baseline = [make_run("gpt2", [1.0, 2.0, 3.0]), make_run("phi2", [1.0, 2.0]),
                make_run("tiny", [1.0, 2.0], query_ids=["a", "b"])]
    current = [make_run("gpt2", [2.0, 4.0, 6.0]), make_run("qwen", [1.0, 2.0]),
               make_run("tiny", [5.0, 6.0], query_ids=["c", "d"])]
    results = {r.model: r for r in check_regressions(current, baseline, parse_gate_specs("energy:10%"))}
    assert results["qwen"].status == "not compared" and "not in the baseline" in results["qwen"].reason
    assert results["phi2"].status == "not compared" and "not in this run" in results["phi2"].reason
    assert "no query ids shared" in results["tiny"].reason
    # gpt2 doubled on every query, but 3 pairs cannot reach p < 0.05 one-sided (min p = 1/8).
    assert results["gpt2"].status == "ok" and results["gpt2"].p_value == pytest.approx(0.125)
    assert not gate_failed(results.values())


def test_rise_that_cannot_be_tested_is_inconclusive():
    results = check_regressions([make_run("gpt2", [3.0])], [make_run("gpt2", [1.0])],
                                parse_gate_specs("energy:10%"))
    assert results[0].status == "inconclusive" and "at least 2 shared" in results[0].reason
    assert not results[0].failed


def test_zero_baseline_median_is_not_compared():
    base = make_run("gpt2", [1.0, 1.0, 1.0], tokens=[0, 0, 0])
    cur = make_run("gpt2", [1.0, 1.0, 1.0], tokens=[5, 6, 7])
    result = check_regressions([cur], [base], parse_gate_specs("tokens:20%"))[0]
    assert result.status == "not compared" and "relative rise is undefined" in result.reason


def test_latency_and_tokens_gates_use_their_metrics():
    baseline = three_models(30)
    current = [make_run(r.alias, _energies(r), seconds_per_joule=0.03, tokens=[40] * 30) for r in baseline]
    results = check_regressions(current, baseline, parse_gate_specs("latency:10%,tokens:20%"))
    latency = [r for r in results if r.metric == "latency"]
    tokens = [r for r in results if r.metric == "tokens"]
    assert all(r.failed and r.change == pytest.approx(0.5) for r in latency)
    # +8 tokens on every query: all differences tie, yet every one is a rise.
    assert all(r.failed and r.change == pytest.approx(0.25) for r in tokens)


def test_title_counts_checks_that_could_not_be_made():
    results = check_regressions([make_run("gpt2", [1.0, 2.0])], [make_run("phi2", [1.0, 2.0])],
                                parse_gate_specs("energy:10%"))
    assert gate_lines(results, parse_gate_specs("energy:10%"))[0] == (
        "energy gate (energy:10%): passed (2 of 2 checks could not be made)")
