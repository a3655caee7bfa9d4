"""A third-party backend, found by entry point: the worked example of docs/how-to/extend.md, installed
with pip into a temporary folder (a real ``*.dist-info`` with ``entry_points.txt``) and put on the
path of a real pytest session whose model it serves, against a local server that answers as llama.cpp's
``llama-server`` documents its native ``POST /completion`` (tools/server/README.md): ``content``,
``tokens_evaluated``, ``tokens_predicted``, ``stop_type`` and ``timings`` in milliseconds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from slm_energy_plugin.backends.backend_registry import backend_names, get_backend
from slm_energy_plugin.backends.registry import load_registry, parse_registry, resolve_model
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.results.events import ModelEvent, QueryEvent

from ..conftest import load_model_json, run_dirs

ROOT = Path(__file__).resolve().parents[2]
EXTEND = ROOT / "docs" / "how-to" / "extend.md"
# llama-server's answer to the first query of the math benchmark (the shape of its README's example).
ANSWER = {"content": " 12", "model": "qwen2.5-0.5b-instruct-q4_k_m.gguf", "tokens_evaluated": 14, "tokens_predicted": 3,
          "stop": True, "stop_type": "eos", "stopping_word": "", "truncated": False, "tokens_cached": 16,
          "timings": {"prompt_n": 14, "prompt_ms": 21.5, "predicted_n": 3, "predicted_ms": 48.0}}


# Every event on every report, as the collecting role receives it (one line each, deduplicated).
RECORD_EVENTS = """
import json
from slm_energy_plugin.roles.events import EVENT_KEY

SEEN = set()

def pytest_runtest_logreport(report):
    for key, value in report.user_properties:
        if key == EVENT_KEY and value not in SEEN:
            SEEN.add(value)
            with open("events.jsonl", "a") as handle:
                handle.write(value + "\\n")
"""


class LlamaServer:
    """GET /health and POST /completion on 127.0.0.1, as llama-server answers them."""

    def __init__(self) -> None:
        self.prompts: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._json({"status": "ok"})

            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.prompts.append(payload)
                self._json(ANSWER)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "LlamaServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _install_the_documented_example(root: Path) -> Path:
    """The page's titled code blocks written as files, then ``pip install`` into a folder of its own."""
    blocks = re.findall(r'```\w+ title="([^"]+)"\n(.*?)```', EXTEND.read_text(encoding="utf-8"), flags=re.S)
    assert {name for name, _ in blocks} == {"slm-energy-llamacpp/pyproject.toml",
                                            "slm-energy-llamacpp/slm_energy_llamacpp.py"}
    for name, text in blocks:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(root / "slm-energy-llamacpp")],
                   check=True, capture_output=True, timeout=300)
    [dist_info] = site.glob("slm_energy_llamacpp-*.dist-info")
    assert "[slm_energy.backends]\nllamacpp = slm_energy_llamacpp:BACKEND" in (dist_info / "entry_points.txt").read_text()
    return site


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _install_the_documented_example(tmp_path_factory.mktemp("llamacpp-plugin"))


@pytest.fixture
def server() -> Iterator[LlamaServer]:
    with LlamaServer() as running:
        yield running


def _run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest_subprocess("--energy-meter", "null", "--energy-warmup", "0", "--benchmark-disable",
                                        "-p", "no:cacheprovider", *args)


