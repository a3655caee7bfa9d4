"""parse_json's bounds: every refusal names the file, and the depth shortcut never lets a deep document by."""

from __future__ import annotations

import json
import math
import random
import struct

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.safety import rust_search
from slm_energy_plugin.textfile import LONG_NUMBER_PATTERN, MAX_DEPTH, _may_hold_long_number, parse_json


def _nested(levels: int) -> str:
    return '{"x": ' * levels + "1" + "}" * levels


def test_depth_bound_is_exact_between_the_shortcut_and_the_recursion_limit() -> None:
    # 65 levels: more brackets than MAX_DEPTH, so the walk runs (CPython's own limit is ~1000).
    assert parse_json(_nested(MAX_DEPTH), "f.json") is not None
    with pytest.raises(ConfigError, match=rf"^f.json: nested more than {MAX_DEPTH} levels deep; refused$"):
        parse_json(_nested(MAX_DEPTH + 1), "f.json")


@pytest.mark.parametrize("opener, closer", [("[", "]"), ('{"x": [', "]}"), ('[{"x": ', "}]")])
def test_depth_bound_counts_lists_and_dicts_mixed(opener: str, closer: str) -> None:
    # The walk takes a level's dicts and lists apart: a level of both, and lists inside dicts
    # inside lists, still count one level each, beside shallow siblings of either kind.
    per_step = opener.count("[") + opener.count("{")

    def doc(levels: int) -> str:
        steps, rest = divmod(levels, per_step)
        return '[[], {}, ' + opener * steps + "[" * rest + "1" + "]" * rest + closer * steps + ', {"y": []}]'

    assert parse_json(doc(MAX_DEPTH - 1), "f.json") is not None
    with pytest.raises(ConfigError, match="nested more than"):
        parse_json(doc(MAX_DEPTH), "f.json")


def test_many_brackets_but_shallow_is_accepted() -> None:
    text = '{"a": [' + ", ".join(["[]", "{}"] * 100) + '], "s": "' + "[" * 200 + '"}'
    assert len(parse_json(text, "f.json")["a"]) == 200


