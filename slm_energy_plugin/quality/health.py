"""Response health: is an answer empty, cut off, or stuck in a loop; is a model stable.

Pure. Per record (:func:`response_health`) and per model over repeated rounds of the same
query (:func:`answer_stability`, :func:`stability_by_model`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..results.records import ModelRun
from .result import split_reasoning

# Degenerate repetition: share of word n-grams that repeat an earlier n-gram.
# With n = 4 ordinary prose stays well below 0.2 (a repeated 4-gram is a repeated phrase);
# a model caught in a loop ("the the the ...", a sentence over and over) goes towards 1.
# 0.5 means at least half of the text is a copy of itself.
REPETITION_NGRAM = 4
REPETITION_THRESHOLD = 0.5
REPETITION_MIN_NGRAMS = 8          # shorter answers are too short to call degenerate
_TOKEN = re.compile(r"\w+|[^\w\s]")


def repeated_ngram_ratio(text: str, n: int = REPETITION_NGRAM) -> tuple[float, int]:
    """(1 - distinct n-grams / all n-grams, number of n-grams) over words and punctuation marks."""
    tokens = _TOKEN.findall(text.casefold())
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return 0.0, 0
    return 1.0 - len(set(grams)) / len(grams), len(grams)


@dataclass(frozen=True)
class ResponseHealth:
    empty: bool                     # no answer text (after any <think> block)
    truncated: bool | None          # stopped at the token limit without an end-of-sequence token
    unfinished_reasoning: bool      # <think> opened and never closed
    repetition_ratio: float
    degenerate: bool                # repetition_ratio >= threshold over enough n-grams

    @property
    def flags(self) -> list[str]:
        names = [("empty", self.empty), ("truncated", bool(self.truncated)),
                 ("unfinished-reasoning", self.unfinished_reasoning), ("degenerate", self.degenerate)]
        return [name for name, on in names if on]

    def to_dict(self) -> dict[str, Any]:
        return {"empty": self.empty, "truncated": self.truncated,
                "unfinished_reasoning": self.unfinished_reasoning,
                "repetition_ratio": round(self.repetition_ratio, 4), "degenerate": self.degenerate,
                "flags": self.flags}


def response_health(response: str, *, tokens_output: int, max_new_tokens: int | None,
                    eos_generated: bool | None, think_open: bool = False,
                    threshold: float = REPETITION_THRESHOLD, n: int = REPETITION_NGRAM) -> ResponseHealth:
    """Health flags of one response.

    ``truncated``: the model produced ``max_new_tokens`` tokens and no end-of-sequence
    token; None when ``max_new_tokens`` is unknown. When ``eos_generated`` is None (the
    wrapper cannot tell), reaching the limit counts as truncated.
    Repetition is measured on the whole response, reasoning included: a loop there burns
    energy just the same.
    """
    final = split_reasoning(response, think_open=think_open)
    empty = final.text is None or not final.text.strip()
    if max_new_tokens is None:
        truncated = None
    else:
        truncated = tokens_output >= max_new_tokens and not eos_generated
    ratio, count = repeated_ngram_ratio(response, n)
    return ResponseHealth(
        empty=empty, truncated=truncated, unfinished_reasoning=final.text is None,
        repetition_ratio=ratio, degenerate=count >= REPETITION_MIN_NGRAMS and ratio >= threshold,
    )


@dataclass(frozen=True)
class Stability:
    """Agreement of one query's answers across repeated rounds."""

    rounds: int
    distinct: int
    share_identical: float          # share of rounds giving the most common answer
    modal_answer: str | None
    note: str | None                # e.g. non-determinism under greedy decoding

    def to_dict(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "distinct": self.distinct, "share_identical": self.share_identical,
                "modal_answer": self.modal_answer, "note": self.note}


def normalized_answer(response: str, *, think_open: bool = False) -> str | None:
    """The answer part of a response with whitespace collapsed: what repeated rounds compare.

    None when a reasoning block never closed. Store one per round in
    ``record.extra["round_answers"]`` for :func:`stability_by_model`.
    """
    final = split_reasoning(response, think_open=think_open)
    return None if final.text is None else " ".join(final.text.split())


def answer_stability(answers: Sequence[str | None], *, greedy: bool) -> Stability:
    """How often repeated rounds agree. ``None`` (no answer extracted) counts as an answer of its own.

    Under greedy decoding every round must give the same tokens; any disagreement is
    reported as non-determinism (kernels, threads, batch effects), not as sampling noise.
    """
    if not answers:
        return Stability(0, 0, 1.0, None, "no rounds")
    counts = Counter(answers)
    modal, top = counts.most_common(1)[0]
    distinct = len(counts)
    note = None
    if len(answers) < 2:
        note = "one round: stability not measured"
    elif distinct > 1 and greedy:
        note = f"non-determinism: {distinct} different answers in {len(answers)} greedy rounds"
    return Stability(len(answers), distinct, top / len(answers), modal, note)


def round_answers(run: ModelRun) -> dict[str, list[str | None]]:
    """query id -> extracted answers of every round.

    Reads ``record.extra["round_answers"]`` when the wrapper stored each round's extracted
    answer (``--energy-repeat N``); otherwise each record (e.g. one per repeated test of the
    same query) contributes its ``scores["extracted"]``, or its response when unscored.
    """
    found: dict[str, list[str | None]] = {}
    for record in run.records:
        per_round = record.extra.get("round_answers") if record.extra else None
        if isinstance(per_round, list):
            found.setdefault(record.query_id, []).extend(per_round)
        elif record.scores:
            found.setdefault(record.query_id, []).append(record.scores.get("extracted"))
        else:
            found.setdefault(record.query_id, []).append(record.response.strip())
    return found


@dataclass(frozen=True)
class ModelStability:
    model: str
    queries: int                    # queries with >= 2 rounds
    mean_share_identical: float | None
    unstable_queries: tuple[str, ...]
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "queries": self.queries,
                "mean_share_identical": self.mean_share_identical,
                "unstable_queries": list(self.unstable_queries), "note": self.note}


def stability_by_model(runs: Iterable[ModelRun], *, greedy: bool | None = None) -> list[ModelStability]:
    """Per model: mean share of identical answers over queries answered at least twice.

    ``greedy`` None reads ``info.generation["do_sample"]`` (greedy when it is false or missing).
    """
    out = []
    for run in runs:
        is_greedy = greedy if greedy is not None else not run.info.generation.get("do_sample", False)
        # A record that sampled (a case's temperature, issue 13) is never held to greedy agreement.
        sampled = {r.query_id for r in run.records
                   if ((r.extra or {}).get("sampling") or {}).get("decoding") == "sampling"}
        per_query = {qid: answer_stability(a, greedy=is_greedy and qid not in sampled)
                     for qid, a in round_answers(run).items() if len(a) >= 2}
        if not per_query:
            out.append(ModelStability(run.alias, 0, None, (), "each query answered once: run with "
                                      "--energy-repeat N (N >= 2) to measure stability"))
            continue
        unstable = tuple(sorted(q for q, s in per_query.items() if s.distinct > 1))
        mean = sum(s.share_identical for s in per_query.values()) / len(per_query)
        note = None
        greedy_unstable = [q for q in unstable if q not in sampled]
        if greedy_unstable and is_greedy:
            note = f"non-determinism under greedy decoding on {len(greedy_unstable)} of {len(per_query)} queries"
        out.append(ModelStability(run.alias, len(per_query), mean, unstable, note))
    return out
