"""Text-to-SQL execution accuracy: run the key's and the model's SQL, compare the rows.

Generated SQL is untrusted. Each call copies the database into a fresh temporary folder
and opens the copy through a read-only URI (``file:...?mode=ro``); on that connection:

- an authorizer allows only reading (SELECT, READ, RECURSIVE and ordinary functions) and
  denies everything else: INSERT/UPDATE/DELETE, DROP/CREATE/ALTER, PRAGMA, ATTACH/DETACH,
  transactions, ``load_extension``;
- ``SQLITE_LIMIT_ATTACHED`` is 0, strings/blobs are capped (``zeroblob(1e9)`` fails fast);
- a progress handler aborts any statement that runs past ``timeout_s`` (a runaway
  recursive CTE), and at most ``max_rows`` rows are fetched;
- only one statement runs: text after it is ignored if it is prose, and the answer scores
  0 if it is another statement.

So a DROP TABLE, an ATTACH, an endless CTE or a stacked statement ends in score 0 with a
reason, and neither the original database nor the session is touched.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence
from urllib.request import pathname2url

from ..errors import ConfigError
from .result import ScoreResult, code_blocks, failed, split_reasoning

KIND = "sql_execution"
DEFAULT_TIMEOUT_S = 2.0
DEFAULT_MAX_ROWS = 10_000
_PROGRESS_EVERY = 1_000            # SQLite VM instructions between deadline checks
_MAX_VALUE_BYTES = 1_000_000
_MAX_SQL_CHARS = 20_000

_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                              sqlite3.SQLITE_RECURSIVE})
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
_STATEMENT_START = frozenset({
    "select", "with", "insert", "update", "delete", "replace", "drop", "create", "alter", "attach",
    "detach", "pragma", "vacuum", "begin", "commit", "end", "rollback", "savepoint", "release",
    "reindex", "analyze", "explain", "values",
})


class _QueryFailed(Exception):
    """A statement did not give rows; the message is the reason a user reads."""


def extract_sql(response: str, *, think_open: bool = False) -> tuple[str | None, str | None]:
    """(sql, reason): the statement the model proposes, or None and why there is none."""
    final = split_reasoning(response, think_open=think_open)
    if final.text is None:
        return None, final.reason
    text = final.text
    blocks = code_blocks(text, ("sql", "sqlite"))
    if blocks:
        text = blocks[0]
    else:
        start = re.search(r"\b(select|with)\b", text, re.IGNORECASE)
        if start:
            text = text[start.start():]
    text = text.strip()
    if not text:
        return None, "no SQL in the answer"
    return text, None


def first_statement(sql: str) -> tuple[str, str]:
    """Split off the first complete statement; returns (statement, rest)."""
    for i, ch in enumerate(sql):
        if ch == ";" and sqlite3.complete_statement(sql[:i + 1]):
            return sql[:i].strip(), sql[i + 1:].strip()
    return sql.strip(), ""


def _authorizer(action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
    if action in _ALLOWED_ACTIONS:
        if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in _DENIED_FUNCTIONS:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _run(conn: sqlite3.Connection, sql: str, timeout_s: float, max_rows: int) -> list[tuple]:
    deadline = time.monotonic() + timeout_s
    expired = False

    def progress() -> int:
        nonlocal expired
        if time.monotonic() > deadline:
            expired = True
            return 1
        return 0

    conn.set_progress_handler(progress, _PROGRESS_EVERY)
    try:
        cursor = conn.execute(sql)
        rows: list[tuple] = []
        while True:
            batch = cursor.fetchmany(500)
            if not batch:
                return rows
            rows.extend(batch)
            if len(rows) > max_rows:
                raise _QueryFailed(f"the query returns more than {max_rows} rows")
    except sqlite3.Warning as exc:                      # "You can only execute one statement at a time."
        raise _QueryFailed(f"refused: {exc}") from None
    except sqlite3.DatabaseError as exc:
        if expired:
            raise _QueryFailed(f"timed out after {timeout_s:g} s (statement interrupted)") from None
        message = str(exc)
        if "not authorized" in message or "prohibited" in message:
            what = message if "function" in message else f"{sql.split(None, 1)[0].upper()} statements"
            raise _QueryFailed(f"refused on the read-only connection: {what}") from None
        raise _QueryFailed(f"SQL error: {message}") from None
    except sqlite3.ProgrammingError as exc:
        raise _QueryFailed(f"refused: {exc}") from None
    finally:
        conn.set_progress_handler(None, 0)


def _connect_copy(db_path: Path, workdir: Path) -> sqlite3.Connection:
    copy = workdir / db_path.name
    shutil.copyfile(db_path, copy)
    conn = sqlite3.connect(f"file:{pathname2url(str(copy))}?mode=ro", uri=True, isolation_level=None)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchall()   # load the schema before locking down
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, _MAX_SQL_CHARS)
    conn.set_authorizer(_authorizer)
    return conn


def _normalize_rows(rows: Sequence[tuple], float_digits: int) -> list[tuple]:
    def value(v: Any) -> Any:
        if isinstance(v, float):
            r = round(v, float_digits)
            return int(r) if r.is_integer() else r      # 3.0 == 3, as SQL means it
        return v
    return [tuple(value(v) for v in row) for row in rows]


def run_readonly(db_path: str | Path, sql: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 max_rows: int = DEFAULT_MAX_ROWS) -> list[tuple]:
    """Rows of one statement run on a read-only copy of ``db_path``; raises ConfigError on failure.

    For trusted SQL (the answer key, data checks). Generated SQL goes through :func:`score_sql`.
    """
    path = Path(db_path)
    if not path.is_file():
        raise ConfigError(f"SQLite database {path} does not exist; build it first (datasets.build_sqlite_db)")
    with tempfile.TemporaryDirectory(prefix="slm-sql-") as tmp:
        conn = _connect_copy(path, Path(tmp))
        try:
            return _run(conn, first_statement(sql)[0], timeout_s, max_rows)
        except _QueryFailed as exc:
            raise ConfigError(f"SQL {sql!r} on {path.name} failed: {exc}") from None
        finally:
            conn.close()


def score_sql(response: str, expected: str, *, db_path: str | Path, timeout_s: float = DEFAULT_TIMEOUT_S,
              max_rows: int = DEFAULT_MAX_ROWS, ordered: bool = False, float_digits: int = 6,
              think_open: bool = False) -> ScoreResult:
    """1.0 when the model's SQL returns the same rows as ``expected`` (a multiset; order ignored
    unless ``ordered``), else 0.0 with the reason. Columns are compared in their order;
    floats are rounded to ``float_digits`` decimals.
    """
    path = Path(db_path)
    if not path.is_file():
        raise ConfigError(f"SQLite database {path} does not exist; build it first (datasets.build_sqlite_db)")
    sql, why = extract_sql(response, think_open=think_open)
    if sql is None:
        return failed(KIND, why or "no SQL in the answer")
    statement, rest = first_statement(sql)
    if rest and rest.split(None, 1)[0].rstrip(";").lower() in _STATEMENT_START:
        return failed(KIND, "more than one SQL statement; only a single query is accepted", extracted=sql)
    with tempfile.TemporaryDirectory(prefix="slm-sql-") as tmp:
        conn = _connect_copy(path, Path(tmp))
        try:
            try:
                want = _run(conn, first_statement(expected)[0], timeout_s, max_rows)
            except _QueryFailed as exc:
                raise ConfigError(f"the expected SQL {expected!r} fails on {path.name}: {exc}") from None
            try:
                got = _run(conn, statement, timeout_s, max_rows)
            except _QueryFailed as exc:
                return failed(KIND, str(exc), extracted=statement)
        finally:
            conn.close()
    got_n, want_n = _normalize_rows(got, float_digits), _normalize_rows(want, float_digits)
    ok = got_n == want_n if ordered else Counter(got_n) == Counter(want_n)
    return ScoreResult(float(ok), ok, statement, KIND, None if ok else "result rows differ from the key's",
                       {"rows": len(got), "expected_rows": len(want)})
