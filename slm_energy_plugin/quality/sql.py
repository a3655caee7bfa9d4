"""Text-to-SQL execution accuracy: run the key's and the model's SQL, compare the rows.

Generated SQL is untrusted. Each call copies the database into a fresh temporary folder
and runs the statements in a separate process (:mod:`._sql_child`) on a read-only
connection to the copy (``file:...?mode=ro``), where:

- an authorizer allows only reading (SELECT, READ, RECURSIVE and ordinary functions) and
  denies everything else: INSERT/UPDATE/DELETE, DROP/CREATE/ALTER, PRAGMA, ATTACH/DETACH,
  transactions, ``load_extension``;
- SQLite limits: no attached databases, strings/blobs at most 1 MB, SQL text at most
  20 000 characters, LIKE/GLOB patterns at most 1 000 characters; at most ``max_rows``
  rows and 16 MB of result; the process has a 1 GB address-space limit;
- a progress handler stops a statement that runs past ``timeout_s`` (a runaway recursive
  CTE), and the parent kills the process when that is not enough: a single function call
  (``printf('%.*c', 400000000, 'x')`` loops inside SQLite for seconds) never reaches the
  progress handler, so the wall clock is enforced from outside;
- only one statement runs: text after it is ignored if it is prose, and the answer scores
  0 if it is another statement, comments before it or not.

So a DROP TABLE, an ATTACH, an endless CTE or function call, or a stacked statement ends
in score 0 with a reason, and neither the original database nor the session is touched.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from ..errors import ConfigError
from .result import ScoreResult, code_blocks, failed, split_reasoning
from .sql_split import first_statement, leading_word

__all__ = ["KIND", "extract_sql", "first_statement", "run_readonly", "score_sql"]

KIND = "sql_execution"
DEFAULT_TIMEOUT_S = 2.0
DEFAULT_MAX_ROWS = 10_000
_CHILD = Path(__file__).with_name("_sql_child.py")
_MAX_VALUE_BYTES = 1_000_000
_MAX_SQL_CHARS = 20_000
_MAX_RESULT_BYTES = 16_000_000
_CHILD_MEMORY_MB = 1024
_STARTUP_GRACE_S = 5.0             # interpreter start and schema load, before the first statement
_KILL_GRACE_S = 0.25               # past a statement's limit before the process is killed
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


def _decode_row(row: list[Any]) -> tuple[Any, ...]:
    return tuple(bytes.fromhex(v["hex"]) if isinstance(v, dict) else v for v in row)


class _Worker:
    """The query process, kept across calls (its start-up costs more than a query) and
    replaced after any call that had to kill it. One per scoring process."""

    _lock = threading.Lock()
    _proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def run(cls, job: dict[str, Any], count: int, timeout_s: float) -> list[list[tuple[Any, ...]] | _QueryFailed]:
        with cls._lock:
            if cls._proc is None or cls._proc.poll() is not None:
                cls._proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-B", str(_CHILD), str(_CHILD_MEMORY_MB)], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tempfile.gettempdir(),
                    env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
            proc = cls._proc
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(job).encode("utf-8") + b"\n")
                proc.stdin.flush()
                results, healthy = _collect(proc, count, timeout_s)
            except (BrokenPipeError, ValueError):
                results, healthy = [_QueryFailed("the query process ended early")] * count, False
            if not healthy:
                cls.stop()
            return results

    @classmethod
    def stop(cls) -> None:
        proc, cls._proc = cls._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


atexit.register(_Worker.stop)


def _run_statements(db_path: Path, statements: Sequence[str], timeout_s: float,
                    max_rows: int) -> list[list[tuple[Any, ...]] | _QueryFailed]:
    """Each statement's rows (or why it gave none), run in the query process on a copy of
    ``db_path``. A statement still running ``timeout_s`` after it started is killed with
    the process; the statements after it are then not run (reported as killed too)."""
    with tempfile.TemporaryDirectory(prefix="slm-sql-") as tmp:
        copy = Path(tmp, db_path.name)
        shutil.copyfile(db_path, copy)
        job = {"db": str(copy), "statements": list(statements), "timeout_s": timeout_s,
               "max_rows": max_rows, "max_value_bytes": _MAX_VALUE_BYTES,
               "max_sql_chars": _MAX_SQL_CHARS, "max_result_bytes": _MAX_RESULT_BYTES}
        return _Worker.run(job, len(statements), timeout_s)


def _collect(proc: subprocess.Popen[bytes], count: int,
             timeout_s: float) -> tuple[list[list[tuple[Any, ...]] | _QueryFailed], bool]:
    """Read one answer line per statement, each within its wall-clock limit; the flag says
    whether the process can be reused (False: it overran or died)."""
    assert proc.stdout is not None
    results: list[list[tuple[Any, ...]] | _QueryFailed] = []
    buffer = b""
    deadline = time.monotonic() + _STARTUP_GRACE_S + timeout_s + _KILL_GRACE_S
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(results) < count:
            line, sep, rest = buffer.partition(b"\n")
            if sep:
                buffer = rest
                answer = json.loads(line)
                if "rows" in answer:
                    results.append([_decode_row(r) for r in answer["rows"]])
                else:
                    results.append(_QueryFailed(answer["message"]))
                deadline = time.monotonic() + timeout_s + _KILL_GRACE_S
                continue
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                if time.monotonic() < deadline:
                    continue
                killed = _QueryFailed(f"timed out after {timeout_s:g} s (query process killed)")
                return results + [killed] * (count - len(results)), False
            chunk = os.read(fd, 65536)
            if not chunk:
                err = (proc.stderr.read() if proc.stderr else b"").decode("utf-8", "replace").strip().splitlines()
                died = _QueryFailed(f"the query process ended early ({(err or ['no message'])[-1][:200]})")
                return results + [died] * (count - len(results)), False
            buffer += chunk
    return results, not buffer


def _normalize_rows(rows: Sequence[tuple[Any, ...]], float_digits: int) -> list[tuple[Any, ...]]:
    def value(v: Any) -> Any:
        if isinstance(v, float):
            r = round(v, float_digits)
            return int(r) if r.is_integer() else r      # 3.0 == 3, as SQL means it
        return v
    return [tuple(value(v) for v in row) for row in rows]


def run_readonly(db_path: str | Path, sql: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 max_rows: int = DEFAULT_MAX_ROWS) -> list[tuple[Any, ...]]:
    """Rows of one statement run on a read-only copy of ``db_path``; raises ConfigError on failure.

    For trusted SQL (the answer key, data checks). Generated SQL goes through :func:`score_sql`.
    """
    path = Path(db_path)
    if not path.is_file():
        raise ConfigError(f"SQLite database {path} does not exist; build it first (datasets.build_sqlite_db)")
    rows = _run_statements(path, [first_statement(sql)[0]], timeout_s, max_rows)[0]
    if isinstance(rows, _QueryFailed):
        raise ConfigError(f"SQL {sql!r} on {path.name} failed: {rows}")
    return rows


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
    if leading_word(rest) in _STATEMENT_START:
        return failed(KIND, "more than one SQL statement; only a single query is accepted", extracted=sql)
    want, got = _run_statements(path, [first_statement(expected)[0], statement], timeout_s, max_rows)
    if isinstance(want, _QueryFailed):
        raise ConfigError(f"the expected SQL {expected!r} fails on {path.name}: {want}")
    if isinstance(got, _QueryFailed):
        return failed(KIND, str(got), extracted=statement)
    got_n, want_n = _normalize_rows(got, float_digits), _normalize_rows(want, float_digits)
    ok = got_n == want_n if ordered else Counter(got_n) == Counter(want_n)
    return ScoreResult(float(ok), ok, statement, KIND, None if ok else "result rows differ from the key's",
                       {"rows": len(got), "expected_rows": len(want)})
