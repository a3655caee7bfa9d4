"""The power-law fit against scipy on constructed data, and parameter counts against real models."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from slm_energy_plugin.leaderboard.architecture import known_parameter_count, parameter_count
from slm_energy_plugin.leaderboard.fit import FitError, fit_loglog
from slm_energy_plugin.paths import data_dir


def test_an_exact_power_law_is_recovered() -> None:
    x = [0.1, 0.5, 1.0, 7.0, 70.0]
    fit = fit_loglog(x, [3.0 * v ** 0.6 for v in x])
    assert fit.slope == pytest.approx(0.6) and fit.intercept == pytest.approx(math.log10(3.0))
    assert fit.r2 == pytest.approx(1.0) and fit.n == 5
    assert fit.slope_ci95[0] == pytest.approx(0.6) and fit.slope_ci95[1] == pytest.approx(0.6)
    assert fit.predict_log10(10.0) == pytest.approx(math.log10(3.0) + 0.6)


def test_fit_equals_scipy_on_noisy_data() -> None:
    rng = np.random.default_rng(42)
    x = 10 ** rng.uniform(-1, 2, size=40)
    y = 0.8 * x ** 0.55 * 10 ** rng.normal(0, 0.15, size=40)
    fit = fit_loglog(x.tolist(), y.tolist())
    ref = stats.linregress(np.log10(x), np.log10(y))
    assert fit.slope == pytest.approx(ref.slope) and fit.intercept == pytest.approx(ref.intercept)
    assert fit.r2 == pytest.approx(ref.rvalue ** 2) and fit.slope_stderr == pytest.approx(ref.stderr)
    # The interval by hand: s^2 = RSS / (n - 2), SE = s / sqrt(Sxx), t with n - 2 degrees of freedom.
    lx, ly = np.log10(x), np.log10(y)
    rss = np.sum((ly - ref.intercept - ref.slope * lx) ** 2)
    se = math.sqrt(rss / 38) / math.sqrt(np.sum((lx - lx.mean()) ** 2))
    t = stats.t.ppf(0.975, 38)
    assert fit.slope_ci95 == pytest.approx((ref.slope - t * se, ref.slope + t * se))
    assert fit.slope_ci95[0] < 0.55 < fit.slope_ci95[1]


def test_the_band_is_narrowest_at_the_mean_size_and_contains_the_trend() -> None:
    rng = np.random.default_rng(1)
    x = 10 ** rng.uniform(-1, 2, size=20)
    fit = fit_loglog(x.tolist(), (x ** 0.5 * 10 ** rng.normal(0, 0.1, size=20)).tolist())
    centre = 10 ** fit.x_mean_log
    trend, low, high = fit.band([0.1, centre, 100.0])
    widths = [math.log10(h / lo) for lo, h in zip(low, high)]
    assert widths[1] < widths[0] and widths[1] < widths[2]
    half = stats.t.ppf(0.975, fit.n - 2) * fit.residual_std / math.sqrt(fit.n)
    assert widths[1] == pytest.approx(2 * half)
    assert all(lo < t < h for lo, t, h in zip(low, trend, high))


@pytest.mark.parametrize(("x", "y", "message"), [
    ([1.0, 2.0], [1.0, 2.0], "2 point"),
    ([3.0, 3.0, 3.0], [1.0, 2.0, 3.0], "same size"),
    ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], "positive"),
    ([1.0, 2.0, 3.0], [1.0, float("nan"), 3.0], "positive, finite"),
    ([1.0, 2.0], [1.0, 2.0, 3.0], "2 sizes but 3 values"),
])
def test_degenerate_inputs_say_why(x: list[float], y: list[float], message: str) -> None:
    with pytest.raises(FitError, match=message):
        fit_loglog(x, y)


@pytest.mark.parametrize("name", ["openai-community--gpt2", "microsoft--phi-2",
                                  "deepseek-ai--DeepSeek-R1-Distill-Qwen-1.5B"])
def test_parameter_count_equals_the_real_model_built_from_the_config(name: str) -> None:
    torch = pytest.importorskip("torch")
    from transformers import AutoConfig, AutoModelForCausalLM

    config = json.loads((data_dir() / "shapes" / f"{name}.json").read_text())
    config.pop("_comment")
    with torch.device("meta"):   # shapes only: no memory, no download
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config))
    assert parameter_count(config) == sum(p.numel() for p in model.parameters())


def test_known_parameter_count_reads_the_shipped_shape_and_refuses_the_unknown() -> None:
    count, where = known_parameter_count("openai-community/gpt2") or (0, "")
    assert count == 124_439_808 and where == "architecture in data/shapes/openai-community--gpt2.json"
    assert known_parameter_count("facebook/opt-350m") is None
    with pytest.raises(KeyError):
        parameter_count({"model_type": "mamba", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 2})
