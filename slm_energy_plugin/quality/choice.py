"""Multiple-choice questions (MMLU-style), scored from log-likelihoods, not generation.

Pure. The model wrapper computes log P(continuation | context) for each option letter
(``slm.loglikelihoods(context, [" A", " B", " C", " D"])``) and the option with the
highest value is the model's answer: lm-evaluation-harness's ``acc`` for MMLU. With
single-letter continuations the length-normalised ``acc_norm`` is the same number.
A generated letter ("Answer: B") can be scored too, for models only reachable by text.
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

from ..errors import ConfigError
from .result import ScoreResult, failed, split_reasoning

KIND = "multiple_choice"
LETTERS = ("A", "B", "C", "D")
# The harness's MMLU continuations: the answer letter after "Answer:" and one space.
MMLU_CONTINUATIONS = tuple(f" {letter}" for letter in LETTERS)


def format_mmlu_prompt(question: str, options: Sequence[str], subject: str = "general knowledge",
                       shots: Sequence[tuple[str, Sequence[str], str]] = ()) -> str:
    """The harness's MMLU prompt: a header, optional solved examples, the question, ``Answer:``.

    ``shots`` are (question, options, answer letter) examples shown before the question.
    """
    if len(options) != len(LETTERS):
        raise ConfigError(f"an MMLU question needs {len(LETTERS)} options, got {len(options)}")
    subject_text = subject.replace("_", " ").strip()
    parts = [f"The following are multiple choice questions (with answers) about {subject_text}.\n\n"]
    for shot_q, shot_opts, shot_a in shots:
        parts.append(_question_block(shot_q, shot_opts) + f" {shot_a}\n\n")
    parts.append(_question_block(question, options))
    return "".join(parts)


def _question_block(question: str, options: Sequence[str]) -> str:
    lines = [question.strip()]
    lines += [f"{letter}. {str(option).strip()}" for letter, option in zip(LETTERS, options)]
    lines.append("Answer:")
    return "\n".join(lines)


def _key_index(expected: str, labels: Sequence[str]) -> int:
    key = str(expected).strip().upper()
    if key not in labels:
        raise ConfigError(f"answer key {expected!r} is not one of {', '.join(labels)}")
    return list(labels).index(key)


def score_choice_loglikelihoods(loglikelihoods: Sequence[float], expected: str,
                                labels: Sequence[str] = LETTERS) -> ScoreResult:
    """1.0 when the option with the highest log-likelihood is the key.

    Ties (e.g. a model that gives every option the same value) pick nothing and score 0:
    an argmax that falls on the first option by position is not an answer.
    """
    if len(loglikelihoods) != len(labels):
        raise ConfigError(f"got {len(loglikelihoods)} log-likelihoods for {len(labels)} options")
    key = _key_index(expected, labels)
    values = [float(v) for v in loglikelihoods]
    details: dict[str, Any] = {"loglikelihoods": dict(zip(labels, values))}
    if any(math.isnan(v) for v in values):
        return failed(KIND, "a log-likelihood is NaN (numerical failure in the model)", **details)
    best = max(values)
    winners = [i for i, v in enumerate(values) if v == best]
    if len(winners) > 1:
        tied = ", ".join(labels[i] for i in winners)
        return failed(KIND, f"options {tied} are equally likely; no answer", **details)
    chosen = winners[0]
    ok = chosen == key
    return ScoreResult(float(ok), ok, labels[chosen], KIND, None if ok else "wrong option", details)


_LETTER_PATTERNS = (
    re.compile(r"answer\s*(?:is|:)?\s*[:\-]?\s*\(?\**([A-D])\b", re.IGNORECASE),
    re.compile(r"^\s*\(?([A-D])\)?(?:[.):\s]|$)"),
    re.compile(r"\(([A-D])\)"),
)


def score_choice_text(response: str, expected: str, *, think_open: bool = False) -> ScoreResult:
    """Score a generated letter: "Answer: B", "(B)", or a line that starts with the letter."""
    key = _key_index(expected, LETTERS)
    final = split_reasoning(response, think_open=think_open)
    if final.text is None:
        return failed(KIND, final.reason or "no answer")
    for pattern in _LETTER_PATTERNS:
        match = pattern.search(final.text)
        if match:
            letter = match.group(1).upper()
            ok = letter == LETTERS[key]
            return ScoreResult(float(ok), ok, letter, KIND, None if ok else "wrong option")
    return failed(KIND, "no option letter in the answer")


def score_multiple_choice(response: str | None, expected: str, *,
                          loglikelihoods: Sequence[float] | None = None, think_open: bool = False) -> ScoreResult:
    """From log-likelihoods when given (the normal path), else from the generated text."""
    if loglikelihoods is not None:
        return score_choice_loglikelihoods(loglikelihoods, expected)
    if response is None:
        raise ConfigError("multiple_choice needs either loglikelihoods or a response to read a letter from")
    return score_choice_text(response, expected, think_open=think_open)
