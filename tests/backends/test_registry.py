"""Model registry, availability verdicts, tiny model builds and the generation accounting."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.backends.availability import HubProbe, cached_snapshot, check_availability, probe_hub
from slm_energy_plugin.backends.registry import ModelSpec, load_registry, parse_registry, resolve_model, select_models
from slm_energy_plugin.backends.transformers_runtime import load_model
from slm_energy_plugin.backends.tiny import build_tiny, ensure_tiny

from ..local_http import LocalHandler, LocalServer


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def test_registry_has_the_seed_and_tiny_models(registry) -> None:
    assert registry.specs["phi2"].hub_id == "microsoft/phi-2"
    assert registry.specs["gpt2"].hub_id == "openai-community/gpt2"
    assert registry.specs["deepseek-r1-1.5b"].hub_id == "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
    assert registry.specs["deepseek-r1-1.5b"].prompt_style == "chat" and registry.specs["deepseek-r1-1.5b"].reasoning
    assert {"tiny-gpt2", "tiny-phi", "tiny-qwen2"} <= set(registry.default_selection)
    assert registry.specs["tiny-phi"].weights == "untrained"


def test_resolve_names(registry, tmp_path: Path) -> None:
    assert resolve_model("phi2", registry, tmp_path).alias == "phi2"
    hub = resolve_model("Qwen/Qwen2.5-0.5B-Instruct", registry, tmp_path)
    assert (hub.source, hub.alias, hub.hub_id) == ("hub", "Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct")
    folder = tmp_path / "my model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    local = resolve_model(str(folder), registry, tmp_path)
    assert (local.source, local.alias) == ("local", "my-model")
    with pytest.raises(ConfigError, match="unknown model 'phi-3'"):
        resolve_model("phi-3", registry, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="has no config.json"):
        resolve_model(str(empty), registry, tmp_path)


def test_select_models_overrides_tokens_and_rejects_alias_clashes(registry, tmp_path: Path) -> None:
    specs = select_models(("tiny-gpt2", "phi2"), registry, tmp_path, max_new_tokens=7)
    assert [(s.alias, s.max_new_tokens) for s in specs] == [("tiny-gpt2", 7), ("phi2", 7)]
    with pytest.raises(ConfigError, match="would both be called 'phi-2'"):
        select_models(("microsoft/phi-2", "other/phi-2"), registry, tmp_path)


@pytest.mark.parametrize(("entry", "message"), [
    ({"hub_id": "a/b", "dtype": "int3"}, "dtype 'int3'"),
    ({"hub_id": "a/b", "tiny": "gpt2"}, "exactly one of hub_id, tiny or path"),
    ({"hub_id": "a/b", "prompt_template": "no placeholder"}, "must contain {query}"),
    ({"hub_id": "a/b", "max_new_tokens": 0}, "positive whole number"),
    ({"hub_id": "a/b", "temperature": 0.7}, "unknown key 'temperature'"),
])
def test_registry_entries_are_validated(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_registry({"models": {"m": entry}}, "models.json")


def test_offline_verdict_for_an_uncached_hub_model(registry) -> None:
    verdict = check_availability(registry.specs["phi2"], offline=True, probe=HubProbe("http://127.0.0.1:9"))
    assert not verdict.available
    assert "offline mode is on" in verdict.reason and "hf download microsoft/phi-2" in verdict.reason


@pytest.fixture
def silent_server():
    """A socket that accepts connections (via the backlog) and never answers: a hung hub."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_unreachable_hub_verdict_comes_fast_and_once(registry, silent_server: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from slm_energy_plugin.backends import availability

    calls: list[float] = []
    real_probe = availability.probe_hub

    def counted(endpoint: str, timeout_s: float = 3.0) -> availability.HubVerdict:
        calls.append(timeout_s)
        return real_probe(endpoint, timeout_s)

    monkeypatch.setattr(availability, "probe_hub", counted)   # counts calls of the real probe
    probe = HubProbe(silent_server, timeout_s=0.5)
    started = time.perf_counter()
    first = check_availability(registry.specs["phi2"], offline=False, probe=probe)
    second = check_availability(registry.specs["gpt2"], offline=False, probe=probe)
    elapsed = time.perf_counter() - started
    assert not first.available and not second.available
    # The same words whether the socket timeout or the thread's join fires first (they race).
    assert "hub is unreachable" in first.reason and "no answer within 0.5 s" in first.reason
    assert calls == [0.5]   # one probe for both models
    assert elapsed < 5.0    # capped at 0.5 s, not transformers' ~50 s of retries (generous under load)


