"""Served model names, registry entries, URLs and their defaults (pure), and an Ollama run end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.backends.registry import parse_registry, resolve_model, select_models
from slm_energy_plugin.backends.served import (default_base_url, energy_scope, interface_addresses, is_loopback,
                                               server_energy_measured, served_spec_from_name,
                                               strip_credentials, with_base_urls)
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.settings import build_settings

from ..conftest import load_model_json, run_dirs
from .scripted_server import WORDS, ScriptedServer


def test_typed_names_become_served_specs_with_safe_aliases() -> None:
    registry = parse_registry({"models": {"tiny-gpt2": {"tiny": "gpt2"}}}, "test")
    spec = resolve_model("ollama:qwen2.5:0.5b", registry, Path.cwd())
    assert (spec.alias, spec.backend, spec.served_name, spec.model_id) == (
        "ollama-qwen2.5-0.5b", "ollama", "qwen2.5:0.5b", "ollama:qwen2.5:0.5b")
    spec = resolve_model("openai:Qwen/Qwen2.5-0.5B-Instruct", registry, Path.cwd())
    assert spec.alias == "openai-Qwen2.5-0.5B-Instruct" and spec.api_key_env == "OPENAI_API_KEY"
    assert served_spec_from_name("tiny-gpt2") is None
    with pytest.raises(ConfigError, match="name the served model after 'openai:'"):
        served_spec_from_name("openai:")


def test_a_path_like_served_name_gets_a_short_alias_and_same_basenames_do_not_collide(tmp_path: Path) -> None:
    # Issue 20: openai:/tmp/x/tiny-qwen2 was called openai-tmp-x-tiny-qwen2 (files, ids, tables).
    registry = parse_registry({"models": {"tiny-gpt2": {"tiny": "gpt2"}}}, "test")
    [spec] = select_models(("openai:/tmp/x/tiny-qwen2",), registry, tmp_path)
    assert spec.alias == "openai-tiny-qwen2" and spec.served_name == "/tmp/x/tiny-qwen2"
    assert spec.model_id == "openai:/tmp/x/tiny-qwen2"
    # Two folders with one basename: each takes its parent folder too, until they differ.
    specs = select_models(("openai:/srv/a/m", "openai:/srv/b/m", "ollama:m", "openai:/x/a/m"), registry, tmp_path)
    assert [s.alias for s in specs] == ["openai-srv-a-m", "openai-b-m", "ollama-m", "openai-x-a-m"]
    assert [s.served_name for s in specs] == ["/srv/a/m", "/srv/b/m", "m", "/x/a/m"]


def test_registry_entries_name_backend_url_and_key_variable() -> None:
    registry = parse_registry({"models": {"box": {
        "backend": "openai", "model": "m", "base_url": "http://gpu-box:8000/v1/", "api_key_env": "BOX_KEY",
        "prompt_style": "plain", "prompt_template": "Q: {query}"}}}, "test")
    spec = registry.specs["box"]
    assert (spec.backend, spec.base_url, spec.api_key_env, spec.prompt_style) == (
        "openai", "http://gpu-box:8000/v1", "BOX_KEY", "plain")
    for entry, words in [({"backend": "openai"}, "needs \"model\""),
                         ({"backend": "tgi", "model": "m"}, "backend 'tgi'"),
                         ({"backend": "openai", "model": "m", "api_key_env": "sk-123 secret"}, "NAME of an environment"),
                         ({"backend": "openai", "model": "m", "base_url": "gpu-box:8000"}, "not an http"),
                         ({"backend": "openai", "model": "m", "hub_id": "a/b"}, "unknown key 'hub_id'")]:
        with pytest.raises(ConfigError, match=words):
            parse_registry({"models": {"x": entry}}, "test")


def test_base_url_precedence_and_recorded_form() -> None:
    env = {"OPENAI_BASE_URL": "http://env-host:9000/v1", "OLLAMA_HOST": "0.0.0.0:11435"}
    assert default_base_url("openai", None, {}) == "http://127.0.0.1:8000/v1"
    assert default_base_url("openai", None, env) == "http://env-host:9000/v1"
    assert default_base_url("openai", "http://opt:1/v1", env) == "http://opt:1/v1"
    assert default_base_url("ollama", None, env) == "http://0.0.0.0:11435"
    assert default_base_url("ollama", None, {}) == "http://127.0.0.1:11434"
    spec = served_spec_from_name("openai:m")
    assert spec is not None
    [settled] = with_base_urls([spec], None, env)
    assert settled.base_url == "http://env-host:9000/v1"
    assert strip_credentials("https://user:pw@host:8443/v1?token=abc") == "https://host:8443/v1"
    assert is_loopback("http://127.0.0.1:8000/v1") and is_loopback("http://localhost:1") and is_loopback("http://[::1]:8/")
    assert not is_loopback("http://gpu-box:8000/v1")
    assert energy_scope("http://127.0.0.1:8000", "codecarbon") == "whole machine, includes the server"
    assert energy_scope("http://gpu-box:8000", "codecarbon").startswith("not measured: the server runs on another")
    # An address of one of this machine's interfaces is this machine too.
    assert is_loopback("http://10.1.2.3:8000/v1", frozenset({"10.1.2.3"}))
    assert not is_loopback("http://10.1.2.4:8000/v1", frozenset({"10.1.2.3"}))
    assert "127.0.0.1" in interface_addresses()
    assert server_energy_measured("http://gpu-box:1", "prometheus:DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")
    assert not server_energy_measured("http://gpu-box:1", "codecarbon")


def _interface_ipv4() -> str:
    found = sorted(a for a in interface_addresses() if "." in a and not a.startswith("127."))
    if not found:
        pytest.skip("this machine has no non-loopback IPv4 interface")
    return found[0]


HIDE_LOCAL_ADDRESSES = """
import slm_energy_plugin.backends.served as served

