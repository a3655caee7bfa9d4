"""The project's training split: valid, executable, and disjoint from the evaluation questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.finetune.data import builtin_train_file, load_sql_training_set, load_training_tasks
from slm_energy_plugin.finetune.split import check_disjoint, normalise_question, shared_questions
from slm_energy_plugin.quality.datasets import builtin_sql_tasks, tasks_dir
from slm_energy_plugin.quality.sql import run_readonly, score_sql

from .conftest import small_training_file


def _sql_key(sql: str) -> str:
    return " ".join(sql.casefold().split())


def test_training_split_size_and_every_query_executes_with_rows() -> None:
    tasks = load_training_tasks(builtin_train_file())
    assert 60 <= len(tasks) <= 120
    assert {t.db_id for t in tasks} == {"bookshop"}
    for task in tasks:
        rows = run_readonly(task.db_path, task.query)
        assert rows, f"{task.question!r}: the key returns no rows (every answer would match an empty result)"
        # The key scores as correct against itself through the benchmark's own scorer.
        assert score_sql(task.query, task.query, db_path=task.db_path).correct, task.question


def test_training_split_shares_no_question_and_no_query_with_the_evaluation_split() -> None:
    train = load_training_tasks(builtin_train_file())
    evaluation = builtin_sql_tasks()
    assert shared_questions([t.question for t in train], [t.question for t in evaluation]) == []
    # Stronger than the rule: not even the same SQL, so a gain cannot come from a memorised key.
    assert not {_sql_key(t.query) for t in train} & {_sql_key(t.query) for t in evaluation}
    assert len(load_sql_training_set()) == len(train)   # the train-time check passes on the shipped split


def test_normalised_questions_ignore_case_spacing_and_punctuation() -> None:
    assert normalise_question("  How many  BOOKS are there?") == normalise_question("how many books are there")
    assert normalise_question("Books 'Fiction'") != normalise_question("Books Travel")
    assert shared_questions(["How many books are there!"], ["How many books are there?"]) == \
        ["How many books are there!"]


def test_an_overlapping_split_is_refused_with_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        check_disjoint(["What is the average price of a book ?", "Other"], ["What is the average price of a book?"],
                       train_name="t.json", eval_name="q.json")
    message = str(caught.value)
    assert "\n" not in message and "shares 1 question with" in message and "t.json" in message


def test_the_command_refuses_training_data_holding_an_evaluation_question(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = small_training_file(tmp_path / "data", count=3)
    items = json.loads(data.read_text())
    items.append(json.loads((tasks_dir() / "sql" / "questions.json").read_text())[4])   # an evaluation pair
    data.write_text(json.dumps(items))
    code = main(["finetune", "tiny-gpt2", "--data", str(data), "--output", str(tmp_path / "out"), "--meter", "null"])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "out").exists()
    assert err.count("\n") == 1 and "shares 1 question with the evaluation split" in err
    assert "What is the title of the book with the most pages?" in err


@pytest.mark.parametrize("mutate, expected", [
    (lambda items: items + [dict(items[0])], "repeats the question of item 1"),
    (lambda items: [{"db_id": "bookshop", "question": "q?"}], "field 'query' is missing"),
    (lambda items: [dict(items[0], query="SELECT nope FROM books")], "reference query does not run"),
    (lambda items: [dict(items[0], db_id="nowhere")], "no database for db_id 'nowhere'"),
    (lambda items: {"not": "a list"}, "expected a non-empty JSON list"),
])
def test_bad_training_files_give_one_line(tmp_path: Path, mutate, expected: str) -> None:
    data = small_training_file(tmp_path, count=2)
    data.write_text(json.dumps(mutate(json.loads(data.read_text()))))
    with pytest.raises(ConfigError) as caught:
        load_sql_training_set(data)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
