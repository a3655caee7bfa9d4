"""SQL execution accuracy, and generated SQL that tries to do harm."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.quality import score_answer
from slm_energy_plugin.quality.sql import extract_sql, first_statement, run_readonly, score_sql

KEY = "SELECT name FROM people WHERE age > 30"


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "people.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER, score REAL);"
        "INSERT INTO people VALUES (1, 'Ann', 34, 1.5), (2, 'Bob', 25, 2.0), (3, 'Cy', 41, 2.5), (4, 'Ann', 52, 3.0);"
    )
    conn.commit()
    conn.close()
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_equal_rows_in_any_order_score_one(db):
    result = score_sql("SELECT name FROM people WHERE age > 30 ORDER BY name DESC;", KEY, db_path=db)
    assert result.correct and result.score == 1.0 and result.details == {"rows": 3, "expected_rows": 3}


def test_rows_are_a_multiset(db):
    # DISTINCT drops the second 'Ann': same set, different multiset.
    result = score_sql("SELECT DISTINCT name FROM people WHERE age > 30", KEY, db_path=db)
    assert not result.correct and result.reason == "result rows differ from the key's"


def test_ordered_option(db):
    key = "SELECT name FROM people ORDER BY age"
    assert score_sql("SELECT name FROM people ORDER BY age DESC", key, db_path=db).correct
    assert not score_sql("SELECT name FROM people ORDER BY age DESC", key, db_path=db, ordered=True).correct


def test_numbers_compare_as_values(db):
    assert score_sql("SELECT sum(score) FROM people", "SELECT 9", db_path=db).correct     # 9.0 == 9


def test_extraction_from_prose_fences_and_think():
    assert extract_sql("Here you go:\n```sql\nSELECT 1;\n```\nDone.")[0] == "SELECT 1;"
    assert extract_sql("Sure! select * from t")[0] == "select * from t"
    assert extract_sql("<think>SELECT 2</think>SELECT 3")[0] == "SELECT 3"
    assert extract_sql("<think>SELECT 2")[0] is None
    assert first_statement("SELECT ';' FROM t; -- trailing") == ("SELECT ';' FROM t", "-- trailing")


def test_prose_after_the_statement_is_ignored(db):
    assert score_sql("SELECT name FROM people WHERE age > 30;\nThis lists older people.", KEY, db_path=db).correct


def test_sql_error_is_reported(db):
    result = score_sql("SELECT nme FROM people", KEY, db_path=db)
    assert not result.correct and "no such column" in result.reason


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("DROP TABLE people", "refused on the read-only connection"),
        ("DELETE FROM people", "refused on the read-only connection"),
        ("UPDATE people SET age = 0", "refused on the read-only connection"),
        ("INSERT INTO people VALUES (9, 'Eve', 1, 0)", "refused on the read-only connection"),
        ("CREATE TABLE evil (x)", "refused on the read-only connection"),
        ("PRAGMA writable_schema = 1", "refused on the read-only connection"),
        ("SELECT load_extension('/tmp/evil.so')", "load_extension"),
        ("```sql\nSELECT name FROM people WHERE age > 30; DROP TABLE people;\n```", "more than one SQL statement"),
        ("SELECT 1; DELETE FROM people", "more than one SQL statement"),
        ("SELECT zeroblob(2000000000)", "too big"),
    ],
)
def test_harmful_sql_scores_zero_and_leaves_the_database_alone(db, response, reason):
    before = digest(db)
    result = score_sql(response, KEY, db_path=db)
    assert result.score == 0.0 and not result.correct
    assert reason in result.reason
    assert digest(db) == before
    assert sqlite3.connect(db).execute("SELECT count(*) FROM people").fetchone() == (4,)


def test_attach_cannot_create_or_read_files(db, tmp_path):
    target = tmp_path / "evil.sqlite"
    result = score_sql(f"ATTACH DATABASE '{target}' AS evil", KEY, db_path=db)
    assert result.score == 0.0 and "refused" in result.reason
    assert not target.exists()


def test_runaway_recursive_cte_is_interrupted(db):
    endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    result = score_sql(endless, KEY, db_path=db, timeout_s=0.3)
    assert result.score == 0.0 and "timed out after 0.3 s" in result.reason


def test_endless_rows_are_capped(db):
    endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT x FROM n"
    result = score_sql(endless, KEY, db_path=db, max_rows=1000)
    assert result.score == 0.0 and "more than 1000 rows" in result.reason


def test_broken_key_and_missing_db_are_config_errors(db, tmp_path):
    with pytest.raises(ConfigError, match="expected SQL"):
        score_sql("SELECT 1", "SELECT nothing FROM nowhere", db_path=db)
    with pytest.raises(ConfigError, match="does not exist"):
        score_sql("SELECT 1", "SELECT 1", db_path=tmp_path / "missing.sqlite")
    with pytest.raises(ConfigError, match="db_path"):
        score_answer("SELECT 1", "SELECT 1", kind="sql_execution")


def test_run_readonly_for_trusted_sql(db):
    assert sorted(run_readonly(db, "SELECT id FROM people")) == [(1,), (2,), (3,), (4,)]
    with pytest.raises(ConfigError, match="failed"):
        run_readonly(db, "DROP TABLE people")


def test_one_function_call_that_outlasts_the_limit_is_killed(db):
    # printf's %c repeat loops inside SQLite for seconds without reaching the progress
    # handler; the query process is killed from outside.
    for response in ("SELECT printf('%.*c', 400000000, 'x')",
                     "SELECT length(printf('%.*c', 2000000000, 'x')), printf('%.*c', 2000000000, 'y')"):
        result = score_sql(response, KEY, db_path=db, timeout_s=0.5)
        assert result.score == 0.0 and result.reason == "timed out after 0.5 s (query process killed)"
    before = digest(db)
    assert score_sql(KEY, KEY, db_path=db).correct and digest(db) == before   # the next call is unaffected


def test_values_patterns_and_results_are_bounded(db):
    result = score_sql("SELECT length(replace(hex(zeroblob(400000)), '0', 'xxxx'))", KEY, db_path=db)
    assert result.score == 0.0 and "too big" in result.reason
    result = score_sql("SELECT 'a' GLOB '" + "*a" * 600 + "'", KEY, db_path=db)
    assert result.score == 0.0 and "pattern too complex" in result.reason
    many = ("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 40) "
            "SELECT zeroblob(900000) FROM n")
    result = score_sql(many, KEY, db_path=db)
    assert result.score == 0.0 and "larger than 16000000 bytes" in result.reason


def test_blobs_and_floats_survive_the_process_boundary(db):
    assert run_readonly(db, "SELECT x'00ff', 1.5, NULL, 'é', 9223372036854775807, 1e999") == [
        (b"\x00\xff", 1.5, None, "é", 9223372036854775807, float("inf"))]


@pytest.mark.parametrize(
    "response",
    [
        "SELECT name FROM people WHERE age > 30; -- harmless\n DROP TABLE people",
        "SELECT name FROM people WHERE age > 30; /* harmless */ DROP TABLE people",
        "SELECT name FROM people WHERE age > 30; /* a */ -- b\n /* c */ DELETE FROM people",
        "SELECT name FROM people WHERE age > 30 /* ; */; DROP TABLE people",
        "SELECT name FROM people WHERE age > 30 -- ;\n; DROP TABLE people",
    ],
    ids=["line-comment", "block-comment", "several-comments", "semicolon-in-comment", "semicolon-in-line-comment"],
)
def test_a_comment_does_not_hide_a_second_statement(db, response):
    result = score_sql(response, KEY, db_path=db)
    assert result.score == 0.0 and result.reason == "more than one SQL statement; only a single query is accepted"


def test_trailing_comments_alone_are_fine(db):
    assert score_sql("SELECT name FROM people WHERE age > 30; -- older people\n/* done */", KEY, db_path=db).correct


def _complete_statement_split(sql: str) -> tuple[str, str]:
    """The old, quadratic splitter: SQLite's own tokenizer on every prefix ending in ';'."""
    for i, ch in enumerate(sql):
        if ch == ";" and sqlite3.complete_statement(sql[:i + 1]):
            return sql[:i].strip(), sql[i + 1:].strip()
    return sql.strip(), ""


def test_first_statement_agrees_with_sqlites_tokenizer():
    import random

    pieces = ["SELECT", " ", "'", "''", '"', ";", "--", "\n", "/*", "*/", "[", "]", "`", "x", "-", "/", "*"]
    rng = random.Random(11)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
        assert first_statement(text) == _complete_statement_split(text), text


def test_a_320_kb_answer_is_split_correctly():
    # The timing of this case is in benchmarks/perf/sql_first_statement.py, not here.
    body = "SELECT 'a;b' /* ; */, \"c;d\" -- ;\n FROM t WHERE x = 1 " * 6000
    text = body + "; DROP TABLE t; " + "x; " * 1000
    assert len(text) > 320_000
    statement, rest = first_statement(text)
    assert statement == body.strip() and rest.startswith("DROP TABLE t;")
