"""One hand-corrupted model file in a run folder costs that file only (issue 20): compare, report,
export and plot name it in one line and go on with the honest files beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.results import storage

from ..results.test_schema import full_run

CORRUPT = {   # alias -> how its file was corrupted by hand
    "huge": lambda text: text.replace('"tokens_output": 4', '"tokens_output": 1e30'),
    "negative": lambda text: text.replace('"tokens_input": 9', '"tokens_input": -5'),
    "nan": lambda text: text.replace('"duration_s": 0.5', '"duration_s": NaN'),
}


@pytest.fixture
def mixed_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    storage.write_model_runs(run_dir, [full_run().with_alias(alias) for alias in ("good-a", "good-b", *CORRUPT)])
    for alias, corrupt in CORRUPT.items():
        path = run_dir / storage.model_file_name(alias)
        text = path.read_text(encoding="utf-8")
        assert corrupt(text) != text
        path.write_text(corrupt(text), encoding="utf-8")
    return run_dir


def _bad_named_once(err: str, run_dir: Path) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    for alias in CORRUPT:
        [line] = [line for line in lines if storage.model_file_name(alias) in line]
        assert line.startswith(f"slm-energy: skipped {run_dir / storage.model_file_name(alias)}: ")
    assert not any("good-" in line for line in lines)


@pytest.mark.parametrize("command", ["compare", "export", "plot", "report"])
def test_the_honest_files_are_used_and_the_bad_ones_named(mixed_run: Path, tmp_path: Path, command: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    extra = {"compare": ["--format", "json"], "export": ["--format", "jsonl"],
             "plot": ["-o", str(tmp_path / "plots"), "--format", "png"],
             "report": ["-o", str(tmp_path / "report.html")]}[command]
    assert main([command, str(mixed_run), *extra]) == 0
    out, err = capsys.readouterr()
    _bad_named_once(err, mixed_run)
    if command == "compare":
        assert '"good-a"' in out and '"good-b"' in out
        assert not any(f'"{alias}"' in out for alias in CORRUPT)
    elif command == "export":
        assert {json.loads(line)["model"] for line in out.splitlines()} == {"good-a", "good-b"}
    elif command == "plot":
        assert list((tmp_path / "plots").glob("*.png"))
    else:
        html = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert "good-a" in html and "skipped" in html and "environmental_data_huge.json" in html


def test_the_errors_say_why(mixed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(mixed_run), "--format", "jsonl"]) == 0
    err = capsys.readouterr().err
    assert "query_history[0].tokens_output: input should be a valid integer (got 1e+30)" in err
    assert "tokens_input: input should be greater than or equal to 0 (got -5)" in err
    assert "NaN is not a JSON number; refused" in err


def test_a_run_with_only_bad_files_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    storage.write_model_runs(run_dir, [full_run().with_alias("huge")])
    path = run_dir / storage.model_file_name("huge")
    path.write_text(CORRUPT["huge"](path.read_text(encoding="utf-8")), encoding="utf-8")
    assert main(["compare", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err


@pytest.mark.parametrize("command", ["plot", "report"])
def test_a_run_without_any_query_record_is_one_line_not_a_traceback(
        command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """As a served model whose every query failed to connect leaves it: model files with no record."""
    from dataclasses import replace

    run_dir = tmp_path / "run"
    storage.write_model_runs(run_dir, [replace(full_run(), records=())])
    out_args = ["--out", str(tmp_path / "plots")] if command == "plot" else ["-o", str(tmp_path / "r.html")]
    assert main([command, str(run_dir), *out_args]) == 2
    out, err = capsys.readouterr()
    [line] = err.splitlines()
    assert line.startswith(f"slm-energy {command}: error: {run_dir}: no query record in its model files (")
    assert "nothing to plot or report" in line and out == ""
