"""Settings resolution, the queries/answers loaders, records, storage and the summary renderer."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from slm_energy_plugin.results import storage
from slm_energy_plugin.energy.intensity import carbon_context
from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.errors import ConfigError, SlmEnergyError
from slm_energy_plugin.workload.queries import load_queries
from slm_energy_plugin.results.records import ModelInfo, ModelRun, QueryRecord, validate_model_dict
from slm_energy_plugin.render.summary import fmt, provenance_sentence, render_brief, render_model_table
from slm_energy_plugin.render.format import LineCollector
from slm_energy_plugin.settings import OPTIONS, build_settings

ESTIMATED = {"cpu": "cpu-load-estimate", "gpu": "absent", "ram": "ram-constant-estimate"}


def test_every_option_has_an_ini_twin_and_a_default_in_help() -> None:
    names = {spec.option for spec in OPTIONS}
    required = {"--energy-report", "--energy-models", "--energy-results-dir", "--energy-meter", "--energy-country",
                "--energy-pue", "--energy-max-new-tokens", "--energy-warmup", "--energy-idle-seconds",
                "--energy-repeat", "--energy-offline"}
    assert required <= names
    assert all(spec.dest == "energy_" + spec.name.replace("-", "_") for spec in OPTIONS)


def test_precedence_cli_over_ini_over_default(tmp_path: Path) -> None:
    settings = build_settings({"energy_repeat": "3", "energy_models": None},
                              {"energy_repeat": "2", "energy_models": "tiny-gpt2, tiny-phi", "energy_pue": "1.2"},
                              tmp_path, environ={})
    assert settings.repeat == 3
    assert settings.models == ("tiny-gpt2", "tiny-phi")
    assert settings.pue == 1.2
    assert settings.results_dir == tmp_path / "results"
    assert settings.country == "USA" and settings.meter == "codecarbon" and not settings.offline


def test_hf_hub_offline_turns_offline_on(tmp_path: Path) -> None:
    assert build_settings({}, {}, tmp_path, environ={"HF_HUB_OFFLINE": "1"}).offline
    assert not build_settings({}, {}, tmp_path, environ={"HF_HUB_OFFLINE": "0"}).offline


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_queries_with_answers(tmp_path: Path) -> None:
    queries = write(tmp_path / "q.txt", "# header\nWhat is 1 + 1?\n\nWhat is 2 + 2?\n")
    answers = write(tmp_path / "a.jsonl", '{"id": "q002", "answer": 4, "task": "math", "difficulty": "easy"}\n')
    loaded = load_queries(queries, answers)
    assert [(q.id, q.prompt, q.answer) for q in loaded] == [("q001", "What is 1 + 1?", None),
                                                            ("q002", "What is 2 + 2?", "4")]


@pytest.mark.parametrize(("line", "message"), [
    ('{"answer": "4"}', "line 2: missing 'id'"),
    ('{"id": "q009", "answer": "4"}', "line 2: id 'q009' matches no query"),
    ('{"id": "q001", "answer": "5"}', "line 2: id 'q001' appears twice"),
    ('{"id": "q002", "answer": [4]}', "line 2: 'answer' must be a string or a number"),
    ('[1, 2]', "line 2: expected a JSON object"),
])
def test_bad_answer_lines_are_named(tmp_path: Path, line: str, message: str) -> None:
    queries = write(tmp_path / "q.txt", "What is 1 + 1?\nWhat is 2 + 2?\n")
    answers = write(tmp_path / "a.jsonl", '{"id": "q001", "answer": "2"}\n' + line + "\n")
    with pytest.raises(ConfigError, match=message):
        load_queries(queries, answers)


def test_the_projects_math_queries_have_answers() -> None:
    queries = load_queries()
    assert len(queries) >= 50
    assert all(q.answer is not None and q.task == "math" for q in queries)
    assert {q.difficulty for q in queries} == {"easy", "medium", "hard"}


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
    seed = {"model": "microsoft/phi-2", "device": "cuda", "total_emissions": 2e-6, "total_queries": 2,
            "avg_emissions_per_query": 1e-6, "total_time_s": 3.0, "avg_time_s_per_query": 1.5,
            "query_history": [
                {"query": "a", "response": "b", "emissions": 1e-6, "duration_s": 1.0, "tokens_input": 3,
                 "tokens_output": 9, "timestamp": 0},
                {"query": "c", "response": "d", "emissions": 1e-6, "duration_s": 2.0, "tokens_input": 3,
                 "tokens_output": 9, "timestamp": 1}]}
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


def test_summary_says_estimates_are_estimates() -> None:
    collector = LineCollector()
    lines = collector.lines
    runs = [model_run("tiny-a"), model_run("b", weights="pretrained"), model_run("deepseek-r1-1.5b")]
    render_model_table(runs, collector)
    render_brief(runs, collector)
    assert provenance_sentence(runs).startswith("Energy: ESTIMATED, not measured")
    brief = {line.split()[0]: line.split() for line in lines[-4:-1]}
    assert brief["tiny-a"] == ["tiny-a", "3", "7.2", "0.2", "10", "-", "estimated", "untrained"]
    assert brief["b"][-1] == "pretrained"
    assert lines[-1] == "untrained: untrained tiny model: its cost is real, its answers are not."
    assert max(len(line) for line in lines if not line.startswith(("Energy", "Medians"))) <= 80


def test_fmt_keeps_small_numbers_readable() -> None:
    assert fmt(None) == "-" and fmt(0) == "0" and fmt(7.2) == "7.2" and fmt(3.05e-05) == "3.05e-05"
    assert fmt(123456.0) == "1.23e+05"


def test_meter_warnings_are_counted_in_the_summary() -> None:
    from dataclasses import replace

    run = model_run("m")
    flagged = replace(run.records[0].energy, warnings=("CodeCarbon reported zero energy for this window",))
    run = replace(run, records=(replace(run.records[0], energy=flagged),) + run.records[1:])
    collector = LineCollector()
    from slm_energy_plugin.render.summary import render_summary

    render_summary([run], collector, full=False, metrics=("energy",))
    assert "Meter warning (1 query): CodeCarbon reported zero energy for this window" in collector.lines
