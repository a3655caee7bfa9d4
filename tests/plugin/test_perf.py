"""End-to-end (pytester): @random models, dtype/device options, MBU and the decode protocol in runs."""

from __future__ import annotations

import pytest

from slm_energy_plugin.results.records import validate_model_dict

from ..conftest import load_model_json, run_dirs


def test_gpt2_random_reports_real_size_cost(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest("--energy-models", "gpt2@random", "--energy-max-new-tokens", "4",
                                     "--energy-bandwidth", "20", "--energy-report", "--benchmark-disable")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "model * thr * prefill t/s * decode t/s * MBU * weights MB * load +MB * peak MB",
        "gpt2@random * 475 *",   # MB = 2**20 bytes, as for RSS
        "bandwidth: 20.0 GB/s (given with --energy-bandwidth)",
        "gpt2@random * 3 * random",
        "random: random weights: cost only (real architecture, meaningless answers).",
    ])
    data = load_model_json(run_dirs(bench_project.path)[0], "gpt2@random")
    assert validate_model_dict(data) == []
    info = data["model_info"]
    assert info["weights"] == "random" and info["model_id"] == "openai-community/gpt2@random"
    assert info["parameters"] == 124_439_808 and info["generation"]["min_new_tokens"] == 4
    assert [q["tokens_output"] for q in data["query_history"]] == [4, 4, 4]   # forced, whatever the weights say
    perf = data["performance"]
    assert perf["weight_bytes"] == 124_439_808 * 4 and perf["torch_threads"] >= 1
    assert perf["decode_bytes_per_token"] == perf["weight_bytes"] - 1024 * 768 * 4   # positions only indexed
    rate = perf["query_rates"]["decode_tokens_per_s_median"]
    assert perf["mbu"]["queries"] == pytest.approx(rate * perf["decode_bytes_per_token"] / 20e9)
    memory = perf["memory"]
    assert memory["load_rss_growth_mb"] > 400          # 498 MB of float32 weights were built in this process
    assert memory["run_peak_rss_mb"] >= memory["rss_after_load_mb"] - 1
    assert all(q["extra"]["peak_rss_mb"] > 0 for q in data["query_history"])


def test_decode_protocol_and_measured_bandwidth(bench_project: pytest.Pytester) -> None:
    result = bench_project.runpytest(
        "--energy-models", "tiny-qwen2@random", "--energy-dtype", "bfloat16", "--energy-decode-protocol",
        "--energy-protocol-warmup", "1", "--energy-protocol-min-seconds", "0", "--energy-protocol-min-iterations", "2",
        "--energy-report", "--benchmark-disable", "-k", "q001")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "bandwidth: * GB/s on cpu (copy benchmark, best of 7*",
        "model * prefill s * decode t/s * prefill J * decode J/t * tokens/kWh * MBU",
        "Decode protocol (LLM-Perf): batch 1, 256 random input tokens, exactly 64 new; decode = generate -",
    ])
    data = load_model_json(run_dirs(bench_project.path)[0], "tiny-qwen2@random")
    assert data["model_info"]["dtype"] == "bfloat16" and data["performance"]["dtype"] == "bfloat16"
    protocol = data["performance"]["decode_protocol"]
    assert protocol["settings"] == {"input_tokens": 256, "new_tokens": 64, "batch_size": 1, "warmup": 1,
                                    "min_seconds": 0.0, "min_iterations": 2}
    assert protocol["prefill"]["iterations"] == 2 and protocol["generate"]["iterations"] == 2
    # CodeCarbon's estimate here: the decode energy is generate minus prefill, per iteration.
    assert protocol["decode_kwh"] == pytest.approx(protocol["generate_kwh"] - protocol["prefill_kwh"])
    if protocol["decode_kwh"] > 0:
        assert protocol["decode_tokens_per_kwh"] == pytest.approx(63 / protocol["decode_kwh"])
    assert data["performance"]["bandwidth"]["method"] == "copy-benchmark"
    # The copy benchmark's 512 MB of buffers ran before the model's memory window opened.
    assert data["performance"]["memory"]["run_peak_growth_mb"] < 400
    assert data["performance"]["mbu"]["decode_protocol"] is not None


@pytest.mark.parametrize(("args", "message"), [
    (["--energy-dtype", "float8"], "*--energy-dtype='float8': 'float8' is not one of float32, bfloat16, float16*"),
    (["--energy-models", "tiny-gpt2", "--energy-dtype", "gpt2@random=bfloat16"],
     "*--energy-dtype: 'gpt2@random' is not one of the selected models (tiny-gpt2)*"),
    (["--energy-models", "nobody/nothing@random"], "*no shape for nobody/nothing@random*"),
    (["--energy-bandwidth", "fast"], "*expected auto, off or a bandwidth in GB/s*"),
])
def test_bad_performance_options_are_usage_errors(bench_project: pytest.Pytester, args: list[str],
                                                  message: str) -> None:
    result = bench_project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_an_accelerator_this_machine_lacks_is_a_usage_error(bench_project: pytest.Pytester) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--energy-device", "cuda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*tiny-gpt2: device cuda requested but this torch * sees no CUDA GPU*"])
    assert not run_dirs(bench_project.path)
