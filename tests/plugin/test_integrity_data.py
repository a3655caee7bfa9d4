"""Hostile values never cost a run its files (issue 20): a lone surrogate in an answer or a failure
reason, a server's out-of-range usage, a Prometheus counter jump of 1e300 J. Each is made writable at
ingestion and flagged on its record; the other models' files, run.json and recover are unharmed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.results import storage
from slm_energy_plugin.results.collector import RunCollector
from slm_energy_plugin.results.schema import OUT_OF_RANGE_FLAG, TEXT_REPLACED_FLAG

from ..conftest import load_model_json, run_dirs
from ..local_http import LocalHandler, LocalServer, sse
from ..prometheus_exporter import Exporter

# A failure reason that carries a lone surrogate, as generated code raising ValueError(chr(0xD800)) does.
SURROGATE_REASON = '''
def test_math_query(slm, math_query):
    slm.ask(math_query)
    if slm.alias == "tiny-gpt2" and math_query.id == "q002":
        raise ValueError("bad " + chr(0xD800))
'''


class SurrogateHandler(LocalHandler):
    """An OpenAI-compatible server whose streamed answer holds ``\\ud800`` (a JSON escape every
    JSON parser decodes to a lone surrogate) and whose usage is out of range."""

    def do_GET(self) -> None:
        self.send_json(200, {"object": "list", "data": [{"id": "m"}]})

    def do_POST(self) -> None:
        self.read_json()

        def chunk(**fields: Any) -> str:
            return sse({"id": "c", "object": "chat.completion.chunk", "model": "m", **fields})
        events = [
            chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]),
            chunk(choices=[{"index": 0, "delta": {"content": "12 \ud800"}, "finish_reason": None}]),
            chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]),
            # An integer literal of 31 digits is valid JSON and within the parser's bounds.
            chunk(choices=[], usage={"prompt_tokens": -5, "completion_tokens": 10**30}),
            "data: [DONE]\n\n",
        ]
        self.send_body(200, "text/event-stream", "".join(events).encode("ascii"))


@pytest.fixture
def surrogate_server() -> Iterator[str]:
    """The surrogate server on 127.0.0.1; its OpenAI base URL."""
    with LocalServer(SurrogateHandler) as server:
        yield server.url + "/v1"


def test_a_surrogate_and_out_of_range_usage_cost_no_file(bench_project: pytest.Pytester,
                                                         surrogate_server: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    bench_project.makepyfile(test_math=SURROGATE_REASON)
    result = bench_project.runpytest_subprocess(
        "--energy-models", "tiny-gpt2,openai:m", "--energy-base-url", surrogate_server,
        "--benchmark-disable", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "UnicodeEncodeError" not in output
    result.assert_outcomes(passed=5, failed=1)
    [run_dir] = run_dirs(bench_project.path)
    # Every model's file and the manifest are written; the journal is gone (nothing to recover).
    assert sorted(p.name for p in storage.model_files(run_dir)) == [
        "environmental_data_openai-m.json", "environmental_data_tiny-gpt2.json"]
    assert (run_dir / storage.RUN_MANIFEST).is_file() and not (run_dir / storage.JOURNAL).exists()

    tiny = load_model_json(run_dir, "tiny-gpt2")
    failed = tiny["query_history"][1]
    assert failed["outcome"] == "failed" and failed["error"] == "ValueError: bad \ufffd"
    assert failed["extra"]["flags"] == [TEXT_REPLACED_FLAG]
    assert all("flags" not in q["extra"] for i, q in enumerate(tiny["query_history"]) if i != 1)

    served = load_model_json(run_dir, "openai-m")
    for query in served["query_history"]:
        assert query["response"] == "12 \ufffd"
        assert query["tokens_input"] == 0 and query["tokens_output"] == 0   # not the server's -5 and 1e30
        assert query["extra"]["flags"] == [TEXT_REPLACED_FLAG, OUT_OF_RANGE_FLAG]
    assert any("record.tokens_output was 1000000000000000000000000000000, outside 0..1e+12: stored as 0 "
               f"({OUT_OF_RANGE_FLAG})" in w for w in served["warnings"])
    result.stdout.fnmatch_lines([f"Warning: openai-m: q001: record.response held text UTF-8 cannot encode "
                                 f"(lone surrogates): replaced by U+FFFD ({TEXT_REPLACED_FLAG})",
                                 f"Warning: openai-m: q001: record.tokens_input was -5, outside 0..1e+12: "
                                 f"stored as 0 ({OUT_OF_RANGE_FLAG})"])
    # The files read back: compare works on the run.
    capsys.readouterr()
    assert main(["compare", str(run_dir)]) == 0
    assert "skipped" not in capsys.readouterr().err


def _record(**change: Any) -> dict[str, Any]:
    record = {"query": "What is 7 + 5?", "response": "12", "emissions": None, "duration_s": 1.0,
              "tokens_input": 9, "tokens_output": 4, "timestamp": 1, "query_id": "q001", "outcome": "passed"}
    return {**record, **change}


def test_recover_keeps_journal_lines_with_surrogates_and_out_of_range_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Journals written before ingestion cleaned them: json escapes ``\\ud800`` (ensure_ascii)."""
    lines = [{"kind": "query", "alias": "m", "record": _record(response="\ud800 12")},
             {"kind": "query", "alias": "m", "record": _record(query_id="q002", error="ValueError: \udcff",
                                                                 outcome="failed", tokens_output=10**30)},
             {"kind": "query", "alias": "other", "record": _record()}]
    (tmp_path / storage.JOURNAL).write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["recover", str(tmp_path)]) == 0
    assert "skipped" not in capsys.readouterr().err
    data = load_model_json(tmp_path, "m")
    first, second = data["query_history"]
    assert first["response"] == "\ufffd 12" and first["extra"]["flags"] == [TEXT_REPLACED_FLAG]
    assert second["error"] == "ValueError: \ufffd" and second["tokens_output"] == 0
    assert second["extra"]["flags"] == [TEXT_REPLACED_FLAG, OUT_OF_RANGE_FLAG]
    assert load_model_json(tmp_path, "other")["query_history"][0]["response"] == "12"


