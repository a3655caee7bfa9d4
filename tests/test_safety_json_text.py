"""redaction_may_change: the search of a JSON text that lets readers skip the redaction walk.

It must say "may change" for every text whose value redact_tree would change (a superset of
every trigger); these tests check its parts over every code point and its whole against the walk.
"""

from __future__ import annotations

import json
import random
import re
import string
import sys

import pytest

from slm_energy_plugin.results.schema import MEASURED_TEXT
from slm_energy_plugin.safety import (
    _IGNORECASE_EXTRA, _SECRET_WORDS, _SPACE, _letters_as_ignorecase, rust_search, redact_tree,
    redaction_may_change,
)
from slm_energy_plugin.textfile import parse_json

_EVERY_CHARACTER = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


def test_letters_match_every_character_ignorecase_matches() -> None:
    letters = sorted({c.lower() for c in _SECRET_WORDS if c.isascii() and c.isalpha()})
    for letter in letters:
        python = set(re.findall(letter, _EVERY_CHARACTER, re.IGNORECASE))
        rust = rust_search(f"^{_letters_as_ignorecase(letter)}$")
        assert all(rust(c) for c in python), letter
        assert python - set(letter + letter.upper()) == set(_IGNORECASE_EXTRA.get(letter, "")), letter


def test_white_space_matches_every_character_backslash_s_matches() -> None:
    space = rust_search(f"^{_SPACE}$")
    python = re.findall(r"\s", _EVERY_CHARACTER)
    assert len(python) > 20 and all(space(c) for c in python)


# Pieces a secret is written with, and pieces that look like one but are not.
_PIECES = [
    "token", "TOKEN", "Token", "api_key", "X-Api-Key", "authorization", "Cookie", "set-cookie", "passwd", "sig",
    "SESSIONID", "credentials", "to\u212aen", "ſecret", "\u0130d_token", "sıg", "tokens", "tokenizer", "keys", "monkey",
    "=", ":", " = ", " : ", "\u00a0:", '"', "'", " ", "\t", "\u3000", "\n", "=abc", ": abc", "=***",
    "http://", "https://u:p@h/x", "://", "Bearer ", "bearer ", "BEARER abcd", "Basic dTpwYXNz", "basic ",
    "sk-", "sk-proj-abcdefgh12", "hf_abcdefghij", "ghp_0123456789", "xoxb-abcdefgh", "task-1234567890",
    "\x1b[31m", "\x9b2J", "\x7f", "\x85", "\r", "\x00", "\\", "\u2028", "é", "😀", "a", "1", ",", ";", "}",
]


def _fragment(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 4)))


def _document(rng: random.Random) -> object:
    """A results-file-like value: records with texts (some kept), nested objects, keys of the pieces."""
    def record() -> dict[str, object]:
        item: dict[str, object] = {"query_id": f"q{rng.randint(1, 999):03d}", "energy": {"methods": {"cpu": "rapl"}}}
        for _ in range(rng.randint(0, 3)):
            where = rng.choice(["key", "value", "kept", "list", "nested"])
            if where == "key":
                item[_fragment(rng)] = rng.choice([_fragment(rng), 1, None, ["x"]])
            elif where == "value":
                item[rng.choice(["error", "task", "test_id"])] = _fragment(rng)
            elif where == "kept":
                item[rng.choice(sorted(MEASURED_TEXT))] = rng.choice([_fragment(rng), {"a": _fragment(rng)}])
            elif where == "list":
                item["warnings"] = [_fragment(rng) for _ in range(2)]
            else:
                item["extra"] = {rng.choice(["note", _fragment(rng)]): {"deep": _fragment(rng)}}
        return item
    return {"model": "org/m", "query_history": [record() for _ in range(rng.randint(1, 3))]}


@pytest.mark.parametrize("ensure_ascii, indent", [(False, 2), (True, None), (False, None)])
def test_whenever_the_search_finds_nothing_the_walk_changes_nothing(ensure_ascii: bool, indent: int | None) -> None:
    rng = random.Random(f"{ensure_ascii}{indent}")
    skipped = changed = 0
    for _ in range(4000):
        text = json.dumps(_document(rng), ensure_ascii=ensure_ascii, indent=indent)
        value = parse_json(text, "f.json")
        walked = redact_tree(value, MEASURED_TEXT)
        if walked != value or json.dumps(walked) != json.dumps(value):
            changed += 1
            assert redaction_may_change(text, MEASURED_TEXT), text
        if not redaction_may_change(text, MEASURED_TEXT):
            skipped += 1
            assert walked == value
    assert changed > 500 and skipped > 100    # both sides were exercised


@pytest.mark.parametrize("value", [
    "Authorization: Bearer sk-proj-abcdef123456", "OPENAI_API_KEY=whatever-it-is", "http://user:s3cret@h/metrics",
    "token hf_abcdefghijklmnopqrstuvwxyz1234 is invalid", "\x1b[2Jcleared", "password : hunter2",
    "see https://example.org/docs",
])
def test_a_secret_anywhere_but_in_measured_text_is_found(value: str) -> None:
    for document in ({"error": value}, {"extra": {"notes": ["x", value]}}, {value: "v"}, {"extra": {"k": {value: 1}}}):
        assert redaction_may_change(json.dumps(document, ensure_ascii=False), MEASURED_TEXT), document
    assert redaction_may_change(json.dumps({"api_key": "abc"}), MEASURED_TEXT)
    assert redaction_may_change(json.dumps({"session ": "abc"}), MEASURED_TEXT)


def test_measured_text_is_left_out_of_the_search_but_nothing_that_imitates_it() -> None:
    answer = "Sure:\n  curl -H 'Authorization: Bearer sk-abcdefghijkl' https://u:p@h/v1 \\\n  # token=1"
    assert not redaction_may_change(json.dumps({"query": "q", "response": answer, "expected": answer}), MEASURED_TEXT)
    assert not redaction_may_change(json.dumps({"rows": [{"response": answer}] * 3}, indent=2), MEASURED_TEXT)
    # A key that only ends in "response" (its quote escaped), and a kept key holding an object.
    assert redaction_may_change(json.dumps({'x"response': "token=1"}), MEASURED_TEXT)
    assert redaction_may_change(json.dumps({"response": {"token": "1"}}), MEASURED_TEXT)
    # Without keys to keep, the answers are searched too.
    assert redaction_may_change(json.dumps({"response": answer}))


def test_plain_ascii_documents_need_no_walk() -> None:
    text = json.dumps({"model": "org/m", "tokens_output": 3, "energy": {"methods": {"cpu": "cpu-load-estimate"}},
                       "started_at": "2026-01-01T00:00:00Z", "letters": string.ascii_letters}, indent=2)
    assert not redaction_may_change(text, MEASURED_TEXT)
