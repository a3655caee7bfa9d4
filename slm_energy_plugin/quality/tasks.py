"""Scorers for the seed's task types: qa, summary, code (syntax), and what each calls "correct".

Pure (no I/O). ROUGE-L (rouge-score) and chrF (sacrebleu) come from :mod:`.text`.

- **qa**: ``correct`` when the reference answer occurs in the response (normalised, whole
  words: :func:`.text.score_contains`); ``score`` is 1.0 then, else the ROUGE-L F-measure
  against the reference, so near misses are graded. Exact match, ROUGE-L and chrF are in
  ``details``.
- **summary**: ``score`` is ROUGE-L F against ``reference_text``; ``correct`` is the stated
  convention ROUGE-L >= :data:`SUMMARY_ROUGE_L_CORRECT` (0.30) *and* a length ratio
  (response words / reference words) within :data:`SUMMARY_LENGTH_RATIO` (0.5-2.0), so
  copying the whole source does not count. chrF and the ratio are in ``details``.
- **code without tests**: syntax only. ``correct`` means "parses as Python" (``ast.parse`` of
  the prompt + completion, or of the completion or its fenced block alone); nothing is run.
  Code cases that give ``tests`` use the sandboxed :func:`.python_tests.score_python` instead.
"""

from __future__ import annotations

import ast
import re

from .result import ScoreResult, code_blocks, failed, split_reasoning
from .text import chrf, normalize, rouge_l, score_contains

SUMMARY_ROUGE_L_CORRECT = 0.30
SUMMARY_LENGTH_RATIO = (0.5, 2.0)
_WORD = re.compile(r"\w+")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def score_qa(response: str, reference: str, *, think_open: bool = False) -> ScoreResult:
    final = split_reasoning(response, think_open=think_open)
    if final.text is None:
        return failed("qa", final.reason or "no answer")
    text = final.text.strip()
    if not text:
        return failed("qa", "empty answer", extracted="")
    contains = score_contains(text, reference)
    exact = normalize(text, articles=True) == normalize(reference, articles=True)
    values = {"rougeL": rouge_l(text, reference), "chrf": chrf(text, reference)}
    ok = contains.correct or exact
    score = 1.0 if ok else min(1.0, max(0.0, values["rougeL"]))
    return ScoreResult(score, ok, text, "qa", None if ok else "the reference answer does not occur in the response",
                       {"exact": exact, "contains": contains.correct, **values})


def score_summary(response: str, reference: str, *, think_open: bool = False,
                  rouge_threshold: float = SUMMARY_ROUGE_L_CORRECT) -> ScoreResult:
    final = split_reasoning(response, think_open=think_open)
    if final.text is None:
        return failed("summary", final.reason or "no answer")
    text = final.text.strip()
    if not text:
        return failed("summary", "empty summary", extracted="", rougeL=0.0, chrf=0.0)
    rouge, char_f = rouge_l(text, reference), chrf(text, reference)
    ratio = _words(text) / max(1, _words(reference))
    low, high = SUMMARY_LENGTH_RATIO
    in_length = low <= ratio <= high
    ok = rouge >= rouge_threshold and in_length
    reason = None
    if not ok:
        reason = (f"ROUGE-L {rouge:.2f} below {rouge_threshold:.2f}" if rouge < rouge_threshold
                  else f"length ratio {ratio:.2f} outside {low}-{high}")
    return ScoreResult(min(1.0, max(0.0, rouge)), ok, text, "summary", reason,
                       {"rougeL": rouge, "chrf": char_f, "length_ratio": round(ratio, 3),
                        "rouge_threshold": rouge_threshold, "length_band": [low, high]})


def _parses(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return bool(tree.body)


def score_code_syntax(response: str, prompt: str = "", *, think_open: bool = False) -> ScoreResult:
    """1.0 when the completion is valid Python; nothing is executed."""
    final = split_reasoning(response, think_open=think_open)
    if final.text is None:
        return failed("code_syntax", final.reason or "no answer")
    text = final.text
    if not text.strip():
        return failed("code_syntax", "empty answer", extracted="")
    candidates = [("prompt+completion", prompt + text)] if prompt else []
    candidates.append(("completion", text))
    candidates.extend(("fenced block", block) for block in code_blocks(text, ("python", "py")))
    for how, source in candidates:
        if _parses(source):
            return ScoreResult(1.0, True, source, "code_syntax", None, {"parsed": how, "executed": False})
    return failed("code_syntax", "not valid Python (syntax only: the code was not run)", extracted=text,
                  executed=False)
