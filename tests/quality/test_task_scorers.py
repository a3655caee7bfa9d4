"""Task scorers on hand-made answers: qa, summary, code syntax, creative diversity, first numeric answer."""

from __future__ import annotations

import pytest

from slm_energy_plugin.quality.diversity import creative_scores, degenerate, distinct_n, self_bleu
from slm_energy_plugin.quality.numeric import score_numeric
from slm_energy_plugin.quality.tasks import score_code_syntax, score_qa, score_summary

REFERENCE = "The council voted to repair the bridge, closing it to cars for three months from May."


def test_qa_contains_exact_and_overlap():
    hit = score_qa("The capital of France is Paris.", "Paris")
    assert hit.correct and hit.score == 1.0 and hit.details["contains"] and not hit.details["exact"]
    assert score_qa("paris", "Paris").details["exact"]
    miss = score_qa("It is Lyon, a city in France.", "Paris")
    assert not miss.correct and miss.score < 1.0 and miss.reason
    near = score_qa("carbon", "carbon dioxide")
    assert not near.correct and 0.0 < near.score < 1.0            # graded by ROUGE-L
    assert not score_qa("Parisian food", "Paris").correct          # whole words only
    assert score_qa("", "Paris").reason == "empty answer"


def test_summary_rouge_threshold_and_length_ratio():
    good = score_summary("The council voted to repair the bridge and close it to cars for three months.", REFERENCE)
    assert good.correct and good.score >= 0.3 and 0.5 <= good.details["length_ratio"] <= 2.0
    assert 0 < good.details["chrf"] <= 1
    off_topic = score_summary("Bakers sold more bread this year than last.", REFERENCE)
    assert not off_topic.correct and "ROUGE-L" in str(off_topic.reason)
    copied = score_summary(REFERENCE + " " + REFERENCE + " Work starts in May, people on foot can still cross.",
                           REFERENCE)
    assert copied.details["rougeL"] >= 0.3 and not copied.correct and "length ratio" in str(copied.reason)


def test_code_syntax_only_never_runs():
    prompt = "def add(a, b):\n    \"\"\"Sum.\"\"\"\n"
    ok = score_code_syntax("    return a + b\n", prompt)
    assert ok.correct and ok.details == {"parsed": "prompt+completion", "executed": False}
    fenced = score_code_syntax("Here you go:\n```python\nx = 1\n```\n")
    assert fenced.correct and fenced.details["parsed"] == "fenced block"
    bad = score_code_syntax("    return a +\n", prompt)
    assert not bad.correct and "not run" in str(bad.reason)
    # Never executed: code that would raise or exit at run time is just valid syntax.
    assert score_code_syntax("raise SystemExit(3)\n").correct


def test_creative_diversity_and_degenerate_flag():
    samples = ["the sea is dark and quiet tonight", "waves whisper under a silver moon",
               "the harbour lights tremble on black water"]
    scores = creative_scores(samples)
    assert scores["correct"] is None and scores["score"] is None and "not scored right/wrong" in scores["reason"]
    details = scores["details"]
    assert details["distinct_1"] > 0.7 and details["distinct_2"] == 1.0 and details["degenerate"] is False
    assert self_bleu(samples) < self_bleu(["the sea is dark", "the sea is dark", "the sea is dark"])
    assert self_bleu(["only one"]) is None
    assert distinct_n(["a a a a"], 1) == 0.25
    assert degenerate("") == "empty"
    assert "repetition loop" in str(degenerate("la la la la la la la la la la"))
    assert creative_scores(["la la la la la la la la la la"])["details"]["degenerate"] is True


@pytest.mark.parametrize(("response", "expected", "cut"), [
    ("The answer is 85. Question: what is 10 + 10? The answer is 20.", "85", True),
    ("85\nQuestion: What is 9 times 8?\nAnswer: 72", "85", True),
    ("Question: what is 2 + 2? The answer is 4", "4", False),   # a marker with nothing before it is not a cut
])
def test_numeric_reads_the_first_answer_of_a_rambling_continuation(response, expected, cut):
    result = score_numeric(response, expected)
    assert result.correct, result
    assert bool(result.details.get("cut_at_continuation")) is cut


def test_sampled_records_are_not_called_greedy_non_determinism():
    from dataclasses import replace

    from slm_energy_plugin.quality import stability_by_model

    from ..run_factory import make_run

    run = make_run("m", [1.0, 1.0], query_ids=["c1", "c1"])
    records = tuple(replace(r, response=f"text {i}", extra={"sampling": {"decoding": "sampling"}})
                    for i, r in enumerate(run.records))
    [sampled] = stability_by_model([replace(run, records=records)])
    assert sampled.unstable_queries == ("c1",) and sampled.note is None
    greedy = tuple(replace(r, extra={}) for r in records)
    [flagged] = stability_by_model([replace(run, records=greedy)])
    assert flagged.note and "non-determinism" in flagged.note


def test_task_kinds_through_score_answer():
    from slm_energy_plugin.quality import score_answer

    assert score_answer("It is Paris.", "Paris", kind="qa").correct
    assert score_answer("The council will repair the bridge for cars from May.", REFERENCE, kind="summary").kind == "summary"
    assert score_answer("    return 1\n", "def f():\n", kind="code_syntax").correct
