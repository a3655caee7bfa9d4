"""The openai: and ollama: clients against a real HTTP server on 127.0.0.1 that speaks the documented
wire shapes (and scripted faults). Ollama itself cannot run here: its native API is exercised on the
response shapes of its documentation."""

from __future__ import annotations

from typing import Iterator

import pytest

from slm_energy_plugin.backends.base import BackendError, ModelBackend
from slm_energy_plugin.backends.http_stream import Timeouts
from slm_energy_plugin.backends.ollama_backend import OllamaBackend
from slm_energy_plugin.backends.openai_backend import OpenAIBackend
from slm_energy_plugin.backends.served import served_spec_from_name
from slm_energy_plugin.backends.spec import ModelSpec
from slm_energy_plugin.backends.token_count import SERVER_USAGE, STREAM_PIECES

from .scripted_server import WORDS, ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def _openai(server: ScriptedServer, style: str = "chat", **kw: object) -> OpenAIBackend:
    spec = served_spec_from_name("openai:scripted-model")
    assert spec is not None
    from dataclasses import replace

    spec = replace(spec, base_url=server.url + "/v1", prompt_style=style,
                   prompt_template="Q: {query}\nA:", **kw)  # type: ignore[arg-type]
    return OpenAIBackend(spec, Timeouts(connect_s=1.0, read_s=0.5))


def _ollama(server: ScriptedServer, style: str = "chat") -> OllamaBackend:
    spec = ModelSpec(alias="ollama-llama3.2", source="served", backend="ollama", served_name="llama3.2",
                     base_url=server.url, prompt_style=style, prompt_template="Q: {query}\nA:")
    return OllamaBackend(spec, Timeouts(connect_s=1.0, read_s=0.5))


def test_both_backends_and_the_in_process_model_satisfy_the_interface(server: ScriptedServer) -> None:
    from slm_energy_plugin.backends.transformers_runtime import LoadedModel

    assert isinstance(_openai(server), ModelBackend) and isinstance(_ollama(server), ModelBackend)
    for member in ("generate", "prompt_tokens", "loglikelihoods", "info", "close", "alias"):
        assert hasattr(LoadedModel, member), member


def test_openai_chat_stream_gives_usage_tokens_ttft_and_server_model(server: ScriptedServer) -> None:
    backend = _openai(server)
    backend.probe()
    generation = backend.generate("What is 7 + 5?", 16)
    assert generation.response == "".join(WORDS)
    assert (generation.tokens_input, generation.tokens_output) == (9, len(WORDS))
    assert generation.extra["token_source"] == SERVER_USAGE
    assert generation.extra["server_model"] == "scripted-model-v1"
    assert generation.hit_eos and generation.extra["finish_reason"] == "stop"
    assert generation.ttft_s is not None and 0 < generation.ttft_s <= generation.seconds
    assert generation.decode_s is not None and generation.decode_s <= generation.seconds - generation.ttft_s + 1e-6
    request = server.requests[-1]
    assert request["__path__"] == "/v1/chat/completions" and request["stream"] is True
    assert request["stream_options"] == {"include_usage": True} and request["max_tokens"] == 16
    assert request["messages"] == [{"role": "user", "content": "What is 7 + 5?"}]
    info = backend.info({}).to_dict()
    assert info["backend"] == "openai" and info["server"]["model_id"] == "scripted-model"
    assert info["server"]["base_url"] == server.url + "/v1"


def test_plain_prompt_style_uses_completions_with_the_template(server: ScriptedServer) -> None:
    generation = _openai(server, style="plain").generate("What is 7 + 5?", 8)
    assert server.requests[-1]["__path__"] == "/v1/completions"
    assert server.requests[-1]["prompt"] == "Q: What is 7 + 5?\nA:"
    assert generation.response == "".join(WORDS) and generation.tokens_output == len(WORDS)


def test_reasoning_content_counts_as_reasoning_tokens(server: ScriptedServer) -> None:
    server.mode = "reasoning"
    generation = _openai(server).generate("q", 16)
    assert generation.reasoning_tokens == 3 and generation.extra["reasoning_token_source"] == SERVER_USAGE
    assert generation.response == "".join(WORDS)   # the thinking is not the answer


