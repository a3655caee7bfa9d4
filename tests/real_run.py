"""A real benchmark run (tiny models, a real pytest session in a subprocess) shared by the
render and results tests: built once per test directory, read many times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

QUERIES = "What is 7 + 5?\nWhat is 9 times 8?\nWhat is 100 minus 37?\nWhat is 6 + 6?\n"
# Two task types, so the per-task figure has something to show.
ANSWERS = [{"id": "q001", "answer": "12", "task": "addition"}, {"id": "q002", "answer": "72", "task": "product"},
           {"id": "q003", "answer": "63", "task": "addition"}, {"id": "q004", "answer": "12", "task": "addition"}]
TEST = '''
def test_math_query(slm, math_query):
    slm.ask(math_query)
    if math_query.answer is not None:
        slm.score("numeric")
'''
MODELS = ("tiny-gpt2", "tiny-phi")


def make_real_run(root: Path, cache: Path, *extra: str) -> Path:
    """Run the math benchmark on two tiny models (2 rounds per query, --energy-html); the run folder."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "test_math.py").write_text(TEST)
    (root / "queries.txt").write_text(QUERIES)
    (root / "answers.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ANSWERS))
    (root / "pytest.ini").write_text("[pytest]\nenergy_queries = queries.txt\nenergy_idle_seconds = 0\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST") and k != "PYTEST_ADDOPTS"}
    env.update(SLM_ENERGY_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--energy-models", ",".join(MODELS),
         "--energy-repeat", "2", "--energy-html", "--benchmark-disable", *extra],
        cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    runs = sorted(p for p in (root / "results").iterdir() if p.is_dir())
    assert len(runs) == 1, runs
    return runs[0]


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory, tiny_cache: Path) -> Path:
    return make_real_run(tmp_path_factory.mktemp("real-run"), tiny_cache)
