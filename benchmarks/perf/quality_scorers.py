"""What scoring costs, per call: time the scorers the plugin runs next to each query.

Run: PYTHONPATH=$PWD python benchmarks/perf/quality_scorers.py
Prints median / p90 wall time per call (time.perf_counter), after one warm-up call, and
the one-off cost of the first overlap call (rouge-score imports NLTK) in a fresh process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from typing import Callable

from slm_energy_plugin.quality import score_answer
from slm_energy_plugin.quality.datasets import builtin_code_tasks, builtin_sql_tasks

from _timing import timed


def timeit(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    samples = sorted(timed(fn, repeat, warm_up=True))
    return statistics.median(samples), samples[int(0.9 * (len(samples) - 1))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sql = builtin_sql_tasks(build_dir=tmp)[13]
        code = builtin_code_tasks()[2]
        think = "<think>" + "Let me add the numbers step by step. " * 50 + "</think>\nThe answer is 1,234."
        cases = {
            "numeric (reasoning response, 2 kB)": (lambda: score_answer(think, "1234"), 2000),
            "exact": (lambda: score_answer("Paris.", "paris", kind="exact"), 2000),
            "multiple_choice (log-likelihoods)": (
                lambda: score_answer("", "B", kind="multiple_choice", loglikelihoods=[-3.0, -1.0, -2.0, -4.0]), 2000),
            "overlap (ROUGE-L + chrF)": (
                lambda: score_answer("the quick brown fox jumps", "a quick brown fox leaps", kind="overlap"), 300),
            "sql_execution (3-table join, copy + 2 queries)": (
                lambda: score_answer(sql.query, sql.query, kind="sql_execution", db_path=sql.db_path), 200),
            "python_tests (sandboxed child process)": (
                lambda: score_answer(code.canonical_solution, code.test, kind="python_tests",
                                     entry_point=code.entry_point, prompt=code.prompt), 30),
        }
        print(f"{'scorer':50s} {'median':>10s} {'p90':>10s}")
        for name, (fn, repeat) in cases.items():
            median, p90 = timeit(fn, repeat)
            print(f"{name:50s} {median * 1e3:8.3f} ms {p90 * 1e3:8.3f} ms")
    first = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); "
         "from slm_energy_plugin.quality import score_answer; "
         "score_answer('a b c', 'a b d', kind='overlap'); print(time.perf_counter() - t)"],
        capture_output=True, text=True, check=True)
    print(f"{'first overlap call in a fresh process (imports)':50s} {float(first.stdout) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
