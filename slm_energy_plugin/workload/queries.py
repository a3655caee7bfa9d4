"""Queries to ask and the answers to expect.

``queries.txt`` keeps the seed's format: one query per line (blank lines and lines
starting with ``#`` are skipped); the n-th query gets the id ``q{n:03d}``. Expected
answers live beside it in ``answers.jsonl``: one JSON object per line with ``id``,
``answer`` and optionally ``task`` (default ``math``) and ``difficulty``.
"""

from __future__ import annotations

from typing import Any
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..paths import data_dir
from ..textfile import parse_json, read_text

DEFAULT_QUERIES = "queries.txt"
DEFAULT_ANSWERS = "answers.jsonl"


@dataclass(frozen=True)
class Query:
    id: str
    prompt: str
    answer: str | None = None
    task: str = "math"
    difficulty: str | None = None
    scorer: str = "numeric"

    def __str__(self) -> str:  # shows as the prompt wherever a string is expected
        return self.prompt


def parse_queries(text: str, source: str) -> list[Query]:
    queries: list[Query] = []
    for line in text.splitlines():
        prompt = line.strip()
        if not prompt or prompt.startswith("#"):
            continue
        queries.append(Query(id=f"q{len(queries) + 1:03d}", prompt=prompt))
    if not queries:
        raise ConfigError(f"queries file {source!r} holds no queries (one query per line expected)")
    return queries


def parse_answers(text: str, source: str, query_ids: set[str]) -> dict[str, dict[str, Any]]:
    answers: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}, line {number}"
        try:
            item = parse_json(line, where)   # bounded: no 5000-digit numbers, no deep nesting
        except ConfigError as exc:
            raise ConfigError(f"{exc}; each line must be one JSON object") from None
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a JSON object with 'id' and 'answer'")
        qid, answer = item.get("id"), item.get("answer")
        if not isinstance(qid, str) or not qid:
            raise ConfigError(f"{where}: missing 'id' (a query id such as \"q001\")")
        if answer is None or isinstance(answer, (dict, list, bool)):
            raise ConfigError(f"{where}: 'answer' must be a string or a number")
        if qid not in query_ids:
            raise ConfigError(f"{where}: id {qid!r} matches no query (the queries file has "
                              f"{len(query_ids)} queries, q001..q{len(query_ids):03d})")
        if qid in answers:
            raise ConfigError(f"{where}: id {qid!r} appears twice")
        answers[qid] = item
    return answers


def load_queries(queries_path: Path | None = None, answers_path: Path | None = None) -> list[Query]:
    """Queries with their expected answers; ``None`` paths mean the project's defaults."""
    queries_path = queries_path or data_dir() / DEFAULT_QUERIES
    text = read_text(queries_path, f"queries file {str(queries_path)!r}", "pass --energy-queries PATH")
    queries = parse_queries(text, str(queries_path))
    if answers_path is None:
        beside = queries_path.parent / DEFAULT_ANSWERS
        if not beside.is_file():
            return queries
        answers_path = beside
    text = read_text(answers_path, f"answers file {str(answers_path)!r}", "pass --energy-answers PATH")
    answers = parse_answers(text, str(answers_path), {q.id for q in queries})
    merged = []
    for query in queries:
        item = answers.get(query.id)
        if item is None:
            merged.append(query)
            continue
        merged.append(Query(
            id=query.id,
            prompt=query.prompt,
            answer=str(item["answer"]),
            task=str(item.get("task", "math")),
            difficulty=item.get("difficulty"),
            scorer=str(item.get("scorer", "numeric")),
        ))
    return merged
