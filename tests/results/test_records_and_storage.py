"""Records round-trip with the seed fields; storage: atomic writes, new run folders, the journal, bad files."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from slm_energy_plugin.energy.intensity import carbon_context
from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.errors import SlmEnergyError
from slm_energy_plugin.results import storage
from slm_energy_plugin.results.records import ModelInfo, ModelRun, QueryRecord, validate_model_dict

from ..conftest import write
from ..run_factory import ESTIMATED, seed_model_dict



def record(qid: str, kwh: float | None, seconds: float, tokens: int = 10, outcome: str = "passed") -> QueryRecord:
    energy = EnergyReading(seconds, kwh, None, 0.0 if kwh is not None else None, ESTIMATED, "codecarbon")
    carbon = carbon_context("USA")
    return QueryRecord(model="m", query_id=qid, query=f"query {qid}", response="42", tokens_input=5,
                       tokens_output=tokens, duration_s=seconds, sequence=int(qid[1:]), outcome=outcome,
                       energy=energy, emissions_kg=carbon.emissions_kg(kwh), ttft_s=0.01)


def model_run(alias: str = "m", weights: str = "untrained") -> ModelRun:
    records = (record("q001", 1e-6, 0.1), record("q002", 3e-6, 0.3), record("q003", 2e-6, 0.2))
    return ModelRun(info=ModelInfo(alias=alias, model_id=f"org/{alias}", weights=weights),
                    records=records, carbon=carbon_context("USA"), run_id="abc")


def test_model_run_round_trips_and_keeps_the_seed_fields() -> None:
    run = model_run()
    data = json.loads(json.dumps(run.to_dict()))
    assert validate_model_dict(data) == []
    assert data["total_queries"] == 3
    assert data["total_time_s"] == pytest.approx(0.6)
    assert data["avg_emissions_per_query"] == pytest.approx(data["total_emissions"] / 3)
    assert list(data["query_history"][0])[:7] == ["query", "response", "emissions", "duration_s", "tokens_input",
                                                  "tokens_output", "timestamp"]
    again = ModelRun.from_dict(data)
    assert again.records == run.records and again.info == run.info


def test_seed_format_files_are_read() -> None:
    seed = seed_model_dict("microsoft/phi-2", emissions_kg=[1e-6, 1e-6], durations=[1.0, 2.0])
    assert validate_model_dict(seed) == []
    run = ModelRun.from_dict(seed, fallback_alias="phi2")
    assert run.source_format == "seed" and run.alias == "phi2"
    assert [r.query_id for r in run.records] == ["q001", "q002"]
    assert run.records[1].emissions_kg == 1e-6 and run.records[1].energy is None


def test_validation_names_problems() -> None:
    data = model_run().to_dict()
    data["query_history"][1]["outcome"] = "maybe"
    del data["query_history"][0]["tokens_output"]
    problems = validate_model_dict(data)
    assert "query_history[0] misses 'tokens_output'" in problems
    assert any("query_history[1].outcome 'maybe'" in p for p in problems)


def test_atomic_write_never_leaves_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    storage.atomic_write_json(target, {"a": 1})
    with pytest.raises(ValueError):
        storage.atomic_write_json(target, {"a": float("nan")})  # NaN is not JSON: refused mid-write
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_run_dirs_are_always_new(tmp_path: Path) -> None:
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    dirs = {storage.new_run_dir(tmp_path, now=moment) for _ in range(5)}
    assert len(dirs) == 5


def test_journal_survives_a_torn_last_line(tmp_path: Path) -> None:
    journal = storage.Journal(tmp_path / "journal.jsonl")
    journal.append({"kind": "query", "n": 1})
    journal.close()
    with open(tmp_path / "journal.jsonl", "a") as handle:
        handle.write('{"kind": "query", "n"')
    assert list(storage.read_journal(tmp_path / "journal.jsonl")) == [{"kind": "query", "n": 1}]


def test_loading_reports_bad_files_in_one_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "environmental_data_x.json", "{not json")
    with pytest.raises(SlmEnergyError, match=r"not valid JSON \(line 1"):
        storage.load_model_file(bad)
    other = write(tmp_path / "other.json", '{"hello": 1}')
    with pytest.raises(SlmEnergyError, match="missing field 'model'"):
        storage.load_model_file(other)
    with pytest.raises(SlmEnergyError, match="holds no finished run"):
        storage.latest_run_dir(tmp_path)


def test_latest_run_dir_and_load_runs(tmp_path: Path) -> None:
    older = storage.new_run_dir(tmp_path, now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    newer = storage.new_run_dir(tmp_path, now=datetime(2026, 2, 1, tzinfo=timezone.utc))
    storage.write_model_runs(older, [model_run("a")])
    storage.write_model_runs(newer, [model_run("b"), model_run("c")])
    assert storage.latest_run_dir(tmp_path) == newer
    assert [r.alias for r in storage.load_runs([newer, older / "environmental_data_a.json"])] == ["b", "c", "a"]


@pytest.mark.parametrize("data", [
    record("q007", 2e-6, 0.2).to_dict(),                                     # every field of ours
    {"query": "q", "response": "r", "emissions": None, "duration_s": 1, "tokens_input": 3,
     "tokens_output": 4, "timestamp": 2},                                  # the seed's fields only
    {"query": "q", "energy": {"window_s": 1, "cpu_kwh": 1e-6, "methods": {"cpu": "rapl"}}},
])
def test_records_read_without_init_equal_the_ones_init_makes(data: dict[str, object]) -> None:
    # from_dict builds instances without __init__ (bulk.frozen_instance): each must hold every
    # field, equal to, hashable and printed as the instance the dataclass's own __init__ makes.
    read = QueryRecord.from_dict(data, model="m", position=6)
    assert list(vars(read)) == [f.name for f in dataclasses.fields(QueryRecord)]
    if read.energy is not None:   # and the cached figures, filled as the properties would
        assert list(vars(read.energy)) == [f.name for f in dataclasses.fields(EnergyReading)] + [
            "total_kwh", "provenance"]
    made = QueryRecord(**{f.name: getattr(read, f.name) for f in dataclasses.fields(QueryRecord)})
    assert read == made and repr(read) == repr(made) and read.energy_kwh == made.energy_kwh
    if read.energy is not None:
        energy = EnergyReading(**{f.name: getattr(read.energy, f.name) for f in dataclasses.fields(EnergyReading)})
        assert (read.energy == energy and read.energy.total_kwh == energy.total_kwh
                and read.energy.provenance == energy.provenance)
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.query = "changed"  # type: ignore[misc]
    assert dataclasses.replace(read, model="n").model == "n"


def test_a_run_read_adopting_its_dicts_equals_one_read_with_copies() -> None:
    # load_model_file lets the records keep the parsed file's dicts (adopt=True); everyone else gets
    # copies, so changing the dict they read from changes no record.
    data = json.loads(json.dumps(model_run().to_dict()))
    data["query_history"][0].update(scores={"score": 1.0}, extra={"health": "ok"})
    copied, adopted = ModelRun.from_dict(data), ModelRun.from_dict(data, adopt=True)
    assert adopted == copied and repr(adopted) == repr(copied)
    first = data["query_history"][0]
    assert adopted.records[0].scores is first["scores"] and adopted.records[0].extra is first["extra"]
    assert adopted.records[0].energy is not None and adopted.records[0].energy.methods is first["energy"]["methods"]
    first["scores"]["score"], first["energy"]["methods"]["cpu"] = 0.0, "rapl"
    assert copied.records[0].scores == {"score": 1.0} and copied.records[0].energy is not None
    assert copied.records[0].energy.methods == ESTIMATED


@pytest.mark.parametrize("secret", ["", "token=abc"])
def test_a_long_number_in_a_model_file_is_refused_with_or_without_text_to_redact(tmp_path: Path,
                                                                                  secret: str) -> None:
    # load_model_file searches once for both (an over-long number, text redaction may change) and
    # tells parse_json when there is no long number: a file holding one is still refused.
    data = model_run().to_dict()
    data["query_history"][0]["extra"] = {"note": secret}
    text = json.dumps(data).replace('"tokens_input": 5', '"tokens_input": ' + "5" * 70, 1)
    path = write(tmp_path / "environmental_data_m.json", text)
    with pytest.raises(SlmEnergyError, match=r"environmental_data_m.json: a number of 70 characters \(more than 64\)"):
        storage.load_model_file(path)
    path.write_text(json.dumps(data))
    assert storage.load_model_file(path).records[0].extra == ({"note": secret.replace("abc", "***")} if secret
                                                              else {"note": ""})
