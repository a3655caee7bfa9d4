"""The one shape every scorer returns, and the small text helpers they share.

Pure: no I/O. ``ScoreResult.to_dict()`` is what lands in ``QueryRecord.scores``;
:mod:`slm_energy_plugin.results.metrics` reads its ``"score"`` and ``"correct"`` keys.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class ScoreResult:
    """How good one answer was.

    ``score`` is in [0, 1]; ``correct`` is the right/wrong verdict statistics count
    (McNemar, accuracy); ``extracted`` is the answer the scorer read out of the
    response (None when it found none); ``reason`` says why a score is 0 when that
    is not simply "wrong answer" (no answer found, timeout, sandbox violation...).
    """

    score: float
    correct: bool
    extracted: str | None
    kind: str
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (isinstance(self.score, (int, float)) and 0.0 <= float(self.score) <= 1.0):
            raise ValueError(f"score must be a number in [0, 1], got {self.score!r}")
        if isinstance(self.score, float) and math.isnan(self.score):
            raise ValueError("score must not be NaN")

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": float(self.score),
            "correct": bool(self.correct),
            "extracted": self.extracted,
            "kind": self.kind,
            "reason": self.reason,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ScoreResult":
        return cls(
            score=float(data["score"]),
            correct=bool(data["correct"]),
            extracted=data.get("extracted"),
            kind=str(data.get("kind", "unknown")),
            reason=data.get("reason"),
            details=dict(data.get("details") or {}),
        )


def failed(kind: str, reason: str, extracted: str | None = None, **details: Any) -> ScoreResult:
    """A score of 0 with the reason it could not be better."""
    return ScoreResult(0.0, False, extracted, kind, reason, details)


@dataclass(frozen=True)
class FinalAnswer:
    """The part of a response that is the answer, after any reasoning block."""

    text: str | None          # None: the model never finished thinking, so there is no answer
    reasoning: str | None     # the <think> part, when there was one
    reason: str | None = None


def split_reasoning(response: str, *, think_open: bool = False) -> FinalAnswer:
    """Separate a reasoning model's ``<think>...</think>`` from its answer.

    The answer is what follows the last ``</think>``. A response with ``<think>`` but no
    ``</think>`` stopped while reasoning (usually at the token limit): it has no answer.
    ``think_open=True`` says the prompt itself opened the block (DeepSeek-R1's chat
    template ends with ``<think>\\n``), so a response without ``</think>`` is unfinished too.
    """
    if THINK_CLOSE in response:
        head, _, tail = response.rpartition(THINK_CLOSE)
        reasoning = head.split(THINK_OPEN, 1)[-1]
        return FinalAnswer(tail, reasoning)
    if THINK_OPEN in response or think_open:
        reasoning = response.split(THINK_OPEN, 1)[-1]
        return FinalAnswer(None, reasoning, "unfinished <think> block: the model stopped before answering")
    return FinalAnswer(response, None)


def prompt_opens_think(rendered_prompt: str) -> bool:
    """True when the rendered prompt leaves a ``<think>`` block open (DeepSeek-R1's template
    ends with ``<think>\n``): pass the result as ``think_open`` to the scorers."""
    head, sep, tail = rendered_prompt.rpartition(THINK_OPEN)
    return bool(sep) and THINK_CLOSE not in tail


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)


def code_blocks(text: str, languages: tuple[str, ...] = ()) -> list[str]:
    """Contents of Markdown code fences, optionally only those tagged with one of ``languages``.

    An unterminated final fence (a truncated response) still counts.
    """
    blocks = []
    for match in _FENCE.finditer(text):
        tag = match.group(1).lower()
        if languages and tag and tag not in languages:
            continue
        blocks.append(match.group(2))
    return blocks
