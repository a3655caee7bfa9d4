"""`slm-energy export --format seed|xlsx|experiment`: the seeds' own file shapes, read back as their tools read them."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.results.records import SEED_MODEL_FIELDS, SEED_QUERY_FIELDS
from slm_energy_plugin.results.storage import load_run_dir, load_runs, write_model_runs

from ..run_factory import make_run

# The math benchmark's three models, as this project's registry runs them (data/models.json).
SEED_MODELS = {"gpt2": "openai-community/gpt2", "phi2": "microsoft/phi-2",
               "deepseek-r1-1.5b": "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"}


@pytest.fixture
def seed_models_run(tmp_path: Path) -> Path:
    runs = []
    for i, (alias, hub_id) in enumerate(SEED_MODELS.items()):
        run = make_run(alias, [10.0 + i, 12.0 + i, 9.0 + i], correct=[True, False, True])
        runs.append(replace(run, info=replace(run.info, model_id=hub_id)))
    folder = tmp_path / "run"
    folder.mkdir()
    write_model_runs(folder, runs)
    return folder


def test_seed_export_writes_the_three_files_its_analysis_scripts_open(seed_models_run: Path, tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "seed"
    assert main(["export", str(seed_models_run), "--format", "seed", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "environmental_data_deepseek.json", "environmental_data_gpt2.json", "environmental_data_phi2.json"]
    ours = {run.info.model_id: run for run in load_run_dir(seed_models_run)}
    for short, hub_id in (("gpt2", "openai-community/gpt2"), ("phi2", "microsoft/phi-2"),
                          ("deepseek", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B")):
        data = json.loads((out / f"environmental_data_{short}.json").read_text())
        # Flat: the seed's fields only, in its order; nothing nested but the query history.
        assert list(data) == list(SEED_MODEL_FIELDS)
        assert all(list(item) == list(SEED_QUERY_FIELDS) for item in data["query_history"])
        run = ours[hub_id]
        assert data["model"] == hub_id and data["total_queries"] == 3
        assert data["total_emissions"] == pytest.approx(sum(r.emissions_kg for r in run.records))
        assert data["avg_emissions_per_query"] == pytest.approx(data["total_emissions"] / 3)
        assert [q["emissions"] for q in data["query_history"]] == [r.emissions_kg for r in run.records]
        assert [q["timestamp"] for q in data["query_history"]] == [0, 1, 2]
    # The project reads them back as seed files.
    assert {r.source_format for r in load_runs([out])} == {"seed"}
    capsys.readouterr()
    # Never overwritten: a second export refuses in one line and writes nothing.
    before = (out / "environmental_data_gpt2.json").read_bytes()
    assert main(["export", str(seed_models_run), "--format", "seed", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already exists" in err
    assert (out / "environmental_data_gpt2.json").read_bytes() == before


def test_seed_names_for_other_models_and_their_mistakes(real_run: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "seed"
    assert main(["export", str(real_run), "--format", "seed", "-o", str(out), "--seed-name", "tiny-gpt2=gpt2",
                 "--seed-name", "tiny-phi=phi2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["environmental_data_gpt2.json", "environmental_data_phi2.json"]
    data = json.loads((out / "environmental_data_gpt2.json").read_text())
    assert data["model"] == "slm-energy/tiny-gpt2" and data["total_queries"] == 4
    for args, words in ((["--seed-name", "tiny-gpt2"], "write ALIAS=NAME"),
                        (["--seed-name", "gpt2=x"], "not in the run"),
                        (["--seed-name", "tiny-gpt2=a", "--seed-name", "tiny-phi=a"], "would both be written")):
        capsys.readouterr()
        assert main(["export", str(real_run), "--format", "seed", "-o", str(tmp_path / "other"), *args]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1


def test_xlsx_has_a_summary_sheet_and_one_sheet_of_records_per_model(real_run: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "math.xlsx"
    assert main(["export", str(real_run), "--format", "xlsx", "-o", str(target)]) == 0
    book = load_workbook(target, read_only=True)
    assert book.sheetnames == ["summary", "tiny-gpt2", "tiny-phi", "units"]
    runs = {run.alias: run for run in load_run_dir(real_run)}
    summary = list(book["summary"].iter_rows(values_only=True))
    header, rows = summary[0], {row[0]: dict(zip(summary[0], row)) for row in summary[1:]}
    assert header[:4] == ("model", "model_id", "device", "total_queries")
    for alias, run in runs.items():
        seed = run.to_dict()
        assert rows[alias]["total_queries"] == 4
        assert rows[alias]["total_emissions_kg"] == pytest.approx(seed["total_emissions"])
        assert rows[alias]["energy_provenance"] == run.energy_provenance
        sheet = list(book[alias].iter_rows(values_only=True))
        records = [dict(zip(sheet[0], row)) for row in sheet[1:]]
        assert [r["query_id"] for r in records] == [r.query_id for r in run.records]
        assert [r["response"] for r in records] == [r.response for r in run.records]
        assert [r["emissions_kg"] for r in records] == pytest.approx([r.emissions_kg for r in run.records])
        assert [r["correct"] for r in records] == [r.scores.get("correct") for r in run.records]


def test_experiment_export_is_one_file_named_by_the_runs_start(real_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "exp"
    assert main(["export", str(real_run), "--format", "experiment", "-o", str(out)]) == 0
    [file] = list(out.iterdir())
    match = re.fullmatch(r"experiment_results_(\d{8}_\d{6})\.json", file.name)
    assert match
    runs = load_run_dir(real_run)
    started = datetime.fromisoformat(min(r.started_at for r in runs).replace("Z", "+00:00"))
    assert match.group(1) == started.strftime("%Y%m%d_%H%M%S")
    data = json.loads(file.read_text())
    assert set(data) == {"experiment_info", "model_info", "results", "summary"}
    assert data["experiment_info"]["total_tests"] == len(data["results"]) == sum(len(r.records) for r in runs)
    first = data["results"][0]
    assert {"model", "task_type", "prompt", "response", "reference_text", "max_tokens", "temperature",
            "duration_s", "energy_kwh", "energy_provenance", "emissions_kg", "cpu_percent_mean",
            "memory_mb_peak"} <= set(first)
    assert data["summary"]["tiny-gpt2"]["addition"]["n"] == 3
