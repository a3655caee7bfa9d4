"""The results file's field table: the writer, the validators and the docs agree with it;
old versions (1.0, the SLM Green Benchmark seed format) load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_energy_plugin.energy.intensity import CarbonContext
from slm_energy_plugin.energy.reading import EnergyReading, PowerBaseline
from slm_energy_plugin.errors import SlmEnergyError
from slm_energy_plugin.results import schema
from slm_energy_plugin.results.records import LoadRecord, ModelInfo, ModelRun, QueryRecord
from slm_energy_plugin.results.storage import load_model_file

from ..run_factory import write_seed_file

FIELDS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "fields.md"


def _reading() -> EnergyReading:
    return EnergyReading(duration_s=0.5, cpu_kwh=1e-6, gpu_kwh=None, ram_kwh=2e-7,
                         methods={"cpu": "cpu-load-estimate", "ram": "ram-constant-estimate"}, meter="codecarbon")


def full_run() -> ModelRun:
    record = QueryRecord(model="tiny-gpt2", query_id="q001", query="What is 7 + 5?", response="12",
                         tokens_input=9, tokens_output=4, duration_s=0.5, sequence=1, energy=_reading(),
                         emissions_kg=1e-7, net_energy_kwh=1e-6, ttft_s=0.1, decode_s=0.4,
                         scores={"score": 1.0}, extra={"health": "ok"})
    return ModelRun(
        info=ModelInfo(alias="tiny-gpt2", model_id="tiny/gpt2", parameters=1000),
        records=(record,),
        loads=(LoadRecord(duration_s=1.0, energy=_reading(), emissions_kg=1e-7, peak_rss_mb=100.0),),
        carbon=CarbonContext("USA", "United States", 384.0, "test", 2023, 1.0),
        idle=PowerBaseline(1.0, None, 0.5, 2.0, {"cpu": "cpu-load-estimate"}),
        run_id="abc", started_at="2026-01-01T00:00:00Z", finished_at="2026-01-01T00:01:00Z",
    )


def _paths(value: object, prefix: str = "") -> set[str]:
    """Every field path a written file holds, down to the objects the table describes."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            found.add(path)
            if path in schema.FIELDS_BY_PATH and schema.FIELDS_BY_PATH[path].type.startswith("object") and \
                    any(f.parent == path for f in schema.FIELDS):
                found |= _paths(item, path)
            if isinstance(item, list) and any(f.parent == path + "[]" for f in schema.FIELDS):
                for entry in item:
                    found |= _paths(entry, path + "[]")
    return found


def test_the_writer_writes_exactly_the_table() -> None:
    written = _paths(full_run().to_dict())
    table = {f.path for f in schema.FIELDS}
    assert written - table == set(), "fields written but missing from results/schema.py FIELDS"
    assert table - written == set(), "fields in the table that ModelRun.to_dict does not write"


def test_every_field_names_its_writer_and_type() -> None:
    for spec in schema.FIELDS:
        assert spec.made_by.endswith(".to_dict") and spec.meaning, spec.path
        assert spec.type.removesuffix("|null") in {"string", "integer", "number", "object", "array", "boolean"}


def test_a_written_file_validates() -> None:
    assert schema.check_fields(full_run().to_dict()) == []


def test_the_documented_fields_are_the_table() -> None:
    text = FIELDS_PAGE.read_text(encoding="utf-8")
    assert schema.markdown_table() in text, "regenerate: python -m slm_energy_plugin.docs_reference"


def _write(tmp_path: Path, data: dict[str, object], name: str = "environmental_data_m.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_schema_1_0_file_loads_and_is_upgraded(tmp_path: Path) -> None:
    old = full_run().to_dict()
    del old["warnings"]                  # 1.0 had no top-level warnings
    old["schema_version"] = "1.0"
    run = load_model_file(_write(tmp_path, old))
    assert run.alias == "tiny-gpt2" and run.source_format == "slm-energy" and run.warnings == ()
    assert run.records[0].energy is not None and run.records[0].energy.cpu_kwh == 1e-6


def test_a_seed_file_loads(tmp_path: Path) -> None:
    # A whole number of seconds, as JSON writers without floats write it, is read as seconds.
    run = load_model_file(write_seed_file(tmp_path / "environmental_data_phi2.json", "microsoft/phi-2",
                                          emissions_kg=[1e-6, 1e-6], durations=[1.0, 2]))
    assert run.source_format == "seed" and run.alias == "phi2"
    assert [r.query_id for r in run.records] == ["q001", "q002"] and run.records[1].duration_s == 2.0


def test_an_unknown_version_is_one_line(tmp_path: Path) -> None:
    data = full_run().to_dict()
    data["schema_version"] = "9.9"
    with pytest.raises(SlmEnergyError, match=r"schema_version '9.9' is not one this slm-energy reads"):
        load_model_file(_write(tmp_path, data))


def test_nan_becomes_null_and_is_named() -> None:
    clean, found = schema.finite_or_null({"scores": {"score": float("nan")}, "x": [1.0, float("inf")]})
    assert clean == {"scores": {"score": None}, "x": [1.0, None]}
    assert found == ["scores.score was nan", "x[1] was inf"]


def _as_parsed(value: object) -> object:
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("change", [
    lambda d: None,
    lambda d: d["query_history"][0].update(tokens_input="3", vendor_field={"deep": [1, {"x": None}]}),
    lambda d: d["query_history"][0]["energy"].update(cpu_kwh=-1.0, meter_firmware="1.2"),
    lambda d: d["query_history"][0].pop("query"),
    lambda d: d["query_history"][0].update(outcome="skipped", emissions=1e30),
    lambda d: d.update(loads=[{"energy": None}], machine=[], tool_field="x", status=None),
    lambda d: d["model_info"].update(parameters=1.5, extra_info={"a": 1}),
], ids=["valid", "record", "energy", "missing", "choice-and-bound", "top", "model_info"])
def test_the_parsed_files_validator_gives_the_same_verdicts(change: object) -> None:
    # load_model_file validates with parsed=True (extra fields ignored, not copied): every verdict on
    # data parsed from JSON text, extra fields included, must be the general validator's.
    data = full_run().to_dict()
    change(data)   # type: ignore[operator]
    data = _as_parsed(data)
    assert schema.check_fields(data, parsed=True) == schema.check_fields(data)
    record = data["query_history"][0]
    assert (schema.check_fields(record, "query_history[]", parsed=True)
            == schema.check_fields(record, "query_history[]"))
