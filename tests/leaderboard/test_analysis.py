"""One point per model per hardware, filters, exclusions, across-hardware means, own runs, JSON."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from slm_energy_plugin.leaderboard.analysis import ACROSS, Filters, analyse
from slm_energy_plugin.leaderboard.own_runs import DECODE_BASIS, QUERY_BASIS, place_runs
from slm_energy_plugin.leaderboard.readers import read_table, to_table
from slm_energy_plugin.render.leaderboard_tables import render, to_json

from ..run_factory import MEASURED, make_run
from . import samples

ENERGY = "energy_kwh_per_mtok"


def perf_rows(rows: list[tuple[str, float, float, str, str]]) -> pd.DataFrame:
    """(model, params B, tokens/kWh, precision, quantization) -> a frame in the published shape."""
    return pd.DataFrame([{"Model 🤗": m, "Params (B)": p, "Energy (tokens/kWh)": e, "Precision 📥": prec,
                          "Quantization 🗜️": q, "Backend 🏭": "pytorch"} for m, p, e, prec, q in rows])


def small_export(hardware: str, scale: float = 1.0) -> pd.DataFrame:
    rows = []
    for model, size in (("org/a", 1.0), ("org/b", 3.0), ("org/c", 7.0), ("org/d", 13.0)):
        base = 1e6 / (size ** 0.5) * scale      # kWh per 1M tokens = size**0.5 / scale exactly
        rows += [(model, size, base, "float16", "Unquantized"),
                 (model, size, base * 2.0, "float16", "BnB.4bit"),
                 (model, size, base / 2.0, "float32", "Unquantized")]
    rows.append(("openai-community/gpt2", 0.0, 4e6, "float16", "Unquantized"))
    rows.append(("org/tiny", 0.0, 5e6, "float16", "Unquantized"))
    return perf_rows(rows)


def test_one_point_per_model_is_the_median_of_its_rows() -> None:
    table = to_table(small_export("A10"), "A10.csv")
    panel = analyse([table], fill_params=False).panel("A10", ENERGY)
    assert panel is not None and panel.fit is not None
    by_model = {p.model: p for p in panel.points}
    # Rows base, 2 base, base/2 -> median base -> 1e6 / base = size ** 0.5 kWh per 1M tokens.
    assert by_model["org/c"].value == pytest.approx(7.0 ** 0.5) and by_model["org/c"].rows == 3
    assert panel.fit.slope == pytest.approx(0.5) and panel.fit.r2 == pytest.approx(1.0)


def test_zero_parameters_are_filled_from_a_known_architecture_or_excluded_and_counted() -> None:
    table = to_table(small_export("A10"), "A10.csv")
    analysis = analyse([table])
    panel = analysis.panel("A10", ENERGY)
    assert panel is not None
    gpt2 = next(p for p in panel.points if p.model == "openai-community/gpt2")
    assert gpt2.params_b == pytest.approx(0.124439808) and "data/shapes" in (gpt2.params_note or "")
    assert [(e.model, e.reason) for e in panel.excluded] == [("org/tiny", "parameter count missing or zero")]
    assert any("openai-community/gpt2: size 0.124 B" in n for n in analysis.notes)
    strict = analyse([table], fill_params=False).panel("A10", ENERGY)
    assert strict is not None
    assert sorted(e.model for e in strict.excluded) == ["openai-community/gpt2", "org/tiny"]
    assert len(strict.points) == len(panel.points) - 1


def test_filters_pick_rows_before_the_median() -> None:
    table = to_table(small_export("A10"), "A10.csv")
    quantised = analyse([table], Filters(quantization="bnb.4bit")).panel("A10", ENERGY)
    fp32 = analyse([table], Filters(precision="FLOAT32")).panel("A10", ENERGY)
    none = analyse([table], Filters(quantization="none", precision="float16")).panel("A10", ENERGY)
    assert quantised is not None and fp32 is not None and none is not None
    value = {p.model: p.value for p in quantised.points}
    assert value["org/b"] == pytest.approx(3.0 ** 0.5 / 2.0)     # twice the tokens per kWh
    assert {p.model: p.value for p in fp32.points}["org/b"] == pytest.approx(3.0 ** 0.5 * 2.0)
    assert {p.model: p.value for p in none.points}["org/b"] == pytest.approx(3.0 ** 0.5)
    assert all(p.rows == 1 for p in quantised.points)


def test_a_filter_on_a_missing_column_is_noted_not_silently_dropped() -> None:
    table = to_table(small_export("A10").drop(columns=["Backend 🏭"]), "A10.csv")
    analysis = analyse([table], Filters(backend="onnxruntime"))
    assert "A10.csv: no backend column, --backend not applied" in analysis.notes
    assert "filters: backend=onnxruntime" in analysis.method


def test_rows_without_a_number_are_left_out_and_counted() -> None:
    raw = small_export("T4").astype(str)
    raw.loc[raw["Model 🤗"] == "org/d", "Energy (tokens/kWh)"] = "OOM"
    analysis = analyse([to_table(raw, "T4.csv")])
    panel = analysis.panel("T4", ENERGY)
    assert panel is not None
    assert ("org/d", f"no positive numeric {ENERGY} value") in [(e.model, e.reason) for e in panel.excluded]
    assert "T4 energy_kwh_per_mtok: 3 rows without a positive numeric value left out" in analysis.notes


def test_across_hardware_is_the_mean_per_model_over_the_hardware_that_measured_it() -> None:
    a10 = to_table(small_export("A10"), "A10.csv")
    t4_frame = small_export("T4", scale=0.5)
    t4 = to_table(t4_frame[t4_frame["Model 🤗"] != "org/d"], "T4.csv")
    analysis = analyse([a10, t4])
    across = analysis.panel(ACROSS, ENERGY)
    assert across is not None and across.fit is not None
    by_model = {p.model: p.value for p in across.points}
    assert by_model["org/b"] == pytest.approx(np.mean([3.0 ** 0.5, 2 * 3.0 ** 0.5]))
    assert by_model["org/d"] == pytest.approx(13.0 ** 0.5)           # A10 only
    assert [p.hardware for p in analysis.panels] == ["A10", "T4", ACROSS]


def test_open_llm_fits_chat_models_unless_told_otherwise() -> None:
    raw = samples.open_llm_frame()
    table = to_table(raw, "contents.parquet")
    chat = analyse([table]).panel("open-llm-eval", "co2_kg")
    every = analyse([table], Filters(chat_only=False)).panel("open-llm-eval", "co2_kg")
    assert chat is not None and every is not None
    assert len(chat.points) == int(raw["Chat Template"].sum()) < len(every.points) == len(raw)


def test_own_runs_are_placed_against_the_nearest_class_with_their_residual(tmp_path: Path) -> None:
    tables = [to_table(samples.llm_perf_frame(h), f"llm-perf-{h}.csv") for h in samples.HARDWARE]
    analysis = analyse(tables)
    cpu_fit = analysis.panel("32vCPU", ENERGY)
    assert cpu_fit is not None and cpu_fit.fit is not None
    # 60 queries x 1 J for 32 output tokens each: 1e6 / 32 J per 1M tokens.
    estimated = make_run("gpt2", [1.0] * 60)
    estimated = replace(estimated, info=replace(estimated.info, parameters=1_100_000_000))
    gpu = make_run("gpu-model", [1.0] * 10, methods=MEASURED)
    gpu = replace(gpu, info=replace(gpu.info, device="cuda:0"), meter={"gpu_model": "NVIDIA A100-PCIE-40GB"})
    unknown_gpu = replace(gpu, info=replace(gpu.info, alias="h200", device="cuda"), meter={"gpu_model": "H200"})
    nosize = replace(estimated, info=replace(estimated.info, alias="nosize", parameters=None))
    placed = {p.alias: p for p in place_runs([estimated, gpu, unknown_gpu, nosize], analysis)}

    cpu = placed["gpt2"]
    value = 60 * 1.0 / 3.6e6 / (60 * 32) * 1e6
    assert cpu.value == pytest.approx(value) and cpu.basis == QUERY_BASIS
    assert cpu.hardware_class == "32vCPU" and cpu.class_reason == "CPU run -> the leaderboard's CPU class 32vCPU"
    assert cpu.estimated and cpu.provenance == "estimated"
    expected = math.log10(value) - cpu_fit.fit.predict_log10(1.1)
    assert cpu.residual_log10 == pytest.approx(expected) and cpu.factor == pytest.approx(10 ** expected)
    assert cpu.in_range is True and cpu.note is None

    assert placed["gpu-model"].hardware_class == "A100" and not placed["gpu-model"].estimated
    assert placed["h200"].hardware_class == ACROSS
    assert "no H200 class in the leaderboard files -> the across-hardware trend" == placed["h200"].class_reason
    assert placed["nosize"].residual_log10 is None
    assert placed["nosize"].note == "no parameter count in the run's model_info"
    tiny = replace(estimated, info=replace(estimated.info, alias="tiny", parameters=198_400))
    (outside,) = place_runs([tiny], analysis)
    assert outside.in_range is False and outside.residual_log10 is not None
    assert outside.note == "0.000198 B is outside the fitted range 0.124-34 B: the residual extrapolates the trend"


def test_a_decode_protocol_run_uses_its_decode_energy() -> None:
    run = make_run("p", [1.0] * 3)
    protocol = {"decode_kwh_per_token": 2e-8,
                "prefill": {"energy": {"provenance": "measured"}}, "generate": {"energy": {"provenance": "measured"}}}
    run = replace(run, performance={"decode_protocol": protocol})
    analysis = analyse([to_table(samples.llm_perf_frame("32vCPU"), "32vCPU.csv")])
    (point,) = place_runs([run], analysis)
    assert point.basis == DECODE_BASIS and point.value == pytest.approx(0.02) and point.provenance == "measured"
    broken = replace(run, performance={"decode_protocol": {**protocol, "decode_kwh_per_token": -1e-9}})
    (fallback,) = place_runs([broken], analysis)
    assert fallback.basis == QUERY_BASIS and fallback.value == pytest.approx(1.0 / 3.6e6 / 32 * 1e6)
    assert fallback.note is not None and fallback.note.startswith("the decode protocol's decode energy was not positive")


def test_json_has_the_documented_fields() -> None:
    tables = [to_table(samples.llm_perf_frame(h), f"llm-perf-{h}.csv") for h in ("A10", "T4")]
    tables.append(to_table(samples.price_frame(), "price.csv"))
    analysis = analyse(tables)
    runs = place_runs([make_run("gpt2", [1.0] * 5)], analysis)
    document = json.loads(to_json(analysis, tables, runs, ["SAMPLES.txt: not a CSV or Parquet table"]))
    assert set(document) == {"sample_data", "fit", "fits", "runs", "sources", "skipped", "notes", "method", "filters"}
    required = {"hardware", "metric", "n", "excluded", "slope", "slope_ci95", "intercept", "r2"}
    assert all(required <= set(fit) for fit in document["fits"])
    assert [(f["hardware"], f["metric"]) for f in document["fits"]] == [
        ("A10", ENERGY), ("T4", ENERGY), (ACROSS, ENERGY), ("api-price", "usd_per_1k_input"),
        ("api-price", "usd_per_1k_output")]
    a10 = document["fits"][0]
    panel = analysis.panel("A10", ENERGY)
    assert panel is not None and panel.fit is not None
    assert a10["n"] == len(panel.points) and a10["excluded"] == len(panel.excluded) == 2
    assert a10["slope"] == pytest.approx(panel.fit.slope) and a10["slope_ci95"] == list(panel.fit.slope_ci95)
    assert document["runs"][0]["estimated"] is True and document["runs"][0]["hardware_class"] == ACROSS
    assert document["sources"][0]["columns_used"]["model"] == "Model 🤗"
    assert document["skipped"] == ["SAMPLES.txt: not a CSV or Parquet table"]


def test_text_and_markdown_state_the_method_and_the_estimate() -> None:
    tables = [to_table(samples.llm_perf_frame("32vCPU"), "llm-perf-32vCPU.csv")]
    analysis = analyse(tables)
    runs = place_runs([make_run("gpt2", [1.0] * 5)], analysis)
    text = render("text", analysis, tables, runs, [])
    markdown = render("markdown", analysis, tables, runs, [])
    assert "slope [95% CI]" in text and "energy ESTIMATED, not measured" in text
    assert "| hardware" in markdown and "- method: fit: OLS of log10(metric) on log10(parameters in B)" in markdown
    assert "excluded Qwen/Qwen2.5-0.5B-Instruct (parameter count missing or zero) from: 32vCPU" in text


def test_a_single_point_panel_reports_no_fit_with_the_reason(tmp_path: Path) -> None:
    frame = perf_rows([("org/a", 1.0, 1e6, "float16", "none"), ("org/b", 2.0, 5e5, "float16", "none")])
    frame.to_csv(tmp_path / "A10.csv", index=False)
    analysis = analyse([read_table(tmp_path / "A10.csv")])
    (panel,) = analysis.panels
    assert panel.fit is None and panel.reason is not None and "at least 3" in panel.reason
    assert "no fit: 2 points" in render("text", analysis, [], [], [])
    assert json.loads(render("json", analysis, [], [], []))["fits"][0]["slope"] is None