def test_a_prometheus_counter_jump_of_1e300_joules_is_stored_as_null_and_flagged(
        tmp_path: Path, prometheus_exporter: Exporter) -> None:
    """A real exporter (prometheus_client on 127.0.0.1) whose counter jumps by 1e300 J in a window."""
    from slm_energy_plugin.energy.intensity import CarbonContext
    from slm_energy_plugin.energy.prometheus import PrometheusMeter, parse_argument
    from slm_energy_plugin.results.records import QueryRecord

    url, counters = prometheus_exporter
    counters.set("node_rapl_package_joules_total", 1000.0, index="0")
    meter = PrometheusMeter(parse_argument(url))
    handle = meter.start()
    counters.add("node_rapl_package_joules_total", 1e300, index="0")
    reading = meter.stop(handle)
    assert reading.cpu_kwh is not None and reading.cpu_kwh > 1e290   # the meter passes it on as read
    carbon = CarbonContext("FRA", "France", 56.0, "test", 2023, 1.0)
    record = QueryRecord(model="m", query_id="q001", query="q", response="r", tokens_input=1, tokens_output=1,
                         duration_s=reading.duration_s, sequence=1, energy=reading,
                         emissions_kg=carbon.emissions_kg(reading.total_kwh))
    collector = RunCollector(run_id="r", started_at="", machine={}, settings={})
    collector.ingest({"kind": "query", "alias": "m", "record": record.to_dict()})
    collector.ingest({"kind": "query", "alias": "honest", "record": _record()})
    storage.write_model_runs(tmp_path, collector.build_runs(status="complete", finished_at=""))
    run = storage.load_model_file(tmp_path / "environmental_data_m.json")   # reads back: within bounds
    [stored] = run.records
    assert stored.energy is not None and stored.energy.cpu_kwh is None and stored.energy_kwh is None
    assert stored.emissions_kg is None and stored.extra["flags"] == [OUT_OF_RANGE_FLAG]
    assert any("energy.cpu_kwh was" in w and OUT_OF_RANGE_FLAG in w for w in run.warnings)
    assert [r.alias for r in storage.load_runs([tmp_path])] == ["honest", "m"]


def test_one_models_write_failure_costs_only_its_own_file(tmp_path: Path) -> None:
    """A hook that raises for one model (as a user's pytest_slm_energy_update_json may): the other is written."""
    collector = RunCollector(run_id="r", started_at="", machine={}, settings={})
    for alias in ("a", "b"):
        collector.ingest({"kind": "query", "alias": alias, "record": _record()})

    def update(data: dict[str, Any]) -> None:
        if data["alias"] == "a":
            raise RuntimeError("hook failed")
    failed: list[str] = []
    written = storage.write_model_runs(tmp_path, collector.build_runs(status="complete", finished_at=""),
                                       update=update, failed=failed)
    assert [p.name for p in written] == ["environmental_data_b.json"]
    assert failed == ["environmental_data_a.json not written (RuntimeError: hook failed)"]


def test_atomic_write_never_fails_on_text_utf8_cannot_encode(tmp_path: Path) -> None:
    """Defence in depth: argv decoded with surrogateescape (a non-UTF-8 byte) lands in run.json."""
    path = tmp_path / "run.json"
    storage.atomic_write_json(path, {"args": ["--energy-models", b"caf\xe9".decode("utf-8", "surrogateescape")]})
    assert json.loads(path.read_text(encoding="utf-8"))["args"][1] == "caf\ufffd"


HOOK_FAILS_FOR_ONE_MODEL = '''
def pytest_slm_energy_update_json(config, model_json):
    if model_json["alias"] == "tiny-gpt2":
        raise RuntimeError("this hook cannot handle tiny-gpt2")
'''


def test_a_session_whose_hook_fails_for_one_model_writes_the_others(bench_project: pytest.Pytester) -> None:
    bench_project.makeconftest(HOOK_FAILS_FOR_ONE_MODEL)
    result = bench_project.runpytest("--energy-models", "tiny-gpt2,tiny-phi", "--benchmark-disable")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output
    [run_dir] = run_dirs(bench_project.path)
    assert [p.name for p in storage.model_files(run_dir)] == ["environmental_data_tiny-phi.json"]
    assert (run_dir / storage.RUN_MANIFEST).is_file() and (run_dir / storage.JOURNAL).is_file()
    result.stdout.fnmatch_lines(["slm-energy: in *: environmental_data_tiny-gpt2.json not written (RuntimeError: "
                                 "this hook cannot handle tiny-gpt2); the journal is kept; run `slm-energy "
                                 "recover * --force` once the problem is fixed"])
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
