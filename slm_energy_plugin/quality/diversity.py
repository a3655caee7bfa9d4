"""Creative output: diversity across samples of one prompt, and a degenerate-output flag.

Creative writing has no reference and no right answer: this module does NOT score creative
quality as right or wrong. Its record carries ``correct: None`` and ``score: None`` (so
accuracy and energy per correct answer ignore it) and these descriptive figures:

- distinct-n (Li et al., 2016): unique n-grams / all n-grams over every sample, n = 1, 2;
- self-BLEU (Zhu et al., 2018, Texygen): the mean sentence BLEU (sacrebleu) of each sample
  against the others; lower = the samples differ more. Needs two or more samples (rounds of
  ``--energy-repeat`` with sampling); None with one;
- degenerate: a sample that is empty, or whose tokens are mostly one repeated n-gram
  (distinct-2 within the sample below 0.3 over at least 8 words) - a loop, not writing.

Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

DEGENERATE_DISTINCT_2 = 0.3
DEGENERATE_MIN_WORDS = 8


def _tokens(text: str) -> list[str]:
    return text.lower().split()


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(samples: list[str], n: int) -> float | None:
    grams = [g for sample in samples for g in _ngrams(_tokens(sample), n)]
    return len(set(grams)) / len(grams) if grams else None


def self_bleu(samples: list[str]) -> float | None:
    """Mean BLEU (0-1) of each sample against all the others; None for fewer than two samples."""
    import sacrebleu

    usable = [s for s in samples if s.strip()]
    if len(usable) < 2:
        return None
    scores = []
    for i, sample in enumerate(usable):
        others = usable[:i] + usable[i + 1:]
        scores.append(sacrebleu.sentence_bleu(sample, others).score / 100.0)
    return sum(scores) / len(scores)


def degenerate(sample: str) -> str | None:
    """Why a sample is degenerate (empty, a loop), or None."""
    tokens = _tokens(sample)
    if not tokens:
        return "empty"
    if len(tokens) >= DEGENERATE_MIN_WORDS:
        d2 = distinct_n([sample], 2)
        if d2 is not None and d2 < DEGENERATE_DISTINCT_2:
            return f"repetition loop (distinct-2 {d2:.2f})"
    return None


def creative_scores(samples: list[str]) -> dict[str, Any]:
    """The record's ``scores`` for a creative case: descriptive figures, no verdict."""
    flags = [degenerate(s) for s in samples]
    return {
        "kind": "creative",
        "score": None,
        "correct": None,
        "extracted": None,
        "reason": "creative writing is not scored right/wrong: diversity figures only",
        "details": {
            "samples": len(samples),
            "distinct_1": distinct_n(samples, 1),
            "distinct_2": distinct_n(samples, 2),
            "self_bleu": self_bleu(samples),
            "degenerate": any(flag is not None for flag in flags),
            "degenerate_reasons": [flag for flag in flags if flag is not None],
        },
    }