def test_without_usage_tokens_are_counted_and_labelled(server: ScriptedServer, tiny_cache: object,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    server.mode = "no-usage"
    generation = _openai(server).generate("q", 16)
    assert generation.extra["token_source"] == STREAM_PIECES and generation.tokens_output == len(WORDS)
    assert generation.tokens_input == 0 and "tokens_input_note" in generation.extra
    monkeypatch.setenv("SLM_ENERGY_CACHE_DIR", str(tiny_cache))
    counted = _openai(server, tokenizer="tiny-qwen2").generate("What is 7 + 5?", 16)
    assert counted.extra["token_source"] == "tokenizer:tiny-qwen2"
    assert counted.tokens_input > 0 and counted.tokens_output > 0


def test_api_key_comes_from_the_named_variable_and_is_never_recorded(server: ScriptedServer,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRIPTED_KEY", "sk-secret-123")
    backend = _openai(server, api_key_env="SCRIPTED_KEY")
    generation = backend.generate("q", 4)
    assert server.requests[-1]["__auth__"] == "Bearer sk-secret-123"
    assert "sk-secret" not in repr(backend.info({}).to_dict()) + repr(generation.extra)


@pytest.mark.parametrize(("mode", "words"), [
    ("500", "answered HTTP 500: {\"error\": {\"message\": \"CUDA out of memory\"}}; check the server's log"),
    ("404", "check the model name"),
    ("malformed", "malformed stream"),
    ("truncated", "truncated stream"),
    ("slow", "read timeout"),
    ("die", "closed the connection mid-answer"),
])
def test_faults_become_one_line_that_says_what_to_check(server: ScriptedServer, mode: str, words: str) -> None:
    server.mode = mode
    with pytest.raises(BackendError) as caught:
        _openai(server).generate("q", 8)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    server.mode = "ok"   # the next query goes through: one failure does not poison the client
    assert _openai(server).generate("q", 8).response == "".join(WORDS)


def test_server_down_is_one_line_and_the_probe_keeps_it() -> None:
    spec = ModelSpec(alias="down", source="served", backend="openai", served_name="m",
                     base_url="http://127.0.0.1:9/v1", prompt_style="chat")
    backend = OpenAIBackend(spec, Timeouts(connect_s=0.5, read_s=0.5))
    backend.probe()
    assert backend.probe_error is not None and "cannot connect to http://127.0.0.1:9/v1/models" in backend.probe_error
    with pytest.raises(BackendError, match="check that the server is running"):
        backend.generate("q", 4)


@pytest.mark.parametrize("style", ["chat", "plain"])
def test_ollama_records_its_own_counters_beside_the_client_timings(server: ScriptedServer, style: str) -> None:
    backend = _ollama(server, style)
    backend.probe()
    generation = backend.generate("What is 7 + 5?", 16)
    assert server.requests[-1]["__path__"] == ("/api/chat" if style == "chat" else "/api/generate")
    assert server.requests[-1]["options"]["num_predict"] == 16
    assert generation.response == "".join(WORDS)
    assert (generation.tokens_input, generation.tokens_output) == (11, 18)   # the server's counts
    timings = generation.extra["server"]
    assert timings["load_s"] == pytest.approx(0.101397084)
    assert timings["prompt_eval_s"] == pytest.approx(0.013074791)
    assert timings["eval_s"] == pytest.approx(0.052479709) and timings["total_s"] == pytest.approx(0.174560334)
    assert timings["server_decode_tokens_per_s"] == pytest.approx(18 / 0.052479709)
    assert generation.ttft_s is not None and generation.decode_s is not None
    info = backend.info({}).to_dict()
    assert info["backend"] == "ollama" and info["server"]["model_id"] == "llama3.2"
    assert info["server"]["server_version"] == "0.12.6"


def test_ollama_thinking_counts_as_reasoning(server: ScriptedServer) -> None:
    server.mode = "reasoning"
    generation = _ollama(server).generate("q", 16)
    assert generation.reasoning_tokens == 3 and generation.response == "".join(WORDS)


@pytest.mark.parametrize(("mode", "words"), [("truncated", "without done: true"), ("malformed", "malformed stream"),
                                             ("500", "HTTP 500"), ("die", "mid-answer")])
def test_ollama_faults(server: ScriptedServer, mode: str, words: str) -> None:
    server.mode = mode
    with pytest.raises(BackendError, match=words):
        _ollama(server).generate("q", 8)
