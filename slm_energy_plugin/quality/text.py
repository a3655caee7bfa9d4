"""Text answers: exact match, containment, and overlap with a reference.

Pure (no I/O). Overlap uses the maintained reference implementations, not a copy:
ROUGE-L from Google's ``rouge-score`` and chrF from ``sacrebleu``. Both are imported on
first use, since ``rouge-score`` pulls in NLTK (about a second to import).
"""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Any

from ..errors import ConfigError
from .result import ScoreResult, failed, split_reasoning

_PUNCT = re.compile(f"[{re.escape(string.punctuation)}\u2018\u2019\u201c\u201d\u2013\u2014\u2026]")
_SPACE = re.compile(r"\s+")
OVERLAP_METRICS = ("rougeL", "chrf")


def normalize(text: str, *, case: bool = True, punctuation: bool = True, whitespace: bool = True,
              articles: bool = False) -> str:
    """Normalise for comparison. Each flag True means "ignore differences in it".

    ``articles`` drops English a/an/the (SQuAD's convention); off by default.
    """
    text = unicodedata.normalize("NFKC", text)
    if case:
        text = text.casefold()
    if punctuation:
        text = _PUNCT.sub(" ", text)
    if articles:
        text = re.sub(r"\b(a|an|the)\b", " ", text, flags=re.IGNORECASE)
    if whitespace:
        text = _SPACE.sub(" ", text).strip()
    return text


def _answer_text(response: str, think_open: bool) -> tuple[str | None, str | None]:
    final = split_reasoning(response, think_open=think_open)
    return final.text, final.reason


def score_exact(response: str, expected: str, *, case: bool = True, punctuation: bool = True,
                whitespace: bool = True, articles: bool = False, think_open: bool = False) -> ScoreResult:
    """1.0 when the normalised answer equals the normalised key."""
    text, why = _answer_text(response, think_open)
    if text is None:
        return failed("exact", why or "no answer")
    flags: dict[str, Any] = dict(case=case, punctuation=punctuation, whitespace=whitespace, articles=articles)
    got, want = normalize(text, **flags), normalize(expected, **flags)
    if not got:
        return failed("exact", "empty answer", extracted="")
    ok = got == want
    return ScoreResult(float(ok), ok, got, "exact", None if ok else "answer differs from the key")


def score_contains(response: str, expected: str, *, case: bool = True, punctuation: bool = True,
                   whitespace: bool = True, articles: bool = False, word_boundary: bool = True,
                   think_open: bool = False) -> ScoreResult:
    """1.0 when the normalised key occurs in the normalised answer.

    ``word_boundary`` (default) requires whole words, so the key "4" is not found in "42".
    """
    text, why = _answer_text(response, think_open)
    if text is None:
        return failed("contains", why or "no answer")
    flags: dict[str, Any] = dict(case=case, punctuation=punctuation, whitespace=whitespace, articles=articles)
    got, want = normalize(text, **flags), normalize(expected, **flags)
    if not want:
        raise ConfigError(f"expected answer {expected!r} is empty after normalisation; nothing to look for")
    if word_boundary:
        match = re.search(rf"(?<!\w){re.escape(want)}(?!\w)", got)
    else:
        match = None
    ok = match is not None if word_boundary else got.find(want) >= 0
    return ScoreResult(float(ok), ok, want if ok else None, "contains",
                       None if ok else "the key does not occur in the answer")


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (rouge-score, with its default tokenizer and Porter stemming)."""
    from rouge_score import rouge_scorer  # heavy import (NLTK), so on first use only

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return float(scorer.score(reference, prediction)["rougeL"].fmeasure)


def chrf(prediction: str, reference: str) -> float:
    """chrF (sacrebleu's defaults: character 6-grams, beta 2), rescaled from 0-100 to 0-1."""
    import sacrebleu

    return float(sacrebleu.sentence_chrf(prediction, [reference]).score) / 100.0


def score_overlap(response: str, expected: str, *, metric: str = "rougeL", threshold: float = 0.5,
                  think_open: bool = False) -> ScoreResult:
    """Graded similarity to a reference text: ``score`` is the chosen metric in [0, 1].

    Both ROUGE-L and chrF are computed and kept in ``details``; ``correct`` is the
    convention ``score >= threshold`` (a threshold, not a truth: report scores too).
    """
    if metric not in OVERLAP_METRICS:
        raise ConfigError(f"unknown overlap metric {metric!r}; choose from {', '.join(OVERLAP_METRICS)}")
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"overlap threshold must be in [0, 1], got {threshold!r}")
    text, why = _answer_text(response, think_open)
    if text is None:
        return failed("overlap", why or "no answer")
    text = text.strip()
    if not text:
        return failed("overlap", "empty answer", extracted="", rougeL=0.0, chrf=0.0)
    values = {"rougeL": rouge_l(text, expected), "chrf": chrf(text, expected)}
    score = min(1.0, max(0.0, values[metric]))
    ok = score >= threshold
    return ScoreResult(score, ok, text, "overlap",
                       None if ok else f"{metric} {score:.2f} below the threshold {threshold:.2f}",
                       {**values, "metric": metric, "threshold": threshold})


def warm_up() -> None:
    """Import rouge-score (NLTK, ~1.5 s) and sacrebleu now, outside any energy window."""
    rouge_l("warm up", "warm up")
    chrf("warm up", "warm up")
