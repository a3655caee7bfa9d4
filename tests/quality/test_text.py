"""exact / contains / overlap scorers."""

from __future__ import annotations

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.quality import score_answer
from slm_energy_plugin.quality.text import chrf, normalize, rouge_l, score_contains, score_exact, score_overlap


def test_normalize_flags():
    assert normalize("  Hello,   World! ") == "hello world"
    assert normalize("Hello, World!", case=False) == "Hello World"
    assert normalize("a.b", punctuation=False) == "a.b"
    assert normalize("The cat", articles=True) == "cat"


def test_exact_ignores_case_punctuation_and_whitespace_by_default():
    assert score_exact("  PARIS. ", "Paris").correct
    assert not score_exact("Paris, France", "Paris").correct
    assert not score_exact("PARIS", "Paris", case=False).correct


def test_exact_reads_after_think_and_reports_empty():
    assert score_exact("<think>Lyon? no</think> Paris", "Paris").correct
    result = score_exact("<think>Lyon? no</think>   ", "Paris")
    assert not result.correct and result.reason == "empty answer"


def test_contains_respects_word_boundaries():
    assert score_contains("The capital is Paris, of course.", "paris").correct
    assert not score_contains("I count 42 apples", "4").correct
    assert score_contains("I count 42 apples", "4", word_boundary=False).correct
    with pytest.raises(ConfigError):
        score_contains("anything", "?!")


def test_overlap_uses_the_libraries_values():
    reference = "The quick brown fox jumps over the lazy dog"
    identical = score_overlap(reference, reference)
    assert identical.score == pytest.approx(1.0) and identical.correct
    assert identical.details["chrf"] == pytest.approx(1.0)
    partial = score_overlap("A quick brown fox leaps over a dog", reference)
    assert 0.3 < partial.score < 0.9
    assert partial.details["rougeL"] == pytest.approx(rouge_l("A quick brown fox leaps over a dog", reference))
    unrelated = score_overlap("Stock prices rose sharply on Monday", reference)
    assert unrelated.score < 0.2 and not unrelated.correct and "below the threshold" in unrelated.reason


def test_overlap_metric_choice_and_validation():
    reference = "energy per correct answer"
    result = score_overlap("energy per answer", reference, metric="chrf", threshold=0.1)
    assert result.score == pytest.approx(chrf("energy per answer", reference))
    assert result.details["metric"] == "chrf"
    with pytest.raises(ConfigError, match="unknown overlap metric"):
        score_overlap("a", "b", metric="bleu")
    with pytest.raises(ConfigError, match="threshold"):
        score_overlap("a", "b", threshold=2)


def test_overlap_empty_and_unfinished():
    assert score_overlap("   ", "reference").reason == "empty answer"
    assert "unfinished" in score_overlap("<think>still thinking", "reference").reason


def test_dispatch():
    assert score_answer("paris", "Paris", kind="exact").correct
    assert score_answer("it is Paris", "Paris", kind="contains").correct
    assert score_answer("the cat sat", "the cat sat", kind="overlap").correct
