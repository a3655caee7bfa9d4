"""The session summary and ``slm-energy compare`` pair one run's queries the same way (issue 24).

Within one run a query id can carry two texts (here a second test asks its own text under
the math query's id): both must split them per text, count the same shared queries, compute
the same Friedman and Kruskal-Wallis statistics, and say the texts differ within the run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from ..conftest import run_dirs

TWO_TEXTS_TEST = '''
def test_math_query(slm, math_query):
    slm.ask(math_query)


def test_same_id_other_text(slm, math_query):
    slm.ask("Please answer: " + math_query.prompt, query_id=math_query.id)
'''

_TITLE = re.compile(r"^-- (.+): (\d+) models, (\d+) quer(?:y|ies) answered by all --$")
_OMNIBUS = re.compile(r"^(Friedman chi2|Kruskal-Wallis H) = (\S+), df (\d+)")


def _statistics(text: str) -> list[tuple[str, ...]]:
    """Each section's shared-query count and each omnibus statistic, in order."""
    found: list[tuple[str, ...]] = []
    for line in text.splitlines():
        line = line.strip()
        if (title := _TITLE.match(line)) or (test := _OMNIBUS.match(line)):
            found.append((title or test).groups())  # type: ignore[union-attr]
    return found


def test_summary_and_compare_give_one_answer(bench_project: pytest.Pytester) -> None:
    bench_project.makepyfile(test_math=TWO_TEXTS_TEST)
    result = bench_project.runpytest("--energy-models", "tiny-gpt2,tiny-phi,tiny-qwen2", "--benchmark-disable",
                                     "--energy-report", "--energy-metrics", "latency,tokens")
    result.assert_outcomes(passed=18)
    summary = result.stdout.str()
    [run_dir] = run_dirs(bench_project.path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    compare = subprocess.run([sys.executable, "-m", "slm_energy_plugin.cli", "compare", str(run_dir),
                              "--metrics", "latency,tokens"],
                             capture_output=True, text=True, env=env, cwd=bench_project.path, check=True).stdout
    in_summary, in_compare = _statistics(summary), _statistics(compare)
    assert in_summary == in_compare
    # 3 queries x 2 texts each, answered by every model (the summary used to average the two texts: 3).
    # (the unit follows the values' size: s or ms)
    assert [t[1:] for t in in_summary if t[0].startswith("latency (")] == [("3", "6")]
    friedman = [t for t in in_summary if t[0] == "Friedman chi2"]
    assert friedman and all(t[2] == "2" for t in friedman)   # df = models - 1
    for text in (" ".join(summary.split()), " ".join(compare.split())):
        assert "3 query ids (q001, q002, q003) carry different texts within the run" in text
        assert "in different runs" not in text and "more than one run" not in text
