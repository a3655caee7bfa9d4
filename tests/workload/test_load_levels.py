"""Load levels (--energy-batch-size, --energy-concurrency): parsing, models per level, and the asks
a test makes (one source for the fixture and the planned generations)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.backends.sampling import Sampling
from slm_energy_plugin.backends.spec import ModelSpec
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.settings import build_settings
from slm_energy_plugin.workload.asks import Ask, AskDefaults, ask_rounds
from slm_energy_plugin.workload.variants import expand_load_levels

LOCAL = ModelSpec(alias="tiny-gpt2", source="tiny", tiny="gpt2", prompt_template="Question: {query}\nAnswer:")
SERVED = ModelSpec(alias="srv", source="served", backend="openai", served_name="m", base_url="http://127.0.0.1:1/v1")


def test_levels_parse_as_one_value_or_a_list(tmp_path: Path) -> None:
    default = build_settings({}, {}, tmp_path, environ={})
    assert default.batch_size == (1,) and default.concurrency == (1,)
    given = build_settings({"energy_batch_size": "1, 8,8"}, {"energy_concurrency": "4"}, tmp_path, environ={})
    assert given.batch_size == (1, 8) and given.concurrency == (4,)
    assert given.to_dict()["batch_size"] == [1, 8] and given.to_dict()["concurrency"] == [4]


@pytest.mark.parametrize(("value", "message"), [
    ("0", "--energy-batch-size='0': must be at least 1"),
    ("1,x", "expected a whole number"),
    ("5000", "must be at most 4,096"),
    (",", "expected a whole number or a list such as 1,8"),
])
def test_bad_levels_are_one_line(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_settings({"energy_batch_size": value}, {}, tmp_path, environ={})
    assert message in str(info.value) and "\n" not in str(info.value)


def test_one_level_keeps_the_alias_several_make_one_model_per_level() -> None:
    one = expand_load_levels([LOCAL, SERVED], (8,), (1,))
    assert [(s.alias, s.batch_size, s.concurrency, s.load_level) for s in one] == \
        [("tiny-gpt2", 8, 1, 8), ("srv", 1, 1, 1)]
    many = expand_load_levels([LOCAL, SERVED], (1, 8), (2, 4))
    assert [(s.alias, s.load_level) for s in many] == \
        [("tiny-gpt2-b1", 1), ("tiny-gpt2-b8", 8), ("srv-c2", 2), ("srv-c4", 4)]
    assert {s.model_id for s in many[:2]} == {LOCAL.model_id}   # the same weights, two load levels


def test_asks_carry_rounds_limits_and_the_prompt_format_stops() -> None:
    defaults = AskDefaults(max_new_tokens=12, repeat=3, sampling=Sampling(0.7, None, 5), stops=True)
    asks = ask_rounds(LOCAL, "What is 2 + 2?", "math", defaults)
    assert [a.sampling.seed for a in asks] == [5, 6, 7]                # round r samples with seed + r
    assert {(a.max_new_tokens, a.min_new_tokens, a.stop) for a in asks} == {(12, None, ("\nQuestion:", "\n\n"))}
    case = ask_rounds(LOCAL, "Write a poem.", "creative", defaults, max_new_tokens=40, sampling=Sampling(0.0),
                      stop=("END",))
    assert case[0] == Ask("Write a poem.", 40, None, Sampling(0.0), ("\nQuestion:", "END"))
    off = ask_rounds(LOCAL, "x", "math", AskDefaults(12, 1, Sampling(), stops=False))
    assert off[0].stop == ()