# This sandbox has no second machine: the test server listens on this machine's own interface
# address, and this hides the machine's addresses so that the server counts as elsewhere.
served.interface_addresses = lambda: frozenset({"127.0.0.1", "::1"})
"""


@pytest.mark.parametrize("remote", [False, True], ids=["own-interface", "elsewhere"])
def test_a_server_elsewhere_without_its_own_meter_is_not_measured(
        bench_project: "pytest.Pytester", monkeypatch: pytest.MonkeyPatch, remote: bool) -> None:
    host = _interface_ipv4()
    if remote:
        bench_project.makeconftest(HIDE_LOCAL_ADDRESSES)
    with ScriptedServer(host) as server:
        result = bench_project.runpytest_subprocess(
            "--energy-models", "openai:m", "--energy-base-url", server.url + "/v1", "--benchmark-disable",
            "--energy-idle-seconds", "0.2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    [run_dir] = run_dirs(bench_project.path)
    data = load_model_json(run_dir, "openai-m")
    scope = data["model_info"]["server"]["energy_scope"]
    history = data["query_history"]
    assert all(q["tokens_output"] > 0 and q["ttft_s"] > 0 for q in history)   # time and tokens either way
    if not remote:   # this machine's own address: the machine meter covers the server
        assert scope == "whole machine, includes the server"
        assert all(q["energy_kwh"] is not None for q in history)
        return
    assert scope.startswith("not measured: the server runs on another machine")
    assert data["energy_meter"]["name"] == "not-measured (remote server)" and data["energy_provenance"] == "none"
    assert server.url in data["energy_meter"]["description"]
    for query in history:   # not the client machine's energy presented as the request's
        assert query["energy_kwh"] is None and query["net_energy_kwh"] is None and query["emissions"] is None
        assert set(query["energy"]["methods"].values()) == {"not-measured"}
    assert data["idle_power"] is None
    result.stdout.fnmatch_lines(["Energy: not measured - openai-m: the model runs at http://*, another machine*"])


def test_options_are_checked_in_one_line(tmp_path: Path) -> None:
    settings = build_settings({"energy_base_url": "http://h:1/v1/", "energy_concurrency": "4"}, {}, tmp_path)
    assert settings.base_url == "http://h:1/v1" and settings.concurrency == (4,)
    with pytest.raises(ConfigError, match="--energy-base-url"):
        build_settings({"energy_base_url": "h:1"}, {}, tmp_path)
    with pytest.raises(ConfigError, match="--energy-concurrency='0': must be at least 1"):
        build_settings({"energy_concurrency": "0"}, {}, tmp_path)


def test_an_ollama_model_end_to_end(bench_project: "pytest.Pytester", monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer() as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url.removeprefix("http://"))
        result = bench_project.runpytest_subprocess("--energy-models", "ollama:llama3.2,tiny-gpt2", "--benchmark-disable",
                                         "--energy-meter", "null")
    result.assert_outcomes(passed=6)
    [run_dir] = run_dirs(bench_project.path)
    data = load_model_json(run_dir, "ollama-llama3.2")
    assert data["model_info"]["backend"] == "ollama" and data["model_info"]["server"]["model_id"] == "llama3.2"
    assert data["model_info"]["server"]["energy_scope"] == "whole machine, includes the server"
    first = data["query_history"][0]
    assert first["response"] == "".join(WORDS) and (first["tokens_input"], first["tokens_output"]) == (11, 18)
    assert first["extra"]["backend"]["server"]["eval_s"] == pytest.approx(0.052479709)
