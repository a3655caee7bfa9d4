"""Memory bandwidth and MBU, the LLM-Perf decode protocol, peak memory, the performance block."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from slm_energy_plugin.perf.bandwidth import Bandwidth, bandwidth_for, machine_bandwidth, measure_copy_bandwidth
from slm_energy_plugin.perf.decode_protocol import (ProtocolSettings, TargetResult, protocol_figures, random_prompt,
                                               run_protocol, run_target)
from slm_energy_plugin.energy.null_meter import NullMeter
from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.perf.memory import MemoryWindow, current_rss_mb, peak_rss_mb, reset_peak_rss
from slm_energy_plugin.results.performance import mbu, model_performance
from slm_energy_plugin.results.records import QueryRecord


def _reading(kwh: float, seconds: float) -> EnergyReading:
    return EnergyReading(duration_s=seconds, cpu_kwh=kwh, gpu_kwh=None, ram_kwh=0.0,
                         methods={"cpu": "rapl", "gpu": "none", "ram": "rapl"}, meter="test")


def test_mbu_by_hand() -> None:
    # 10 tokens/s x 1 GB read per token = 10 GB/s of a 20 GB/s machine.
    assert mbu(10.0, 10**9, 20.0) == pytest.approx(0.5)
    assert mbu(None, 10**9, 20.0) is None and mbu(10.0, None, 20.0) is None and mbu(10.0, 10**9, None) is None


def test_copy_benchmark_counts_read_and_written_bytes() -> None:
    result = measure_copy_bandwidth("cpu", buffer_mb=16, repeats=3)
    assert result.method == "copy-benchmark" and result.repeats == 3 and result.threads >= 1
    assert result.gb_per_s >= result.median_gb_per_s > 0
    assert result.seconds < 5


def test_bandwidth_is_measured_once_per_machine_and_cached(tmp_path: Path) -> None:
    first = machine_bandwidth("cpu", tmp_path, buffer_mb=8, repeats=2)
    [cache_file] = (tmp_path / "bandwidth").glob("cpu-*.json")
    second = machine_bandwidth("cpu", tmp_path, buffer_mb=8, repeats=2)
    assert not first.cached and second.cached and second.gb_per_s == first.gb_per_s
    cache_file.write_text("{not json")
    third = machine_bandwidth("cpu", tmp_path, buffer_mb=8, repeats=2)
    assert not third.cached and json.loads(cache_file.read_text())["gb_per_s"] == third.gb_per_s


def test_bandwidth_setting() -> None:
    assert bandwidth_for("off", "cpu") is None
    assert bandwidth_for(25.6, "cpu") == Bandwidth(gb_per_s=25.6, method="given", device="cpu")


def test_protocol_figures_by_hand() -> None:
    settings = ProtocolSettings()
    prefill = TargetResult("prefill", iterations=4, seconds=2.0, energy=_reading(4e-6, 2.0))
    generate = TargetResult("generate", iterations=2, seconds=6.0, energy=_reading(1e-5, 6.0))
    figures = protocol_figures(prefill, generate, settings)
    assert figures["prefill_s"] == 0.5 and figures["generate_s"] == 3.0 and figures["decode_s"] == 2.5
    assert figures["prefill_kwh"] == pytest.approx(1e-6) and figures["decode_kwh"] == pytest.approx(4e-6)
    assert figures["decode_tokens"] == 63                       # the first new token comes from prefill
    assert figures["decode_tokens_per_s"] == pytest.approx(63 / 2.5)
    assert figures["prefill_tokens_per_s"] == pytest.approx(256 / 0.5)
    assert figures["decode_tokens_per_kwh"] == pytest.approx(63 / 4e-6)
    assert figures["note"] is None
    upside_down = protocol_figures(generate, prefill, settings)    # decode energy <= 0: said, not reported
    assert upside_down["decode_tokens_per_kwh"] is None and "raise the protocol's minimums" in upside_down["note"]


def test_each_target_runs_until_both_minimums_have_passed() -> None:
    meter = NullMeter()
    by_count = run_target("t", lambda: None, meter, min_seconds=0.0, min_iterations=3)
    assert by_count.iterations == 3
    by_time = run_target("t", lambda: time.sleep(0.01), meter, min_seconds=0.1, min_iterations=2)
    assert by_time.seconds >= 0.1 and by_time.iterations >= 2
    # ... and stops as soon as both have: the time before the last iteration was still short of 0.1 s
    # (robust on a loaded machine, where one 10 ms sleep may take 100 ms).
    assert by_time.iterations == 2 or sum(by_time.iteration_seconds[:-1]) < 0.1
    assert by_time.kwh_per_iteration is None   # the null meter measures no energy


def test_random_prompt_is_fixed() -> None:
    import torch

    settings = ProtocolSettings()
    first, second = random_prompt(1000, settings, "cpu"), random_prompt(1000, settings, "cpu")
    assert first.shape == (1, 256) and torch.equal(first, second) and int(first.max()) < 1000


def test_protocol_on_a_model(tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from slm_energy_plugin.backends.registry import load_registry, select_models
    from slm_energy_plugin.backends.transformers_runtime import load_model

    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
    [spec] = select_models(("tiny-gpt2@random",), load_registry(), Path.cwd())
    loaded = load_model(spec, None)
    result = run_protocol(loaded, NullMeter(), ProtocolSettings(warmup=1, min_seconds=0.0, min_iterations=2))
    assert result["prefill"]["iterations"] == result["generate"]["iterations"] == 2
    assert result["generate_s"] > result["prefill_s"] > 0 and result["decode_tokens"] == 63
    assert result["decode_tokens_per_kwh"] is None       # time only with the null meter
    short = ProtocolSettings(input_tokens=2040, warmup=0, min_seconds=0.0, min_iterations=1)
    assert f"{loaded.max_positions} positions" in run_protocol(loaded, NullMeter(), short)["skipped"]
    assert loaded.max_positions == 2048     # the tiny models take 2,048-token prompts (long input loads)


def test_peak_memory_window() -> None:
    if not reset_peak_rss():
        pytest.skip("this platform cannot reset the peak RSS")
    window = MemoryWindow.open("cpu")
    block = bytearray(64 * 1024**2)
    block[::4096] = b"x" * len(block[::4096])     # touch every page
    window.loaded()
    del block
    figures = window.to_dict()
    assert figures["load_rss_growth_mb"] > 50 and figures["load_peak_rss_mb"] >= figures["rss_before_load_mb"] + 50
    assert figures["peak_scope"] == "model" and figures["cuda_max_allocated_mb"] is None
    assert peak_rss_mb() >= current_rss_mb() - 1


def _record(i: int, ttft: float, decode_rate: float, peak: float) -> QueryRecord:
    return QueryRecord(model="m", query_id=f"q{i}", query="", response="", tokens_input=100, tokens_output=10,
                       duration_s=1.0, sequence=i, ttft_s=ttft, decode_s=9 / decode_rate,
                       extra={"decode_tokens_per_s": decode_rate, "peak_rss_mb": peak})


def test_performance_block_by_hand() -> None:
    sent = {"decode_bytes_per_token": 10**9, "bandwidth": {"gb_per_s": 40.0},
            "memory": {"rss_before_load_mb": 100.0}, "decode_protocol": {"decode_tokens_per_s": 8.0}}
    records = [_record(1, 0.5, 10.0, 300.0), _record(2, 0.25, 20.0, 350.0), _record(3, 1.0, 30.0, 320.0)]
    block = model_performance(sent, records)
    rates = block["query_rates"]
    assert rates["prefill_tokens_per_s_median"] == 200.0 and rates["decode_tokens_per_s_median"] == 20.0
    assert block["mbu"]["queries"] == pytest.approx(0.5) and block["mbu"]["decode_protocol"] == pytest.approx(0.2)
    assert block["memory"]["run_peak_rss_mb"] == 350.0 and block["memory"]["run_peak_growth_mb"] == 250.0
    assert model_performance(None, []) == {}
