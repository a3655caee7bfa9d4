"""Readers on files written in the published shapes: emoji headers, old/new column sets, bad cells."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from slm_energy_plugin.errors import SlmEnergyError
from slm_energy_plugin.leaderboard.readers import (
    LLM_PERF, OPEN_LLM, PRICE, hardware_from_name, normalise_header, read_table,
)
from slm_energy_plugin.paths import data_dir

from . import samples


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def test_published_llm_perf_export_is_read_by_its_emoji_headers(tmp_path: Path) -> None:
    raw = samples.llm_perf_frame("A10")
    table = read_table(write_csv(raw, tmp_path / "llm-perf-leaderboard-A10-24GB.csv"))
    assert table.kind == LLM_PERF and table.hardware == "A10" and table.rows == len(raw)
    assert table.columns_used["model"] == "Model 🤗"
    assert table.columns_used["energy_tokens_per_kwh"] == "Energy (tokens/kWh)"
    assert table.columns_used["quantization"] == "Quantization 🗜️"
    assert table.columns_used["params_b"] == "Params (B)"
    assert table.frame["energy_tokens_per_kwh"].tolist() == pytest.approx(raw["Energy (tokens/kWh)"].tolist())
    assert table.notes == ()


@pytest.mark.parametrize(("name", "hardware"), [
    ("llm-perf-leaderboard-A100-80GB.csv", "A100"), ("perf-a10g.csv", "A10"), ("perf-A10.csv", "A10"),
    ("llm-perf-T4-16GB.csv", "T4"), ("llm-perf-32vCPU-C7i.csv", "32vCPU"), ("x-cpu.csv", "CPU"),
    ("leaderboard.csv", None), ("gpt4-prices.csv", None), ("NVIDIA A100-SXM4-80GB", "A100"),
    ("Tesla T4", "T4"), ("NVIDIA A10G", "A10"), ("NVIDIA H100 80GB HBM3", "H100"),
])
def test_hardware_is_read_from_the_file_name(name: str, hardware: str | None) -> None:
    assert hardware_from_name(name) == hardware


def test_a_hardware_column_wins_over_the_file_name(tmp_path: Path) -> None:
    raw = samples.llm_perf_frame("T4")
    raw["GPU"] = ["NVIDIA A100-SXM4-80GB"] * 10 + ["T4"] * (len(raw) - 10)
    table = read_table(write_csv(raw, tmp_path / "llm-perf-T4.csv"))
    assert table.hardware == "per row" and table.columns_used["hardware"] == "GPU"
    assert table.frame["hardware"].value_counts().to_dict() == {"T4": len(raw) - 10, "A100": 10}


def test_an_older_column_set_is_read_by_name_and_says_what_it_used(tmp_path: Path) -> None:
    raw = samples.llm_perf_frame("A100").rename(columns={"Precision 📥": "Dtype 📥", "Model 🤗": "Model"})
    raw = raw.drop(columns=["Quantization 🗜️", "Backend 🏭", "Experiment 🧪"])
    raw = raw[list(reversed(raw.columns))]   # position never matters
    table = read_table(write_csv(raw, tmp_path / "old-A100.csv"))
    assert table.columns_used["precision"] == "Dtype 📥" and table.columns_used["model"] == "Model"
    assert "quantization" not in table.columns_used and "backend" not in table.frame


def test_non_numeric_cells_become_missing_and_are_counted(tmp_path: Path) -> None:
    raw = samples.llm_perf_frame("T4").astype(str)
    raw.loc[0, "Energy (tokens/kWh)"] = "OOM"
    raw.loc[1, "Energy (tokens/kWh)"] = ""          # empty: missing, not "non-numeric"
    raw.loc[2, "Params (B)"] = "n/a"
    raw.loc[3, "Energy (tokens/kWh)"] = "1,234,567"  # thousands separators are numbers
    table = read_table(write_csv(raw, tmp_path / "t4.csv"))
    assert "1 non-numeric cell in 'Energy (tokens/kWh)' read as missing" in table.notes
    assert "1 non-numeric cell in 'Params (B)' read as missing" in table.notes
    energy = table.frame["energy_tokens_per_kwh"]
    assert energy.isna().tolist()[:3] == [True, True, False] and energy[3] == 1234567.0


def test_a_file_without_parameters_says_every_size_is_missing(tmp_path: Path) -> None:
    raw = samples.llm_perf_frame("A10").drop(columns=["Params (B)"])
    table = read_table(write_csv(raw, tmp_path / "A10.csv"))
    assert table.frame["params_b"].isna().all()
    assert "no parameter column: every size is missing" in table.notes


def test_open_llm_contents_use_fullname_not_the_html_link(tmp_path: Path) -> None:
    raw = samples.open_llm_frame()
    path = tmp_path / "contents.parquet"
    raw.to_parquet(path, index=False)
    table = read_table(path)
    assert table.kind == OPEN_LLM
    assert table.columns_used == {"model": "fullname", "params_b": "#Params (B)", "co2_kg": "CO₂ cost (kg)",
                                  "chat_template": "Chat Template", "type": "Type", "precision": "Precision"}
    assert table.frame["model"].tolist() == raw["fullname"].tolist()
    assert table.frame["chat_template"].tolist() == [str(v) for v in raw["Chat Template"]]


def test_price_table_kind_and_columns(tmp_path: Path) -> None:
    table = read_table(write_csv(samples.price_frame(), tmp_path / "prices.csv"))
    assert table.kind == PRICE
    assert table.columns_used["usd_per_1k_output"] == "$ per 1K output tokens"
    assert (table.frame["usd_per_1k_output"] > table.frame["usd_per_1k_input"]).all()


@pytest.mark.parametrize("kind", ["llm-perf", "open-llm", "price"])
def test_parquet_and_csv_read_the_same(tmp_path: Path, kind: str) -> None:
    raw = {"llm-perf": samples.llm_perf_frame("A100"), "open-llm": samples.open_llm_frame(),
           "price": samples.price_frame()}[kind]
    csv = read_table(write_csv(raw, tmp_path / "A100.csv"))
    parquet_path = tmp_path / "A100.parquet"
    raw.to_parquet(parquet_path, index=False)
    parquet = read_table(parquet_path)
    assert parquet.kind == csv.kind == kind and parquet.columns_used == csv.columns_used
    numeric = [c for c in csv.frame.columns if csv.frame[c].dtype == float]
    assert numeric
    pd.testing.assert_frame_equal(parquet.frame[numeric], csv.frame[numeric])


def test_headers_are_normalised_by_unicode_form_and_case() -> None:
    assert normalise_header("CO₂ cost (kg)") == "co2 cost (kg)"
    assert normalise_header("  Energy  (tokens/kWh) ") == "energy (tokens/kwh)"
    assert normalise_header("Quantization 🗜️") == "quantization"


def test_an_unknown_table_is_one_clear_error(tmp_path: Path) -> None:
    path = write_csv(pd.DataFrame({"name": ["a"], "score": [1]}), tmp_path / "other.csv")
    with pytest.raises(SlmEnergyError, match=r"not an LLM-Perf export, .* \(no energy, CO2 or price column; "
                                             r"columns: name, score\)"):
        read_table(path)


def test_a_table_without_a_model_column_is_one_clear_error(tmp_path: Path) -> None:
    raw = samples.llm_perf_frame("T4").drop(columns=["Model 🤗"])
    with pytest.raises(SlmEnergyError, match="llm-perf table without a 'model' column"):
        read_table(write_csv(raw, tmp_path / "T4.csv"))


def test_a_corrupt_parquet_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(SlmEnergyError, match="broken.parquet: not a readable parquet table"):
        read_table(path)


def test_the_shipped_samples_are_exactly_what_the_builder_writes(tmp_path: Path) -> None:
    samples.write_samples(tmp_path)
    shipped = data_dir() / "leaderboard"
    assert sorted(p.name for p in shipped.iterdir()) == sorted(p.name for p in tmp_path.iterdir())
    for path in tmp_path.iterdir():
        if path.suffix == ".parquet":
            pd.testing.assert_frame_equal(pd.read_parquet(shipped / path.name), pd.read_parquet(path))
        else:
            assert (shipped / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    assert "NOT REAL LEADERBOARD DATA" in (shipped / "SAMPLES.txt").read_text(encoding="utf-8")