@pytest.mark.parametrize("text, message", [
    ('{"n": ' + "9" * 65 + "}", "f.json: a number of 65 characters (more than 64) is refused"),
    ('{"n": 1.' + "5" * 70 + "}", "f.json: a number of 72 characters (more than 64) is refused"),
    ("[NaN]", "f.json: NaN is not a JSON number; refused"),
    ("\ufeff{}", "f.json: not valid JSON (line 1, column 1: Unexpected UTF-8 BOM (decode using utf-8-sig))"),
    ("[1,", "f.json: not valid JSON (line 1, column 4: Expecting value)"),
])
def test_refusals_name_the_file(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_json(text, "f.json")
    assert str(caught.value) == message


def test_nan_as_null_and_numbers_at_the_bound() -> None:
    assert parse_json("[NaN, Infinity]", "f.json", nan_as_null=True) == [None, None]
    assert parse_json("[" + "9" * 64 + "]", "f.json") == [int("9" * 64)]


def test_long_digit_runs_inside_strings_are_text_and_long_literals_beside_them_refused() -> None:
    # A run of number characters in a string sends the parse through the bounded callbacks: still
    # accepted; a long literal elsewhere in a big document is refused however the text starts.
    digits = "1234567890" * 10
    assert parse_json(f'{{"hash": "{digits}", "n": 1.5e-07}}', "f.json") == {"hash": digits, "n": 1.5e-07}
    rows = ", ".join(f'{{"q": "q{i:05d}", "e": {i * 1.1e-7}}}' for i in range(2000))
    with pytest.raises(ConfigError, match="a number of 70 characters"):
        parse_json(f'{{"rows": [{rows}], "n": {"7" * 70}}}', "f.json")


def _numbers(count: int, seed: int) -> list[str]:
    """Number literals as any writer may put them: shortest reprs, long mantissas, exponents of
    every size and spelling, integers past 64 bits, signs."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 56))).lstrip("0") or "0"
        sign = rng.choice(["", "-"])
        out.append(sign + digits)
        mantissa = digits[:1] + ("." + digits[1:] if len(digits) > 1 else "")
        out.append(f"{sign}{mantissa}{rng.choice('eE')}{rng.choice(['', '+', '-'])}{rng.randint(0, 330)}")
        out.append(repr(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]))
    return [n for n in out if n not in ("nan", "inf", "-inf")]


def test_values_are_read_exactly_as_the_standard_decoder_reads_them() -> None:
    # parse_json reads with pydantic_core's parser where it can: every value must be the one
    # json.loads gives (type and float bits included), keys in the same order.
    numbers = _numbers(20_000, seed=7)
    text = json.dumps({
        "numbers": [v for v in map(json.loads, numbers) if abs(v) != math.inf],
        "texts": ["plain", "é ü 中文 😀", "tab\tnew\nline \"q\" \\ back", "\u2028\u00a0", "\x00\x1b[31m", "/"],
        "nested": {"b": [1, {"c": None, "d": True, "e": False}], "a": {}, "z": []},
    }, ensure_ascii=False)
    literal = "[" + ", ".join(numbers) + ', "\\u00e9\\ud83d\\ude00", -0, -0.0, 1e400, {"k": 1, "j": 2, "k": 3}]'
    for document in (text, literal):
        expected, got = json.loads(document), parse_json(document, "f.json")
        assert json.dumps(got) == json.dumps(expected)
        assert repr(got) == repr(expected)


@pytest.mark.parametrize("text, value", [
    ('["\\ud800 lone surrogate escape"]', ["\ud800 lone surrogate escape"]),   # jiter refuses it; json reads it
    ('{"a": NaN, "b": [-Infinity]}', {"a": None, "b": [None]}),
])
def test_what_only_the_standard_decoder_accepts_is_still_read(text: str, value: object) -> None:
    assert parse_json(text, "f.json", nan_as_null=True) == value


@pytest.mark.parametrize("text, message", [
    ('{"a": "x\ny"}', "f.json: not valid JSON (line 1, column 9: Invalid control character at)"),
    ("[1, 2", "f.json: not valid JSON (line 1, column 6: Expecting ',' delimiter)"),
    ('{"a": 1,}', "f.json: not valid JSON (line 1, column 9: Expecting property name enclosed in double quotes)"),
    ("[01]", "f.json: not valid JSON (line 1, column 3: Expecting ',' delimiter)"),
    ("[1] x", "f.json: not valid JSON (line 1, column 5: Extra data)"),
    ("", "f.json: not valid JSON (line 1, column 1: Expecting value)"),
    ("[" * 300 + "]" * 300, f"f.json: nested more than {MAX_DEPTH} levels deep; refused"),
    ("[" * 150 + "]" * 150, f"f.json: nested more than {MAX_DEPTH} levels deep; refused"),
])
def test_refusals_are_worded_by_the_standard_decoder(text: str, message: str) -> None:
    # Whatever the fast parser refuses is read again by json: the messages are json's own.
    with pytest.raises(ConfigError) as caught:
        parse_json(text, "f.json")
    assert str(caught.value) == message


@pytest.mark.parametrize("text", [
    "9" * 64, "9" * 65, "-" + "9" * 64, "1." + "5" * 62 + "e", "1.5e+" + "0" * 60, "x" + "E" * 65 + "x",
    '"' + "1234567890" * 7 + '"', "\u00e9" + "7" * 65, "7" * 32 + "\u0660" + "7" * 32, "", "[1, 2.5e-07]",
])
def test_the_long_number_pattern_finds_what_the_search_finds(text: str) -> None:
    # A reader that searches a file's text for other patterns anyway adds LONG_NUMBER_PATTERN to
    # them and passes no_long_number to parse_json (results/storage.py): the two tests must agree.
    assert rust_search(LONG_NUMBER_PATTERN)(text) == _may_hold_long_number(text)
