"""Response health flags and answer stability."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.quality.health import (
    REPETITION_THRESHOLD, answer_stability, normalized_answer, repeated_ngram_ratio, response_health, stability_by_model,
)
from slm_energy_plugin.results.records import ModelInfo, ModelRun, QueryRecord

PROSE = (
    "Energy per query means little without knowing whether the answer was right: a model that burns "
    "twice the energy but answers correctly may be the greener choice per correct answer. None of the "
    "public energy leaderboards measures quality in the same run; this suite does."
)


def test_repetition_ratio_separates_prose_from_loops():
    assert repeated_ngram_ratio(PROSE)[0] < 0.05
    design = Path(__file__).resolve().parents[2] / "README.md"
    if design.is_file() and len(design.read_text()) > 2000:
        assert repeated_ngram_ratio(design.read_text())[0] < REPETITION_THRESHOLD
    assert repeated_ngram_ratio("I like cats. " * 10)[0] > 0.8
    assert repeated_ngram_ratio("!" * 30)[0] > 0.9
    assert repeated_ngram_ratio("too short") == (0.0, 0)


def test_healthy_response():
    health = response_health(PROSE, tokens_output=60, max_new_tokens=128, eos_generated=True)
    assert health.flags == [] and not health.truncated and not health.degenerate


def test_truncation_needs_the_limit_and_no_eos():
    assert response_health("x", tokens_output=64, max_new_tokens=64, eos_generated=False).truncated
    assert not response_health("x", tokens_output=64, max_new_tokens=64, eos_generated=True).truncated
    assert response_health("x", tokens_output=64, max_new_tokens=64, eos_generated=None).truncated
    assert not response_health("x", tokens_output=10, max_new_tokens=64, eos_generated=False).truncated
    assert response_health("x", tokens_output=10, max_new_tokens=None, eos_generated=None).truncated is None


def test_empty_degenerate_and_unfinished_reasoning():
    assert response_health("   \n", tokens_output=1, max_new_tokens=64, eos_generated=True).flags == ["empty"]
    loop = response_health("the the the the the the the the the the the the the", tokens_output=64,
                           max_new_tokens=64, eos_generated=False)
    assert loop.flags == ["truncated", "degenerate"]
    thinking = response_health("<think>hmm " + "let me see. " * 20, tokens_output=256, max_new_tokens=256,
                               eos_generated=False)
    assert thinking.flags == ["empty", "truncated", "unfinished-reasoning", "degenerate"]
    data = thinking.to_dict()
    assert data["unfinished_reasoning"] is True and data["flags"] == thinking.flags


def test_stability_under_greedy_and_sampling():
    steady = answer_stability(["18", "18", "18"], greedy=True)
    assert (steady.share_identical, steady.distinct, steady.note) == (1.0, 1, None)
    shaky = answer_stability(["18", "18", "17", None], greedy=True)
    assert shaky.share_identical == 0.5 and shaky.distinct == 3 and "non-determinism" in shaky.note
    sampled = answer_stability(["18", "17"], greedy=False)
    assert sampled.note is None and sampled.share_identical == 0.5
    assert "one round" in answer_stability(["1"], greedy=True).note


def _record(qid: str, extracted: str | None = None, rounds: list | None = None) -> QueryRecord:
    return QueryRecord(model="m", query_id=qid, query="q", response="r", tokens_input=1, tokens_output=1,
                       duration_s=0.1, sequence=0, scores={"extracted": extracted} if extracted else {},
                       extra={"round_answers": rounds} if rounds is not None else {})


def test_stability_by_model_reads_rounds_or_repeated_records():
    info = ModelInfo(alias="m", model_id="m", generation={"do_sample": False})
    run = ModelRun(info=info, records=(
        _record("q1", rounds=["5", "5", "5"]),
        _record("q2", rounds=["5", "6", "5"]),
        _record("q3", extracted="7"), _record("q3", extracted="7"),
    ))
    (result,) = stability_by_model([run])
    assert result.queries == 3 and result.unstable_queries == ("q2",)
    assert result.mean_share_identical == pytest.approx((1 + 2 / 3 + 1) / 3)
    assert "non-determinism under greedy decoding on 1 of 3" in result.note
    single = ModelRun(info=info, records=(_record("q1", extracted="5"),))
    (once,) = stability_by_model([single])
    assert once.queries == 0 and "--energy-repeat" in once.note


def test_normalized_answer_for_round_comparison():
    assert normalized_answer("<think>a</think>\n  The answer\nis 5 ") == "The answer is 5"
    assert normalized_answer("<think>still going") is None
    assert normalized_answer("plain") == "plain"
