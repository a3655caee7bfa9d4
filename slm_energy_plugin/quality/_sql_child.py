"""Child side of the SQL scorer: ``python -I -S -B _sql_child.py MEMORY_MB``, one JSON job
per line on stdin (the process is reused across calls until a job has to be killed).

Standard library only. Runs each statement of a job on a read-only connection with an
authorizer, SQLite limits and a progress-handler deadline, and writes one JSON line per
statement as soon as it is done. The parent kills this process when a statement overruns
its wall clock: a single SQL function call (``printf('%.*c', 2000000000, 'x')``, a
backtracking GLOB) never returns to SQLite's VM, so nothing inside the process can stop it.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
import time
from typing import Any
from urllib.request import pathname2url

_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                              sqlite3.SQLITE_RECURSIVE})
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
_PROGRESS_EVERY = 1_000            # SQLite VM instructions between deadline checks
_LIKE_PATTERN_CHARS = 1_000        # LIKE/GLOB patterns longer than this are an error


class QueryFailed(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def authorizer(action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
    if action in _ALLOWED_ACTIONS:
        if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in _DENIED_FUNCTIONS:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def connect(path: str, job: dict[str, Any]) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{pathname2url(path)}?mode=ro", uri=True, isolation_level=None)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchall()   # load the schema before locking down
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, int(job["max_value_bytes"]))
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, int(job["max_sql_chars"]))
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, _LIKE_PATTERN_CHARS)
    conn.set_authorizer(authorizer)
    return conn


def size_of(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes)) else 8


def encode(value: Any) -> Any:
    return {"hex": value.hex()} if isinstance(value, bytes) else value


def run(conn: sqlite3.Connection, sql: str, job: dict[str, Any]) -> list[list[Any]]:
    timeout_s, max_rows, max_bytes = float(job["timeout_s"]), int(job["max_rows"]), int(job["max_result_bytes"])
    deadline = time.monotonic() + timeout_s
    expired = False

    def progress() -> int:
        nonlocal expired
        if time.monotonic() > deadline:
            expired = True
            return 1
        return 0

    conn.set_progress_handler(progress, _PROGRESS_EVERY)
    rows: list[list[Any]] = []
    total = 0
    try:
        cursor = conn.execute(sql)
        while True:
            batch = cursor.fetchmany(500)
            if not batch:
                return rows
            for row in batch:
                total += sum(size_of(v) for v in row)
                rows.append([encode(v) for v in row])
            if len(rows) > max_rows:
                raise QueryFailed("rows", f"the query returns more than {max_rows} rows")
            if total > max_bytes:
                raise QueryFailed("size", f"the query's result is larger than {max_bytes} bytes")
    except sqlite3.Warning as exc:                      # "You can only execute one statement at a time."
        raise QueryFailed("refused", f"refused: {exc}") from None
    except sqlite3.DatabaseError as exc:
        if expired:
            raise QueryFailed("timeout", f"timed out after {timeout_s:g} s (statement interrupted)") from None
        message = str(exc)
        if "not authorized" in message or "prohibited" in message:
            what = message if "function" in message else f"{sql.split(None, 1)[0].upper()} statements"
            raise QueryFailed("refused", f"refused on the read-only connection: {what}") from None
        raise QueryFailed("sql", f"SQL error: {message}") from None
    except sqlite3.ProgrammingError as exc:
        raise QueryFailed("refused", f"refused: {exc}") from None
    except MemoryError:
        raise QueryFailed("size", "the query needs more memory than the scorer allows") from None
    finally:
        conn.set_progress_handler(None, 0)


def serve(job: dict[str, Any]) -> None:
    conn = connect(job["db"], job)
    try:
        for sql in job["statements"]:
            try:
                answer: dict[str, Any] = {"rows": run(conn, sql, job)}
            except QueryFailed as exc:
                answer = {"error": exc.kind, "message": str(exc)}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        conn.close()


def main() -> None:
    memory = int(sys.argv[1]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for line in sys.stdin:
        serve(json.loads(line))


if __name__ == "__main__":
    main()