def test_probe_timeout_wording_is_the_same_when_the_socket_times_out_first(silent_server: str) -> None:
    """urlopen's timeout fires before the join when the thread is scheduled late: same words."""
    from slm_energy_plugin.backends import availability

    verdict = availability.probe_hub(silent_server, timeout_s=0.3)
    assert verdict.detail == "no answer within 0.3 s" and not verdict.reachable


def test_a_proxy_error_page_is_not_the_hub() -> None:
    """An HTTP server that answers 404 to everything, like a sandbox's interceptor."""
    class NotFound(LocalHandler):
        def do_GET(self) -> None:
            self.send_error(404)

    with LocalServer(NotFound) as server:
        verdict = probe_hub(server.url, timeout_s=2.0)
    assert not verdict.reachable and verdict.detail == "answered HTTP 404, not the hub's API"


def test_probe_reports_a_refused_connection() -> None:
    verdict = probe_hub("http://127.0.0.1:9", timeout_s=2.0)
    assert not verdict.reachable and verdict.seconds < 2.0


def test_cached_snapshot_is_found_in_a_hub_cache(tmp_path: Path, tiny_cache: Path) -> None:
    """A hub cache laid out as huggingface_hub writes it, holding a tiny model's files."""
    repo = tmp_path / "hub" / "models--acme--tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    source = next((tiny_cache / "tiny").glob("tiny-gpt2-*"))
    for item in source.iterdir():
        (snapshot / item.name).write_bytes(item.read_bytes())
    found = cached_snapshot("acme/tiny", None, cache_dir=tmp_path / "hub")
    assert found == snapshot
    assert cached_snapshot("acme/other", None, cache_dir=tmp_path / "hub") is None
    model = load_model(ModelSpec(alias="tiny", source="hub", hub_id="acme/tiny"), found)
    assert model.info({}).revision == commit  # the snapshot folder names the commit


def test_tiny_builds_are_deterministic(tmp_path: Path) -> None:
    first = build_tiny("phi", tmp_path / "a")
    second = build_tiny("phi", tmp_path / "b")

    def digest(folder: Path) -> str:
        return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()

    assert digest(first) == digest(second)


@pytest.mark.parametrize(("alias", "cls"), [("tiny-gpt2", "GPT2LMHeadModel"), ("tiny-phi", "PhiForCausalLM"),
                                            ("tiny-qwen2", "Qwen2ForCausalLM")])
def test_tiny_models_load_through_from_pretrained_and_count_tokens(registry, tiny_cache: Path, alias: str,
                                                                   cls: str) -> None:
    spec = registry.specs[alias]
    folder = ensure_tiny(alias, str(spec.tiny), root=tiny_cache / "tiny")
    model = load_model(spec, folder)
    assert type(model.model).__name__ == cls
    generation = model.generate("What is 7 + 5?", max_new_tokens=9)
    rendered = model.render_prompt("What is 7 + 5?")
    expected_input = len(model.tokenizer(rendered, add_special_tokens=spec.prompt_style != "chat")["input_ids"])
    assert generation.tokens_input == expected_input
    assert 1 <= generation.tokens_output <= 9
    assert generation.ttft_s is not None and 0 < generation.ttft_s <= generation.seconds
    if generation.tokens_output > 1:
        assert generation.decode_s is not None and generation.decode_tokens_per_s > 0
    again = model.generate("What is 7 + 5?", max_new_tokens=9)
    assert again.response == generation.response  # greedy decoding is deterministic
    info = model.info({"max_new_tokens": 9})
    assert info.weights == "untrained" and info.parameters == model.parameters > 100_000


def test_chat_models_use_the_chat_template_and_count_reasoning(registry, tiny_cache: Path) -> None:
    spec = registry.specs["tiny-qwen2"]
    model = load_model(spec, ensure_tiny("tiny-qwen2", "qwen2", root=tiny_cache / "tiny"))
    rendered = model.render_prompt("Hi")
    assert rendered.startswith("<|im_start|>user\nHi<|im_end|>") and rendered.endswith("<think>\n")
    generation = model.generate("Hi", max_new_tokens=5)
    # An untrained model never closes its <think>: no answer, every token was reasoning.
    assert generation.reasoning_tokens is None or generation.reasoning_tokens <= generation.tokens_output


def test_loglikelihoods_rank_continuations(registry, tiny_cache: Path) -> None:
    spec = registry.specs["tiny-gpt2"]
    model = load_model(spec, ensure_tiny("tiny-gpt2", "gpt2", root=tiny_cache / "tiny"))
    scores = model.loglikelihoods("The answer is", [" 4", " 4 4 4"])
    assert len(scores) == 2 and all(s < 0 for s in scores)
    assert scores[1] < scores[0]  # more tokens, more negative log-probability