def test_an_installed_backend_serves_a_session_like_the_projects_own(
        bench_project: pytest.Pytester, plugin_site: Path, server: LlamaServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")]))
    bench_project.makeconftest(RECORD_EVENTS)
    result = _run(bench_project, "--energy-models", "llamacpp:qwen2.5-0.5b,tiny-gpt2",
                  "--energy-base-url", server.url)
    result.assert_outcomes(passed=6)
    [run_dir] = run_dirs(bench_project.path)
    served = load_model_json(run_dir, "llamacpp-qwen2.5-0.5b")
    assert served["model_info"]["backend"] == "llamacpp"
    assert served["model_info"]["model_id"] == "llamacpp:qwen2.5-0.5b"
    assert served["model_info"]["server"]["base_url"] == server.url
    assert served["model_info"]["server"]["energy_scope"] == "whole machine, includes the server"
    history = served["query_history"]
    assert [q["response"] for q in history] == ["12"] * 3
    assert [(q["tokens_input"], q["tokens_output"]) for q in history] == [(14, 3)] * 3
    first = history[0]
    assert first["extra"]["backend"]["token_source"] == "server-usage (llama.cpp tokens_evaluated/tokens_predicted)"
    assert first["extra"]["backend"]["server"] == {"prompt_s": 0.0215, "predicted_s": 0.048}
    assert first["outcome"] == "passed"
    # What the server was sent: the chat-styled typed name's query, greedy, the benchmark's token limit.
    assert [p["prompt"] for p in server.prompts] == [q["query"] for q in history]
    assert {(p["n_predict"], p["temperature"]) for p in server.prompts} == {
        (served["model_info"]["generation"]["max_new_tokens"], 0)}
    assert load_model_json(run_dir, "tiny-gpt2")["model_info"]["backend"] == "transformers"
    # The events both models' reports carried are the typed events the collector reads, key for key.
    events = [json.loads(line) for line in (bench_project.path / "events.jsonl").read_text().splitlines()]
    assert sorted({(e["kind"], e["alias"]) for e in events}) == [
        ("model", "llamacpp-qwen2.5-0.5b"), ("model", "tiny-gpt2"), ("query", "llamacpp-qwen2.5-0.5b"), ("query", "tiny-gpt2")]
    for event in events:
        typed = {"model": ModelEvent, "query": QueryEvent}[event["kind"]]
        assert typed.__required_keys__ <= set(event) <= typed.__required_keys__ | typed.__optional_keys__, event["kind"]


def test_an_unknown_backend_name_is_one_usage_line(bench_project: pytest.Pytester) -> None:
    result = _run(bench_project, "--energy-models", "llamacpp:qwen2.5-0.5b")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: model 'llamacpp:qwen2.5-0.5b': unknown backend 'llamacpp': choose one of "
                                 "transformers, openai, ollama (others are installed as slm_energy.backends entry points)"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert not run_dirs(bench_project.path)


def test_the_projects_own_backends_are_entry_points() -> None:
    assert backend_names()[:3] == ("transformers", "openai", "ollama")
    assert get_backend("transformers").served is False
    assert get_backend("openai").api_key_env == "OPENAI_API_KEY" and get_backend("ollama").api_key_env is None


def test_a_registry_entry_naming_an_unknown_backend_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^my_models.json: model 'gpu': unknown backend 'vllm': choose one of "
                                          r"transformers, openai, ollama \(others are installed"):
        parse_registry({"models": {"gpu": {"backend": "vllm", "model": "Qwen/Qwen2.5-0.5B"}}}, "my_models.json")


def test_names_with_a_colon_that_are_not_backends_keep_their_old_messages() -> None:
    with pytest.raises(ConfigError, match=r"^unknown model 'qwen2.5:0.5b': use a registry alias"):
        resolve_model("qwen2.5:0.5b", load_registry(), ROOT)   # an Ollama tag typed without ollama:
    with pytest.raises(ConfigError, match=r"backend 'transformers' runs models in this process"):
        resolve_model("transformers:tiny-gpt2", load_registry(), ROOT)


CASES_TEST = '''
from slm_energy_plugin.workload.run_case import ask_case, score_case


def test_case(slm, slm_case):
    ask_case(slm, slm_case)
    score_case(slm, slm_case)
'''


def test_the_cases_backend_runs_cases_on_an_installed_served_backend(
        bench_project: pytest.Pytester, plugin_site: Path, server: LlamaServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # --energy-cases-backend once took only ollama|openai; any installed served backend runs the cases' models.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")]))
    bench_project.makepyfile(test_cases=CASES_TEST)
    (bench_project.path / "cases.json").write_text(json.dumps(
        [{"model": "qwen2.5-0.5b", "prompt": "What is 5 + 7?", "task_type": "qa", "reference_text": "12",
          "max_tokens": 8, "temperature": 0}]), encoding="utf-8")
    result = _run(bench_project, "test_cases.py", "--energy-cases", "cases.json", "--energy-cases-backend", "llamacpp",
                  "--energy-base-url", server.url)
    result.assert_outcomes(passed=1)
    [run_dir] = run_dirs(bench_project.path)
    served = load_model_json(run_dir, "llamacpp-qwen2.5-0.5b")
    assert served["model_info"]["backend"] == "llamacpp"
    assert [q["response"] for q in served["query_history"]] == ["12"]
    assert [p["prompt"] for p in server.prompts] == [served["query_history"][0]["query"]]


@pytest.mark.parametrize("name", ["transformers", "vllm"])
def test_a_cases_backend_that_is_not_an_installed_served_one_is_one_usage_line(
        bench_project: pytest.Pytester, name: str) -> None:
    result = _run(bench_project, "--energy-cases-backend", name)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--energy-cases-backend='{name}': expected a served backend installed in the "
                                 "slm_energy.backends entry-point group: openai, ollama"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert not run_dirs(bench_project.path)


def test_the_backend_fields_help_names_the_entry_point_group_and_every_built_in() -> None:
    # The results layer imports no backend, so the built-ins are written out; this keeps them the pyproject's.
    import tomllib

    from slm_energy_plugin.results.schema import FIELDS_BY_PATH

    own = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["entry-points"]
    text = FIELDS_BY_PATH["model_info.backend"].meaning
    assert "slm_energy.backends entry-point group" in text
    assert f"(built-ins: {', '.join(own['slm_energy.backends'])})" in text
