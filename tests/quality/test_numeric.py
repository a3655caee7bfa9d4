"""Numeric scorer: extraction conventions, reasoning models, tricky numbers."""

from __future__ import annotations

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.quality import ScoreResult, score_answer
from slm_energy_plugin.quality.numeric import extract_strict, find_numbers, parse_number, score_numeric


@pytest.mark.parametrize(
    ("response", "expected", "extracted", "method"),
    [
        ("Tom has 3 apples and buys 15 more. The answer is 18.", "18", "18", "strict:answer-is"),
        ("The answer is: **18**", "18", "18", "strict:answer-is"),
        ("Final answer: 1,234", "1234", "1234", "strict:answer-is"),
        ("So she pays $1,234.50 in total.", "1234.5", "2469/2", None),
        ("...so we get \\boxed{42}. Checking 40 + 2 = 42.", "42", "42", "strict:boxed"),
        ("\\boxed{\\frac{3}{4}}", "0.75", "3/4", "strict:boxed"),
        ("\\boxed{\\$1{,}000}", "1000", "1000", "strict:boxed"),
        ("#### 72", "72", "72", "strict:####"),
        ("The temperature fell to \u22127 degrees.", "-7", "-7", "flexible:last-number"),
        ("It drops by -3.5 then", "-3.5", "-3.5", "flexible:last-number"),
        ("About .5 of them", "0.5", "0.5", "flexible:last-number"),
        ("That is 3/4 of the cake", "0.75", "3/4", "flexible:last-number"),
        ("The discount is 25%.", "25", "25%", "flexible:last-number"),
    ],
)
def test_extracts_and_matches(response, expected, extracted, method):
    result = score_numeric(response, expected)
    assert result.correct and result.score == 1.0, result
    if extracted != "2469/2":
        assert result.extracted == extracted
    if method:
        assert result.details["method"] == method


def test_strict_marker_beats_a_later_number():
    # The harness's flexible extraction would take 3 (the last number); the marked answer wins.
    result = score_numeric("The answer is 12. That took me 3 tries.", "12")
    assert result.correct and result.details["method"] == "strict:answer-is"


def test_last_boxed_wins_and_last_number_is_the_fallback():
    assert score_numeric("\\boxed{5} no wait \\boxed{6}", "6").correct
    assert score_numeric("First 10, then 20, finally 30", "30").correct
    assert not score_numeric("First 10, then 20, finally 30", "10").correct


def test_wrong_number_scores_zero_with_reason():
    result = score_numeric("The answer is 17.", "18")
    assert (result.score, result.correct, result.extracted, result.reason) == (0.0, False, "17", "wrong number")


def test_no_number_and_strict_only():
    assert score_numeric("I do not know.", "5").reason == "no number in the answer"
    result = score_numeric("I think 5", "5", strict_only=True)
    assert not result.correct and "strict" in result.reason
    assert score_numeric("The answer is 5", "5", strict_only=True).correct


def test_reasoning_model_answer_is_read_after_think():
    response = "<think>Maybe 7? 3 + 4 = 7, but we need twice: 14.</think>\n\nThe answer is 14."
    assert score_numeric(response, "14").correct
    # A number inside the reasoning must not be taken as the answer.
    assert not score_numeric("<think>It is 14.</think>\nI am not sure.", "14").correct


def test_unfinished_think_block_means_no_answer():
    result = score_numeric("<think>Let me compute 3 + 4 = 7 and then", "7")
    assert not result.correct and result.extracted is None
    assert "unfinished <think>" in result.reason


def test_deepseek_template_opens_think_in_the_prompt():
    # DeepSeek-R1's chat template ends the prompt with "<think>\n": the response has only "</think>".
    assert score_numeric("3 + 4 = 7 so\n</think>\nThe answer is 7", "7", think_open=True).correct
    result = score_numeric("3 + 4 = 7 so the answer is 7", "7", think_open=True)
    assert not result.correct and "unfinished" in result.reason


def test_prompt_opens_think():
    from slm_energy_plugin.quality import prompt_opens_think
    assert prompt_opens_think("<|im_start|>assistant\n<think>\n")
    assert not prompt_opens_think("Question: 2+2?\nAnswer:")
    assert not prompt_opens_think("example: <think>x</think> done. Now:")


def test_tolerance_option():
    assert not score_numeric("It is 0.333", "1/3").correct
    assert score_numeric("It is 0.333", "1/3", rel_tol=1e-2).correct
    assert score_numeric("0.1 + 0.2 = 0.30000000000000004", "0.3").correct   # float noise forgiven by default
    assert score_numeric("about 101", "100", abs_tol=1.5).correct


def test_percent_matches_face_value_or_fraction():
    assert score_numeric("50%", "50").correct
    assert score_numeric("50%", "0.5").correct
    assert not score_numeric("50%", "5").correct


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("pages 3-4", ["3", "4"]),                 # a range is not a negative number
        ("1,23 and 4", ["1", "23", "4"]),          # not a thousands separator
        ("version 1.5.3", ["1.5"]),                # no ".3" number glued to a decimal
        ("the 5th of 12", ["5", "12"]),
        ("x2 and 7", ["7"]),                       # "x2" is a name, not a number
        ("1,000,000 ants", ["1000000"]),
        ("3/0 is undefined", ["3"]),               # no division by zero: the numerator stays
        ("-$5 and $-6", ["-5", "-6"]),
    ],
)
def test_tricky_numbers(text, values):
    assert [n.canonical for n in find_numbers(text)] == values


def test_parse_number_and_bad_key():
    assert parse_number(" 1,024 ").value == 1024
    assert parse_number("1 or 2") is None
    with pytest.raises(ConfigError, match="not a single number"):
        score_numeric("5", "five")


def test_strict_needs_the_number_right_after_the_marker():
    assert extract_strict("The answer is not 5, it is 7") is None


def test_score_answer_dispatch_and_record_dict():
    result = score_answer("The answer is 9", "9", kind="numeric")
    assert isinstance(result, ScoreResult)
    data = result.to_dict()
    assert data["score"] == 1.0 and data["correct"] is True and data["kind"] == "numeric"
    assert ScoreResult.from_dict(data) == result
    with pytest.raises(ConfigError, match="unknown scoring kind"):
        score_answer("x", "y", kind="telepathy")
    with pytest.raises(ConfigError, match="unexpected keyword"):
        score_answer("9", "9", kind="numeric", db_path="x")


def test_score_result_validates_range():
    with pytest.raises(ValueError):
        ScoreResult(1.5, True, None, "numeric")
    with pytest.raises(ValueError):
        ScoreResult(float("nan"), False, None, "numeric")
