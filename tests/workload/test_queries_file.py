"""The queries/answers loaders: ids, answers by id, bad answer lines named, the project's math queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.workload.queries import load_queries

from ..conftest import write



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
