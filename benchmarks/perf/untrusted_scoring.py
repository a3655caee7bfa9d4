"""Timing of the untrusted-input defences (issue 11): what they cost and how fast they stop.

Run: .venv/bin/python benchmarks/perf/untrusted_scoring.py

Prints, with time.perf_counter wall times on this machine:
1. ``first_statement`` on a 320 KB answer full of ';' in strings and comments, next to the
   old splitter (``sqlite3.complete_statement`` on every prefix ending in ';': quadratic)
   on 32 KB and 320 KB, and asserts the new split stays under 0.5 s;
2. ``score_sql`` on ``printf('%.*c', N, 'x')`` (one SQLite function call: ~1 s for 4e8, ~10 s
   for 2e9 here, never reaching the progress handler) with a 2 s limit: the wall time of the
   whole call (key + answer) and its reason, asserted under the limit plus 1.5 s;
3. median per-call cost of score_sql and score_python (one warm-up, then 10 calls each).
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from slm_energy_plugin.quality.python_tests import score_python
from slm_energy_plugin.quality.sql import score_sql
from slm_energy_plugin.quality.sql_split import first_statement


def old_first_statement(sql: str) -> tuple[str, str]:
    for i, ch in enumerate(sql):
        if ch == ";" and sqlite3.complete_statement(sql[:i + 1]):
            return sql[:i].strip(), sql[i + 1:].strip()
    return sql.strip(), ""


def answer(size: int) -> str:
    # Many ';' inside strings and comments: each one made the old splitter re-tokenize the prefix.
    unit = "SELECT 'a;b' /* ; */ FROM t -- ;\n"
    return unit * (size // len(unit)) + "; DROP TABLE t"


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(fn: Callable[[], object], repeat: int = 10) -> float:
    fn()
    return statistics.median(seconds(fn) for _ in range(repeat)) * 1e3


def main() -> None:
    big = answer(320_000)
    new_s = seconds(lambda: first_statement(big))
    print(f"first_statement, {len(big) / 1000:.0f} KB answer, linear scan:    {new_s * 1e3:9.1f} ms")
    for size in (32_000, 320_000):
        text = answer(size)
        print(f"old splitter (complete_statement per ';'), {size // 1000:>3d} KB: {seconds(lambda: old_first_statement(text)) * 1e3:9.1f} ms")
    assert new_s < 0.5, f"first_statement on 320 KB took {new_s:.2f} s"

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp, "t.sqlite")
        conn = sqlite3.connect(db)
        conn.executescript("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);")
        conn.close()
        for count in (400_000_000, 2_000_000_000):
            query = f"SELECT printf('%.*c', {count}, 'x')"
            start = time.perf_counter()
            result = score_sql(query, "SELECT x FROM t", db_path=db, timeout_s=2.0)
            took = time.perf_counter() - start
            print(f"score_sql, {query}, 2 s limit: {took:5.2f} s, {result.reason}")
            assert took < 3.5, f"the printf query ran {took:.1f} s against a 2 s limit"
        print(f"score_sql per call (copy, child process, key + answer): {median_ms(lambda: score_sql('SELECT x FROM t', 'SELECT x FROM t', db_path=db)):7.1f} ms")
    prompt, body, tests = "def add(a, b):\n", "    return a + b\n", "def check(c):\n    assert c(1, 2) == 3\n"
    cost = median_ms(lambda: score_python(body, tests, entry_point="add", prompt=prompt))
    print(f"score_python per call (two bwrap sandboxes):          {cost:7.1f} ms")


if __name__ == "__main__":
    main()
