"""Shared fixtures for the project's own tests.

Plugin tests run real pytest sessions with pytester on the project's tiny models; the
models are built once per test session into a temporary cache shared by every run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from .prometheus_exporter import Exporter

pytest_plugins = ["pytester"]

MATH_TEST = '''
def test_math_query(slm, math_query):
    slm.ask(math_query)
'''
QUERIES = "What is 7 + 5?\nWhat is 9 times 8?\nWhat is 100 minus 37?\n"
ANSWERS = [{"id": "q001", "answer": "12"}, {"id": "q002", "answer": "72"}, {"id": "q003", "answer": "63"}]


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of built tiny models for the whole test session."""
    path = tmp_path_factory.mktemp("slm-cache")
    from slm_energy_plugin.backends.tiny import ensure_tiny

    for alias, arch in (("tiny-gpt2", "gpt2"), ("tiny-phi", "phi"), ("tiny-qwen2", "qwen2")):
        ensure_tiny(alias, arch, root=path / "tiny")
    return path


@pytest.fixture
def bench_project(pytester: pytest.Pytester, tiny_cache: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project with the math benchmark, three queries and answers, offline."""
    # The inner run is not an xdist worker, even when the outer test session is parallel.
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytester.makepyfile(test_math=MATH_TEST)
    pytester.makefile(".txt", queries=QUERIES)
    (pytester.path / "answers.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ANSWERS))
    pytester.makeini("[pytest]\nenergy_queries = queries.txt\nenergy_idle_seconds = 0\n")
    return pytester


@pytest.fixture
def prometheus_exporter() -> Iterator[Exporter]:
    """A real Prometheus exposition on 127.0.0.1 whose counters the test sets (``.counters``); ``.url``."""
    from .prometheus_exporter import serve_exporter

    with serve_exporter() as exporter:
        yield exporter


def run_dirs(root: Path) -> list[Path]:
    results = root / "results"
    return sorted(p for p in results.iterdir() if p.is_dir()) if results.is_dir() else []


def unwrapped(result: pytest.RunResult) -> str:
    """A run's output as one line: the summary wraps its sentences at 100 characters."""
    return " ".join(line.strip() for line in result.outlines)


def write(path: Path, text: str) -> Path:
    """A UTF-8 text file with ``text``; its path."""
    path.write_text(text, encoding="utf-8")
    return path


def load_model_json(run_dir: Path, alias: str) -> dict[str, Any]:
    return json.loads((run_dir / f"environmental_data_{alias}.json").read_text())


SLOW_ENV = "SLM_ENERGY_SLOW"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"slow: minutes and GBs of memory; runs only with {SLOW_ENV}=1")


# A test that needs one of these is an integration test: a whole pytest session of the suite on real
# models (pytester), a real server (transformers serve, uvicorn), a measured run shared by the report and
# browser tests, a real LoRA training. They take ~3/4 of the suite's time: the README's quick test command
# leaves them out (-m "not integration"), `pytest tests -m integration` runs them, and .ci/run runs both.
INTEGRATION_FIXTURES = frozenset({"pytester", "real_run", "trained", "qwen_server", "uvicorn_server"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import os

    for item in items:
        if INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    if os.environ.get(SLOW_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"slow: set {SLOW_ENV}=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
