"""The one redactor: URLs, argv, headers and free text; terminal control removed."""

from __future__ import annotations

import pytest

from slm_energy_plugin.backends.base import BackendError
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.results.collector import RunCollector
from slm_energy_plugin.safety import (
    MASK, is_secret_name, redact_argv, redact_text, redact_url, safe_message, strip_controls,
)


@pytest.mark.parametrize("url, expected", [
    ("http://user:s3cret@127.0.0.1:9400/metrics?token=abc", "http://***@127.0.0.1:9400/metrics?token=***"),
    ("https://host/v1?api_key=K&model=m", "https://host/v1?api_key=***&model=m"),
    ("https://TOKEN@github.com/o/r.git", "https://***@github.com/o/r.git"),
    ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),                      # nothing secret: unchanged
    ("http://h/m?access_token=x&sig=y&page=2", "http://h/m?access_token=***&sig=***&page=2"),
    ("http://u:p@h:notaport/x", "http://***@h:notaport/x"),               # malformed port: still masked
])
def test_urls_keep_where_and_lose_credentials(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize("text, secret", [
    # Header echoes as gateways write them: plain, JSON, Python repr.
    ("invalid key; you sent: Authorization: Bearer sk-proj-abcdef123456 Host: x", "abcdef123456"),
    ('{"headers": {"authorization": "Basic dTpwYXNz", "x-api-key": "K3Y-v4lue"}}', "dTpwYXNz"),
    ('{"headers": {"authorization": "Basic dTpwYXNz", "x-api-key": "K3Y-v4lue"}}', "K3Y-v4lue"),
    ("{'api-key': 'azure-key-123'}", "azure-key-123"),
    ("the key sk-ant-0123456789abcdef was rejected", "0123456789abcdef"),
    ("token hf_abcdefghijklmnopqrstuvwxyz1234 is invalid", "hf_abcdefghijklmnop"),
    ("OPENAI_API_KEY=sk-zzzzzzzzzzzz password: hunter2", "hunter2"),
    ("OPENAI_API_KEY=whatever-it-is", "whatever-it-is"),
    ("meter prometheus=http://user:s3cret@h/metrics?token=abc,metric=X", "s3cret"),
    ("meter prometheus=http://user:s3cret@h/metrics?token=abc,metric=X", "token=abc"),
])
def test_free_text_secrets_are_masked(text: str, secret: str) -> None:
    assert secret not in redact_text(text) and MASK in redact_text(text)


def test_ordinary_text_is_left_alone() -> None:
    text = ("tokenizer=gpt2 tokens_output: 12 api_key_env=OPENAI_API_KEY; counter {index=0} did not move; "
            "see http://127.0.0.1:8000/v1/models")
    assert redact_text(text) == text
    assert not is_secret_name("tokenizer") and not is_secret_name("api_key_env")
    assert is_secret_name("--energy-api-key") and is_secret_name("HF_TOKEN") and is_secret_name("X-Api-Key")


def test_argv_masks_values_of_secret_options_and_credentials_inside_others() -> None:
    argv = ["--energy-models", "openai:m", "--energy-meter", "prometheus=http://u:pw@h:9400/metrics?token=abc",
            "--energy-api-key", "sk-live", "--token=T0K", "-o", "energy_base_url=http://a:b@h/v1",
            "HF_TOKEN=hf_x", "tests/"]
    assert redact_argv(argv) == [
        "--energy-models", "openai:m", "--energy-meter", "prometheus=http://***@h:9400/metrics?token=***",
        "--energy-api-key", MASK, "--token=***", "-o", "energy_base_url=http://***@h/v1", "HF_TOKEN=***", "tests/"]


def test_terminal_control_is_stripped() -> None:
    body = "\x1b[2J\x1b]0;pwned\x07HTTP 401\x1b[31m red\x1b[0m\x9b2J\x08\x7f\r\nnext\tline"
    assert strip_controls(body) == "HTTP 401 red\nnext\tline"
    assert strip_controls(body, one_line=True) == "HTTP 401 red  next line"
    assert safe_message("\x1b]8;;http://u:p@h/\x1b\\link\x1b]8;;\x1b\\") == "link"


def test_every_error_message_is_made_safe_where_it_is_made() -> None:
    error = BackendError("http://h/v1 answered HTTP 401: \x1b[2J\x1b]0;pwned\x07Authorization: Bearer sk-abcdefghij12")
    assert str(error) == "http://h/v1 answered HTTP 401: Authorization: ***"
    assert str(ConfigError("cannot read http://u:s3cret@h/metrics")) == "cannot read http://***@h/metrics"


def test_the_collector_redacts_events_but_keeps_measured_text() -> None:
    collector = RunCollector("r", "2026-01-01T00:00:00Z", {}, {"meter": "prometheus=http://u:s3cret@h/m?token=abc"})
    assert collector.settings["meter"] == "prometheus=http://***@h/m?token=***"
    event = collector.ingest({"kind": "query", "alias": "m", "record": {
        "query": "What is api_key=42?", "response": "Authorization: Bearer shown-as-answered", "tokens_input": 1,
        "tokens_output": 1, "duration_s": 0.1, "outcome": "error",
        "error": "HTTP 401: \x1b[2JAuthorization: Bearer sk-abcdefghij12",
        "energy": None}})
    record = event["record"]
    assert record["error"] == "HTTP 401: Authorization: ***"
    assert record["query"] == "What is api_key=42?" and record["response"].endswith("shown-as-answered")
    manifest = collector.manifest([], status="complete", exit_status=0, wall_s=1.0,
                                  args=["--energy-base-url", "http://u:p@h/v1"], gate=[])
    assert manifest["args"] == ["--energy-base-url", "http://***@h/v1"]
