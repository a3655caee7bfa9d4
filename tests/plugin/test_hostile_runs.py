"""Runs that meet hostile input or a failing disk: one line, nothing measured lost (issue 11)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from slm_energy_plugin.cli import main

from ..conftest import load_model_json, run_dirs

NAN_SCORE = '''
def test_math_query(slm, math_query):
    slm.ask(math_query)
    slm.record_score({"score": float("nan"), "kind": "custom"})
'''

FILL_ON_SECOND = '''
import errno, os

def test_math_query(slm, math_query):
    slm.ask(math_query)
    slm.record_score({"note": "x" * 20000})   # each journal line needs fresh pages of the disk
    if math_query.id == "q002":   # the results disk fills while this test runs
        with open(os.path.join(os.environ["FILL_DIR"], "filler"), "wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"x" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
'''


def test_energy_compare_on_a_hostile_file_is_a_usage_error(bench_project: pytest.Pytester) -> None:
    bad = bench_project.path / "environmental_data_bad.json"
    bad.write_text('{"model": "m", "query_history": [{"rounds": ' + "9" * 5000 + "}]}")
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--energy-compare", str(bad))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(["ERROR: --energy-compare: *environmental_data_bad.json: a number of 5000 "
                                 "characters (more than 64) is refused"])


def test_a_nan_score_is_stored_as_null_with_a_warning(bench_project: pytest.Pytester) -> None:
    bench_project.makepyfile(test_math=NAN_SCORE)
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--benchmark-disable")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["Warning: tiny-gpt2: q001: record.scores.score was nan, stored as null"])
    [run_dir] = run_dirs(bench_project.path)
    data = load_model_json(run_dir, "tiny-gpt2")
    assert [q["scores"]["score"] for q in data["query_history"]] == [None, None, None]
    assert len(data["warnings"]) == 3 and data["schema_version"] == "1.1"


def test_recover_reads_a_journal_with_nan_written_by_an_older_version(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    record = {"query": "q", "response": "r", "emissions": None, "duration_s": 1.0, "tokens_input": 1,
              "tokens_output": 1, "timestamp": 1, "query_id": "q001", "scores": {"score": float("nan")}}
    (tmp_path / "journal.jsonl").write_text(json.dumps({"kind": "query", "alias": "m", "record": record}) + "\n")
    assert main(["recover", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "environmental_data_m.json").read_text())
    assert data["query_history"][0]["scores"]["score"] is None


@pytest.fixture
def small_disk(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_results_disk_ends_the_session_with_the_recover_hint(
        bench_project: pytest.Pytester, small_disk: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    bench_project.makepyfile(test_math=FILL_ON_SECOND)
    monkeypatch.setenv("FILL_DIR", str(small_disk))
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--benchmark-disable",
                                     "--energy-results-dir", str(small_disk / "results"))
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert result.parseoutcomes().get("passed") == 2          # stopped after the test that filled the disk
    result.stdout.fnmatch_lines(["*could not append to the journal in * (No space left on device)*"])
    result.stdout.fnmatch_lines(["*records the journal missed were saved to *; run `slm-energy recover *"])
    [run_dir] = [p for p in (small_disk / "results").iterdir() if p.is_dir()]
    saved = output.split("were saved to ")[1].split(" ")[0]
    (small_disk / "filler").unlink()                          # the problem is fixed
    with open(run_dir / "journal.jsonl", "a", encoding="utf-8") as journal:
        journal.write(Path(saved).read_text(encoding="utf-8"))
    Path(saved).unlink()
    capsys.readouterr()
    assert main(["recover", str(run_dir)]) == 0
    data = json.loads((run_dir / "environmental_data_tiny-gpt2.json").read_text())
    assert [q["query_id"] for q in data["query_history"]] == ["q001", "q002"]   # nothing measured was lost
