"""`--energy-task-data sql=PATH,mmlu=PATH`: the real Spider dev set and MMLU test files, in exactly their
published layouts (Spider: dev.json + database/<db_id>/<db_id>.sqlite; MMLU: data/test/<subject>_test.csv,
no header), replace the small built-in sets and are recorded in run.json."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.workload.task_data import load_task_data, parse_task_data

from ..conftest import load_model_json, run_dirs

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# Two items as Spider's dev.json writes them (its extra fields included; the reader ignores them).
SPIDER_DEV = [
    {"db_id": "concert_singer", "query": "SELECT count(*) FROM singer",
     "query_toks": ["SELECT", "count", "(", "*", ")", "FROM", "singer"],
     "query_toks_no_value": ["select", "count", "(", "*", ")", "from", "singer"],
     "question": "How many singers do we have?",
     "question_toks": ["How", "many", "singers", "do", "we", "have", "?"], "sql": {"from": {}, "select": []}},
    {"db_id": "concert_singer", "query": "SELECT name ,  country ,  age FROM singer ORDER BY age DESC",
     "query_toks": [], "query_toks_no_value": [],
     "question": "Show name, country, age for all singers ordered by age from the oldest to the youngest.",
     "question_toks": [], "sql": {}},
]
MMLU = {
    "astronomy": [["What is true for a type-Ia (\"type one-a\") supernova?", "This type occurs in binary systems.",
                   "This type occurs in young galaxies.", "This type produces gamma-ray bursts.",
                   "This type produces high amounts of X-rays.", "A"]],
    "high_school_mathematics": [["If a, b, and c are consecutive integers and a < b < c, which of the following "
                                 "must be true?", "c - a = 2", "abc is even", "(a + b + c)/3 is an integer",
                                 "All of the above", "D"],
                                ["What is 2 + 2?", "3", "4", "5", "22", "B"]],
}


def make_spider(root: Path) -> Path:
    folder = root / "spider"
    db = folder / "database" / "concert_singer"
    db.mkdir(parents=True)
    with sqlite3.connect(db / "concert_singer.sqlite") as conn:
        conn.execute("CREATE TABLE singer (Singer_ID int, Name text, Country text, Age int)")
        conn.executemany("INSERT INTO singer VALUES (?, ?, ?, ?)",
                         [(1, "Joe Sharp", "Netherlands", 52), (2, "Timbaland", "United States", 32)])
    (folder / "dev.json").write_text(json.dumps(SPIDER_DEV, indent=4))
    return folder


def make_mmlu(root: Path) -> Path:
    test = root / "data" / "test"
    test.mkdir(parents=True)
    for subject, rows in MMLU.items():
        with open(test / f"{subject}_test.csv", "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    return root / "data"


def test_the_published_layouts_load(tmp_path: Path) -> None:
    sql = load_task_data("sql", make_spider(tmp_path))
    assert [(t.id, t.db_id, t.query) for t in sql] == [
        ("spider01", "concert_singer", SPIDER_DEV[0]["query"]), ("spider02", "concert_singer", SPIDER_DEV[1]["query"])]
    assert sql[0].db_path.name == "concert_singer.sqlite"
    mmlu = load_task_data("mmlu", make_mmlu(tmp_path))
    assert [(t.id, t.subject, t.answer) for t in mmlu] == [
        ("mmlu-astronomy-01", "astronomy", "A"), ("mmlu-high_school_mathematics-01", "high school mathematics", "D"),
        ("mmlu-high_school_mathematics-02", "high school mathematics", "B")]
    assert parse_task_data("sql=spider, mmlu=data") == (("sql", "spider"), ("mmlu", "data"))
    for bad in ("spider", "code=x", "sql=a,sql=b", ""):
        with pytest.raises(ValueError):
            parse_task_data(bad)
    with pytest.raises(ConfigError, match="no dev.json there"):
        load_task_data("sql", tmp_path / "data")


def test_the_suite_runs_on_the_users_sets_and_records_them(bench_project: pytest.Pytester) -> None:
    (bench_project.path / "test_tasks.py").write_text((BENCHMARKS / "test_tasks.py").read_text())
    make_spider(bench_project.path)
    make_mmlu(bench_project.path)
    result = bench_project.runpytest("test_tasks.py", "--energy-models", "tiny-gpt2", "--energy-task-data",
                                     "sql=spider,mmlu=data", "--energy-meter", "null", "--benchmark-disable",
                                     "-k", "sql_task or choice_task", "-v")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*test_sql_task?tiny-gpt2-spider01? PASSED*",
                                 "*test_choice_task?tiny-gpt2-mmlu-astronomy-01? PASSED*"])
    [run_dir] = run_dirs(bench_project.path)
    settings = json.loads((run_dir / "run.json").read_text())["settings"]
    assert settings["task_data"] == {"sql": str(bench_project.path / "spider"),
                                     "mmlu": str(bench_project.path / "data")}
    records = {r["query_id"]: r for r in load_model_json(run_dir, "tiny-gpt2")["query_history"]}
    assert records["spider01"]["expected"] == "SELECT count(*) FROM singer" and records["spider01"]["task"] == "sql"
    assert records["mmlu-high_school_mathematics-02"]["expected"] == "B"


def test_a_wrong_layout_is_one_usage_line(bench_project: pytest.Pytester) -> None:
    (bench_project.path / "test_tasks.py").write_text((BENCHMARKS / "test_tasks.py").read_text())
    (bench_project.path / "mmlu").mkdir()
    result = bench_project.runpytest("test_tasks.py", "--energy-models", "tiny-gpt2", "--energy-task-data",
                                     "mmlu=mmlu", "--benchmark-disable")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if "task-data" in line]
    assert len(errors) == 1 and "no <subject>_test.csv files" in errors[0]
    assert "Traceback" not in result.stderr.str()
