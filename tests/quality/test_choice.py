"""Multiple choice from log-likelihoods (and from a generated letter)."""

from __future__ import annotations

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.quality import MMLU_CONTINUATIONS, format_mmlu_prompt, score_answer
from slm_energy_plugin.quality.choice import score_choice_loglikelihoods, score_choice_text


def test_prompt_matches_the_harness_layout():
    prompt = format_mmlu_prompt("What is 2 + 2?", ["3", "4", "5", "6"], subject="elementary_mathematics")
    assert prompt == (
        "The following are multiple choice questions (with answers) about elementary mathematics.\n\n"
        "What is 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:"
    )
    assert MMLU_CONTINUATIONS == (" A", " B", " C", " D")


def test_prompt_with_shots():
    prompt = format_mmlu_prompt("Q2?", "abcd", shots=[("Q1?", "wxyz", "C")])
    assert "Q1?\nA. w\nB. x\nC. y\nD. z\nAnswer: C\n\nQ2?" in prompt
    with pytest.raises(ConfigError):
        format_mmlu_prompt("Q?", ["only", "three", "options"])


def test_argmax_of_loglikelihoods():
    result = score_choice_loglikelihoods([-4.2, -1.1, -3.0, -2.5], "B")
    assert result.correct and result.extracted == "B"
    assert result.details["loglikelihoods"]["A"] == -4.2
    wrong = score_choice_loglikelihoods([-0.5, -1.1, -3.0, -2.5], "b")
    assert not wrong.correct and wrong.extracted == "A" and wrong.reason == "wrong option"


def test_ties_and_nan_are_no_answer():
    tied = score_choice_loglikelihoods([-1.0, -1.0, -2.0, -3.0], "A")
    assert not tied.correct and tied.extracted is None and "equally likely" in tied.reason
    nan = score_choice_loglikelihoods([float("nan"), -1.0, -2.0, -3.0], "B")
    assert not nan.correct and "NaN" in nan.reason


def test_bad_inputs_are_config_errors():
    with pytest.raises(ConfigError, match="log-likelihoods"):
        score_choice_loglikelihoods([-1.0, -2.0], "A")
    with pytest.raises(ConfigError, match="answer key"):
        score_choice_loglikelihoods([-1.0, -2.0, -3.0, -4.0], "E")


@pytest.mark.parametrize(
    ("response", "letter"),
    [("Answer: C", "C"), ("The answer is (B).", "B"), ("D. Paris", "D"), ("I pick (A)", "A"),
     ("<think>maybe B</think>\nC", "C")],
)
def test_generated_letter(response, letter):
    assert score_choice_text(response, letter).correct


def test_generated_without_letter():
    assert score_choice_text("I have no idea", "A").reason == "no option letter in the answer"


def test_dispatch_prefers_loglikelihoods():
    assert score_answer("Answer: A", "C", kind="multiple_choice", loglikelihoods=[-3, -2, -1, -4]).correct
    assert score_answer("Answer: C", "C", kind="multiple_choice").correct
