"""The first hour of a new user (issue 11): README, BOM, file modes, `runs`, pipes, the API's detail."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.results import storage
from slm_energy_plugin.workload.queries import load_queries

from ..results.test_schema import full_run

ROOT = Path(__file__).resolve().parents[2]


def test_readme_commands_use_the_venv_and_the_main_job_is_offline() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    bare = [line for line in lines if re.match(r"(pytest|slm-energy)\b", line)]
    assert bare == [], "README runs a bare pytest/slm-energy (another environment's, without the plugin)"
    quick = text.split("## Quick start")[1].split("```bash")[1]
    main_job = next(line for line in quick.splitlines() if "pytest benchmarks" in line)
    assert "--energy-offline" in main_job


def test_a_bom_is_not_part_of_the_first_query(tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_bytes("\ufeffWhat is 7 + 5?\nWhat is 9 times 8?\n".encode("utf-8"))
    (tmp_path / "answers.jsonl").write_bytes(b'\xef\xbb\xbf{"id": "q001", "answer": "12"}\n')
    loaded = load_queries(queries)
    assert loaded[0].prompt == "What is 7 + 5?" and loaded[0].answer == "12"


def test_results_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        [path] = storage.write_model_runs(tmp_path, [full_run()])
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_runs_lists_candidates_and_compare_says_which_it_picked(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results"
    done = results / "20260101T000000Z-aaaaaa"
    storage.write_model_runs(done, [full_run()])
    broken = results / "20260102T000000Z-bbbbbb"
    broken.mkdir()
    (broken / "journal.jsonl").write_text("{}\n")
    assert main(["runs", "--results-dir", str(results)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(str(done)) and "1 model file" in out[0] and "picks this one" in out[0]
    assert "interrupted (journal only: slm-energy recover)" in out[1]
    assert main(["compare", "--results-dir", str(results), "--metrics", "latency"]) == 0
    err = capsys.readouterr().err
    assert f"comparing {done}: the newest run with model files" in err and "slm-energy runs" in err


def test_a_closed_pipe_is_no_traceback() -> None:
    command = (f"{sys.executable} -m slm_energy_plugin.cli estimate --in-tokens 2000 --out-tokens 500 "
               "--list hardware | true")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr


def test_the_api_answers_a_negative_tokens_in_with_one_line() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from slm_energy_plugin.api.application import create_app
    from slm_energy_plugin.carbon.config import load_config

    with TestClient(create_app(load_config(include_user=False))) as client:
        response = client.post("/estimate", json={"tokens_in": -5, "tokens_out": 10, "region": "usa",
                                                  "hardware": "a100"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.startswith("tokens_in: ")
    json.dumps(response.json())


def test_long_lines_are_wrapped_to_the_terminal(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["estimate", "--in-tokens", "2000", "--out-tokens", "500", "--region", "usa",
                 "--hardware", "a100"]) == 0
    out = capsys.readouterr().out.splitlines()
    method = next(i for i, line in enumerate(out) if line.startswith("Method:"))
    assert len(out[method]) <= 100 and out[method + 1].startswith("  ")   # was one line of ~250
    assert main(["models", "--offline"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in rows) <= 130                      # rows were up to 392


def test_wording_counts_are_singular_when_one() -> None:
    from slm_energy_plugin.number_format import accuracy, plural

    assert plural(1, "model") == "1 model" and plural(2, "query", "queries") == "2 queries"
    assert accuracy(5, 116, 0.02, 0.10) == "5/116 (4% [2%, 10%])"
