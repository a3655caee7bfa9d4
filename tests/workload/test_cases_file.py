"""The cases loader: the seed's test_cases.json format, defaults, strict types, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slm_energy_plugin.backends.spec import ModelSpec
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.workload.cases import TASK_TYPES, load_cases, normalise_task_type, parse_cases
from slm_energy_plugin.workload.run_case import case_model_specs, case_params, case_sampling, resolve_case

SEED_CASES = [
    {"model": "gpt2", "prompt": "What is the capital of Italy?", "task_type": "knowledge QA",
     "reference_text": "Rome"},
    {"model": "microsoft/phi-2", "prompt": "Summarise: a long text.", "task_type": "summarisation",
     "reference_text": "A text.", "max_tokens": 50, "temperature": 0.2},
    {"model": "gpt2", "prompt": "def f():", "task_type": "code generation"},
    {"model": "gpt2", "prompt": "A poem about rain.", "task_type": "creative writing", "temperature": 1.0},
]


def _parse(items: object) -> list:
    return parse_cases(json.dumps(items), "cases.json")


def test_seed_format_parses_with_defaults():
    cases = _parse(SEED_CASES)
    assert [c.task_type for c in cases] == ["qa", "summary", "code", "creative"]
    assert [c.case_id for c in cases] == ["c001", "c002", "c003", "c004"]
    first = cases[0]
    assert (first.model, first.max_tokens, first.temperature, first.top_p, first.seed, first.stop, first.load) == \
        ("gpt2", 200, 0.7, None, None, None, None)
    assert (cases[1].max_tokens, cases[1].temperature) == (50, 0.2)
    assert cases[2].reference_text is None


def test_every_extra_field():
    case = _parse([{"id": "x-1", "prompt": "p", "task_type": "qa", "top_p": 0.9, "seed": 7,
                    "stop": ["\n\n", "END"], "load": "long", "temperature": 0}])[0]
    assert (case.case_id, case.top_p, case.seed, case.stop, case.load, case.temperature, case.model) == \
        ("x-1", 0.9, 7, ("\n\n", "END"), "long", 0.0, None)
    assert _parse([{"prompt": "p", "task_type": "qa", "stop": "END"}])[0].stop == ("END",)
    code = _parse([{"prompt": "def f():", "task_type": "code", "tests": "def check(c): pass", "entry_point": "f"}])[0]
    assert code.tests and code.entry_point == "f"


@pytest.mark.parametrize(("name", "task"), [
    ("knowledge QA", "qa"), ("Knowledge_QA", "qa"), ("summarization", "summary"), ("Summarisation", "summary"),
    ("code-generation", "code"), ("Creative Writing", "creative"), ("creative", "creative"),
])
def test_task_types_normalised(name, task):
    assert normalise_task_type(name) == task and task in TASK_TYPES


@pytest.mark.parametrize(("items", "message"), [
    ({"prompt": "p"}, "expected a JSON list of cases"),
    ([], "holds no cases"),
    (["p"], "case 1: expected a JSON object"),
    ([{"task_type": "qa"}], "case 1: field 'prompt': required field missing"),
    ([{"prompt": "p", "task_type": "qa"}, {"prompt": "p", "task_type": "poetry"}], "case 2: field 'task_type': unknown task type 'poetry'"),
    ([{"prompt": "p", "task_type": "qa", "max_tokens": "200"}], "case 1: field 'max_tokens'"),
    ([{"prompt": "p", "task_type": "qa", "max_tokens": 0}], "case 1: field 'max_tokens'"),
    ([{"prompt": "p", "task_type": "qa", "temperature": True}], "case 1: field 'temperature'"),
    ([{"prompt": "p", "task_type": "qa", "temperature": 3}], "case 1: field 'temperature'"),
    ([{"prompt": "p", "task_type": "qa", "top_p": 0}], "case 1: field 'top_p'"),
    ([{"prompt": "p", "task_type": "qa", "seed": -1}], "case 1: field 'seed'"),
    ([{"prompt": "p", "task_type": "qa", "stop": [1]}], "case 1: field 'stop'"),
    ([{"prompt": "p", "task_type": "qa", "colour": "red"}], "case 1: field 'colour': unknown field"),
    ([{"prompt": "", "task_type": "qa"}], "case 1: field 'prompt'"),
    ([{"id": "a b", "prompt": "p", "task_type": "qa"}], "case 1 (id 'a b'): field 'id'"),
    ([{"id": "a", "prompt": "p", "task_type": "qa"}, {"id": "a", "prompt": "q", "task_type": "qa"}],
     "case 2: field 'id': 'a' repeats case 1's id"),
    ([{"prompt": "p", "task_type": "qa", "stop": [["deep"]]}], "case 1: nested too deeply"),
    ([{"prompt": "p", "task_type": "code", "tests": "x"}], "case 1: field 'tests': code tests need both"),
])
def test_bad_cases_are_one_line_naming_index_and_field(items, message):
    with pytest.raises(ConfigError) as info:
        _parse(items)
    text = str(info.value)
    assert message in text and "\n" not in text and "cases.json" in text


def test_bad_json_and_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_cases("[{", "x.json")
    with pytest.raises(ConfigError, match="nested too deeply|not valid JSON"):
        parse_cases("[" * 100_000, "x.json")
    with pytest.raises(ConfigError, match="no such file"):
        load_cases(tmp_path / "missing.json")


def test_builtin_cases_cover_every_task_type_and_stay_small():
    cases = load_cases()
    assert {c.task_type for c in cases} == set(TASK_TYPES)
    for task in TASK_TYPES:
        assert 3 <= sum(c.task_type == task for c in cases) <= 4
    assert all(c.max_tokens <= 64 for c in cases)
    assert all(c.reference_text for c in cases if c.task_type in ("qa", "summary"))


def _spec(alias: str, hub_id: str | None = None) -> ModelSpec:
    return ModelSpec(alias=alias, source="hub" if hub_id else "tiny", hub_id=hub_id, tiny=None if hub_id else "gpt2")


def test_case_runs_on_the_model_it_names_or_on_every_model():
    specs = [_spec("gpt2", "openai-community/gpt2"), _spec("tiny-gpt2")]
    cases = _parse([{"id": "a", "prompt": "p", "task_type": "qa"},
                    {"id": "b", "model": "openai-community/gpt2", "prompt": "p", "task_type": "qa"},
                    {"id": "c", "model": "tiny-gpt2", "prompt": "p", "task_type": "qa"},
                    {"id": "d", "model": "phi2", "prompt": "p", "task_type": "qa"}])
    params = case_params(cases[:3], specs)
    assert [p.id for p in params] == ["gpt2-a", "tiny-gpt2-a", "gpt2-b", "tiny-gpt2-c"]
    # A model no selected model answers to, and no served engine to resolve it through: a usage error.
    with pytest.raises(ConfigError) as info:
        case_model_specs(cases, specs, None)
    assert str(info.value).startswith("case 4 (id d) names model 'phi2', which is neither selected")
    assert "--energy-cases-backend openai|ollama" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="case 4 .* not selected"):
        case_params(cases, specs)


def test_an_ollama_name_resolves_through_the_named_backend():
    specs = [_spec("tiny-gpt2")]
    cases = _parse(EXPERIMENT_CASES + [{"model": "openai:qwen2.5", "prompt": "p", "task_type": "qa"},
                                       {"prompt": "p", "task_type": "qa", "id": "everywhere"}])
    with pytest.raises(ConfigError, match=r"case 1 \(id c001\) names model 'llama3.2:3b'"):
        case_model_specs(cases, specs, None)
    named = case_model_specs(cases, specs, "ollama")
    assert [(s.backend, s.served_name, s.alias) for s in named] == [
        ("ollama", "llama3.2:3b", "ollama-llama3.2-3b"), ("openai", "qwen2.5", "openai-qwen2.5")]
    params = case_params(cases, specs + named)
    assert [p.id for p in params] == [
        "ollama-llama3.2-3b-c001", "ollama-llama3.2-3b-c002", "ollama-llama3.2-3b-c003", "ollama-llama3.2-3b-c004",
        "openai-qwen2.5-c005", "tiny-gpt2-everywhere", "ollama-llama3.2-3b-everywhere", "openai-qwen2.5-everywhere"]
    # Selected by its served name already: nothing to resolve.
    selected = [ModelSpec(alias="ollama-llama3.2-3b", source="served", backend="ollama", served_name="llama3.2:3b")]
    assert case_model_specs(cases[:4], selected, None) == []


def test_resolve_case_applies_options_only_where_the_case_is_silent():
    silent, explicit = _parse([{"prompt": "p", "task_type": "qa"},
                               {"prompt": "p", "task_type": "qa", "temperature": 0.2, "seed": 5, "top_p": 0.5}])
    assert resolve_case(silent, None, None, 3).temperature == 0.7          # the seed format's default
    chosen = resolve_case(silent, 0.0, 0.9, 3)
    assert (chosen.temperature, chosen.top_p, chosen.seed) == (0.0, 0.9, 3)
    assert case_sampling(chosen).greedy
    kept = resolve_case(explicit, 0.0, 0.9, 3)
    assert (kept.temperature, kept.top_p, kept.seed) == (0.2, 0.5, 5)
    assert not case_sampling(kept).greedy and case_sampling(kept).for_round(2).seed == 7


# The experiment framework's test_cases.json, as its users wrote it: Ollama model names, Chinese task types.
EXPERIMENT_CASES = [
    {"model": "llama3.2:3b", "prompt": "法国的首都是哪里？", "task_type": "知识问答", "reference_text": "巴黎",
     "max_tokens": 50, "temperature": 0.7},
    {"model": "llama3.2:3b", "prompt": "请用一句话总结：今天下雨，学校停课。", "task_type": "文本摘要",
     "reference_text": "下雨导致学校停课。", "max_tokens": 100, "temperature": 0.7},
    {"model": "llama3.2:3b", "prompt": "写一个Python函数，返回两个数的和。", "task_type": "代码生成",
     "max_tokens": 200, "temperature": 0.7},
    {"model": "llama3.2:3b", "prompt": "写一首关于大海的短诗。", "task_type": "创意写作", "max_tokens": 200,
     "temperature": 0.7},
]


def test_the_experiment_frameworks_chinese_task_types_are_the_four_kinds():
    cases = _parse(EXPERIMENT_CASES)
    assert [c.task_type for c in cases] == ["qa", "summary", "code", "creative"]
    assert {c.model for c in cases} == {"llama3.2:3b"}
    assert [c.case_id for c in cases] == ["c001", "c002", "c003", "c004"]


def test_an_unknown_task_type_names_the_chinese_ones_too_and_counts_from_one():
    with pytest.raises(ConfigError) as info:
        _parse([*EXPERIMENT_CASES, {"prompt": "p", "task_type": "翻译"}])
    assert "case 5: field 'task_type'" in str(info.value) and "知识问答" in str(info.value)
