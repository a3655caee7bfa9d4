"""The task data and its loaders: the committed data is verified, bad files get one clear line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.quality.datasets import (
    build_sqlite_db, builtin_choice_tasks, compact_schema, builtin_code_tasks, builtin_sql_tasks, format_sql_prompt,
    load_humaneval_jsonl, load_mmlu_csv, load_spider, schema_sql,
)
from slm_energy_plugin.quality.python_tests import score_python
from slm_energy_plugin.quality.sql import run_readonly, score_sql


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def sql_tasks(tmp_path_factory: pytest.TempPathFactory):
    return builtin_sql_tasks(build_dir=tmp_path_factory.mktemp("db"))


# --- the committed data ---------------------------------------------------------------

def test_sql_set_size_and_ids(sql_tasks):
    assert len(sql_tasks) >= 20
    assert [t.id for t in sql_tasks[:2]] == ["sql01", "sql02"]
    assert len({t.id for t in sql_tasks}) == len(sql_tasks)


def test_every_reference_query_runs_and_returns_rows(sql_tasks):
    for task in sql_tasks:
        rows = run_readonly(task.db_path, task.query)
        assert rows, f"{task.id}: {task.query} returns no rows"


def test_reference_query_scores_one_against_itself(sql_tasks):
    for task in sql_tasks:
        assert score_sql(f"```sql\n{task.query};\n```", task.query, db_path=task.db_path).correct, task.id


def test_sql_prompt_holds_the_schema(sql_tasks):
    schema = schema_sql(sql_tasks[0].db_path)
    assert "CREATE TABLE books" in schema and "CREATE TABLE order_items" in schema
    prompt = format_sql_prompt(sql_tasks[0].question, schema)
    assert sql_tasks[0].question in prompt and prompt.endswith("-- SQL:\n")
    compact = compact_schema(sql_tasks[0].db_path)
    assert "books(book_id, title, author_id -> authors.author_id, genre, published_year, price, pages)" in compact
    assert len(compact) < len(schema) / 2


def test_choice_set_is_balanced_and_valid():
    tasks = builtin_choice_tasks()
    assert len(tasks) >= 20 and tasks[0].id == "mc01" and tasks[0].subject == "general knowledge"
    answers = [t.answer for t in tasks]
    assert set(answers) == {"A", "B", "C", "D"}
    assert max(answers.count(x) for x in "ABCD") - min(answers.count(x) for x in "ABCD") <= 1


def test_every_canonical_solution_passes_its_tests():
    tasks = builtin_code_tasks()
    assert len(tasks) >= 10 and tasks[0].id == "code01"
    for task in tasks:
        result = score_python(task.canonical_solution, task.test, entry_point=task.entry_point, prompt=task.prompt)
        assert result.correct, f"{task.task_id}: {result.reason}"


def test_the_tests_reject_a_wrong_solution():
    # Guard against tests that pass anything: returning None must fail every task.
    for task in builtin_code_tasks():
        result = score_python("    return None\n", task.test, entry_point=task.entry_point, prompt=task.prompt)
        assert not result.correct, task.task_id


# --- loaders on malformed input --------------------------------------------------------

def test_build_db_is_cached_and_reports_broken_scripts(tmp_path):
    script = tmp_path / "tiny.sql"
    script.write_text("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
    first = build_sqlite_db(script, tmp_path / "out")
    assert build_sqlite_db(script, tmp_path / "out") == first
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE (;")
    with pytest.raises(ConfigError, match="bad.sql does not build a database"):
        build_sqlite_db(bad, tmp_path / "out")
    assert not list((tmp_path / "out").glob(".bad-*"))


def test_spider_layout_and_errors(tmp_path):
    (tmp_path / "shop.sql").write_text("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
    good = tmp_path / "q.json"
    good.write_text(json.dumps([{"db_id": "shop", "question": "How many?", "query": "SELECT count(*) FROM t",
                                 "query_toks": ["SELECT"], "sql": {}}]))
    (task,) = load_spider(good, tmp_path)
    assert task.id == "sql01" and task.db_path.is_file()

    spider_db = tmp_path / "real" / "real.sqlite"
    spider_db.parent.mkdir()
    spider_db.write_bytes(task.db_path.read_bytes())
    real = tmp_path / "r.json"
    real.write_text(json.dumps([{"db_id": "real", "question": "q", "query": "SELECT 1"}]))
    assert load_spider(real, tmp_path)[0].db_path == spider_db

    cases = {
        '[{"db_id": "shop", "question": "q"}]': "item 1: field 'query' is missing",
        '[{"db_id": "shop", "question": "q", "query": "x"},\n 7]': "item 2: expected a JSON object",
        '[{"db_id": "nowhere", "question": "q", "query": "x"}]': "no database for db_id 'nowhere'",
        '{"db_id": "shop"}': "expected a non-empty JSON list",
        '[{"db_id": "shop",\n  "question": "q" "query": "x"}]': "line 2 column",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ConfigError, match="bad.json") as info:
            load_spider(bad, tmp_path)
        assert message in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Q?,a,b,c,d,A\nQ2?,a,b,c,A\n", "line 2: expected 6 fields"),
        ("Q?,a,b,c,d,E\n", "line 1: answer 'E' is not one of A, B, C, D"),
        ("question,A,B,C,D,answer\nQ?,a,b,c,d,A\n", "line 1 is a header"),
        ("Q?,a,,c,d,A\n", "line 1: the question and all four options must be non-empty"),
        ("", "no questions"),
    ],
)
def test_mmlu_errors_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "astronomy_test.csv"
    path.write_text(content)
    with pytest.raises(ConfigError, match="astronomy_test.csv") as info:
        load_mmlu_csv(path)
    assert message in str(info.value)


def test_mmlu_quoting_subject_and_lowercase_key(tmp_path):
    path = tmp_path / "high_school_physics_test.csv"
    path.write_text('"What is 1,000 m in km?",1,10,"1,000",0.1,a\n')
    (task,) = load_mmlu_csv(path)
    assert task.subject == "high school physics" and task.options[2] == "1,000" and task.answer == "A"


def test_humaneval_jsonl_plain_gzip_and_errors(tmp_path):
    item = {"task_id": "HumanEval/0", "prompt": "def f():\n", "canonical_solution": "    return 1\n",
            "test": "def check(c):\n    assert c() == 1\n", "entry_point": "f"}
    plain = tmp_path / "he.jsonl"
    plain.write_text(json.dumps(item) + "\n\n")
    (task,) = load_humaneval_jsonl(plain)
    assert task.id == "code01" and task.task_id == "HumanEval/0"
    packed = tmp_path / "HumanEval.jsonl.gz"
    with gzip.open(packed, "wt") as f:
        f.write(json.dumps(item) + "\n")
    assert load_humaneval_jsonl(packed)[0].entry_point == "f"

    cases = [
        (json.dumps(item) + "\n{not json\n", "line 2: invalid JSON"),
        (json.dumps({**item, "test": ""}), "line 1: field 'test' is missing or not a non-empty string"),
        (json.dumps({**item, "entry_point": "f()"}), "line 1: entry_point 'f()' is not a Python identifier"),
        (json.dumps(item) + "\n" + json.dumps(item), "line 2: task_id 'HumanEval/0' repeats line 1"),
        ("\n", "no tasks"),
    ]
    for text, message in cases:
        bad = tmp_path / "bad.jsonl"
        bad.write_text(text)
        with pytest.raises(ConfigError, match="bad.jsonl") as info:
            load_humaneval_jsonl(bad)
        assert message in str(info.value)
    with pytest.raises(ConfigError, match="cannot read"):
        load_humaneval_jsonl(tmp_path / "missing.jsonl")
