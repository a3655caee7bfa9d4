"""parse_json's bounds: every refusal names the file, and the depth shortcut never lets a deep document by."""

from __future__ import annotations

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.textfile import MAX_DEPTH, parse_json


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
