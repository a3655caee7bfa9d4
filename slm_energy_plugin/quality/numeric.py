"""Numeric answers (math word problems): extract the model's number, compare with the key.

Pure. Follows lm-evaluation-harness's GSM8K conventions (see reference/facts.md): a
*strict* extraction that only trusts an explicitly marked answer, then a *flexible* one
that takes the last number in the answer text. Differences from the harness, on purpose:

- strict also accepts ``\\boxed{N}`` (reasoning models' habit), ``#### N`` (GSM8K's own
  marker) and ``Answer: N``; the harness's ``The answer is N`` keeps its meaning;
- numbers are parsed, not string-compared: ``1,234``, ``$1,234.00``, ``-5``/``−5``,
  ``.5``, ``3/4``, ``\\frac{3}{4}`` and ``50%`` all become exact fractions;
- a reasoning model's answer is read after the closing ``</think>``; a response that never
  closes its ``<think>`` block has no answer (and scores 0 with that reason).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from ..errors import ConfigError
from .result import ScoreResult, failed, split_reasoning

KIND = "numeric"

_NUMBER = re.compile(
    r"""
    (?<![\w.])                                  # not glued to a word or a decimal point
    (?P<sign>[-+]?)\$?
    (?P<body>\d{1,3}(?:,\d{3})+(?:\.\d+)?       # 1,234,567.89
           |\d+(?:\.\d+)?                       # 1234.5
           |\.\d+)                              # .5
    (?:\s?/\s?(?P<den>\d+)(?![\d.,]\d))?        # 3/4
    (?P<pct>\s?%)?                               # a letter may follow: "5th", "10am" count, as in the harness
    """,
    re.VERBOSE,
)

_LATEX_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*([^{}]+?)\s*\}\s*\{\s*([^{}]+?)\s*\}")
_ANSWER_PHRASE = re.compile(
    r"(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=)\s*(?:[:=]\s*)?(?:\*\*|__)?\s*", re.IGNORECASE)
_HASHES = re.compile(r"####\s*")
_PHRASE_WINDOW = 40   # characters after "the answer is" in which the number must start
# A plain-completion model that rambles on starts a new, invented exchange with the prompt
# format's turn marker ("The answer is 85. Question: what is 10 + 10? The answer is 20.").
_CONTINUATION = re.compile(r"\b(?:Question|Instruct|Input|User)\s*:")


@dataclass(frozen=True)
class ParsedNumber:
    value: Fraction
    percent: bool
    text: str           # as written, e.g. "$1,234.50"
    position: int

    @property
    def canonical(self) -> str:
        """A spelling that is equal for equal numbers ("1,234" and "1234.0" -> "1234")."""
        v = self.value
        if v.denominator == 1:
            body = str(v.numerator)
        else:
            body = f"{v.numerator}/{v.denominator}" if "/" in self.text else f"{float(v):.12g}"
        return body + ("%" if self.percent else "")


def normalize_math_text(text: str) -> str:
    """Undo the LaTeX and Unicode spellings of numbers a model may use."""
    text = text.replace("\u2212", "-").replace("\u2013", "-")   # minus sign, en dash
    text = text.replace("\\!", "").replace("\\,", "").replace("{,}", ",")
    text = text.replace("\\%", "%").replace("\\$", "$")
    text = _LATEX_FRAC.sub(lambda m: f"{m.group(1)}/{m.group(2)}", text)
    return text


def find_numbers(text: str) -> list[ParsedNumber]:
    """Every number in ``text``, in order."""
    text = normalize_math_text(text)
    found = []
    for m in _NUMBER.finditer(text):
        body = m.group("body").replace(",", "")
        value = Fraction(body)
        den = m.group("den")
        if den is not None:
            if "." in body or int(den) == 0:
                # "1.5/2" or "3/0": not a fraction a model means; keep the numerator only.
                den = None
            else:
                value = value / int(den)
        if m.group("sign") == "-":
            value = -value
        found.append(ParsedNumber(value, m.group("pct") is not None, m.group(0).strip(), m.start()))
    return found


def parse_number(text: str) -> ParsedNumber | None:
    """The single number in ``text`` (e.g. an answer key), or None if there is not exactly one."""
    numbers = find_numbers(text.strip())
    return numbers[0] if len(numbers) == 1 else None


def _boxed_contents(text: str) -> list[tuple[int, str]]:
    """Contents of every ``\\boxed{...}`` / ``\\fbox{...}``, with balanced braces."""
    out = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            out.append((m.start(), text[m.end():i - 1]))
    return out


def extract_strict(text: str) -> tuple[ParsedNumber, str] | None:
    """An explicitly marked answer: ``\\boxed{}``, then ``The answer is``/``Answer:``, then ``####``.

    Within one marker, the last occurrence wins (models restate and correct themselves).
    """
    text = normalize_math_text(text)
    for _, content in reversed(_boxed_contents(text)):
        numbers = find_numbers(content)
        if numbers:
            return numbers[-1], "strict:boxed"
    for pattern, method in ((_ANSWER_PHRASE, "strict:answer-is"), (_HASHES, "strict:####")):
        for m in reversed(list(pattern.finditer(text))):
            window = text[m.end():m.end() + _PHRASE_WINDOW]
            numbers = find_numbers(window)
            if numbers and numbers[0].position <= 3:
                return numbers[0], method
    return None


def first_answer(text: str) -> tuple[str, bool]:
    """The response up to the first invented follow-up exchange (a turn marker after some text),
    and whether it was cut: the model's answer is the first one, not the invented ones after it."""
    for m in _CONTINUATION.finditer(text):
        if text[:m.start()].strip():
            return text[:m.start()], True
    return text, False


def extract_flexible(text: str) -> tuple[ParsedNumber, str] | None:
    """The last number in the text (the harness's "flexible-extract")."""
    numbers = find_numbers(text)
    return (numbers[-1], "flexible:last-number") if numbers else None


def numbers_equal(answer: ParsedNumber, expected: ParsedNumber, *,
                  rel_tol: float = 1e-9, abs_tol: float = 0.0) -> bool:
    """Equal as numbers; a percent matches both its face value (50% ~ 50) and its fraction (50% ~ 0.5)."""
    candidates = [answer.value]
    if answer.percent and not expected.percent:
        candidates.append(answer.value / 100)
    for value in candidates:
        if value == expected.value:
            return True
        if (rel_tol or abs_tol) and math.isclose(float(value), float(expected.value),
                                                 rel_tol=rel_tol, abs_tol=abs_tol):
            return True
    return False


def score_numeric(response: str, expected: str, *, strict_only: bool = False,
                  rel_tol: float = 1e-9, abs_tol: float = 0.0, think_open: bool = False) -> ScoreResult:
    """1.0 when the model's number equals ``expected`` (within the tolerances), else 0.0.

    ``strict_only`` refuses the last-number fallback (an unmarked answer scores 0).
    ``rel_tol``/``abs_tol`` as in :func:`math.isclose`; the default only forgives float noise:
    pass ``rel_tol=1e-3`` (say) when rounded answers should count.
    """
    key = parse_number(str(expected))
    if key is None:
        raise ConfigError(f"expected answer {expected!r} is not a single number; fix the answer key "
                          f"or score this query with kind='exact'")
    final = split_reasoning(response, think_open=think_open)
    if final.text is None:
        return failed(KIND, final.reason or "no answer")
    answer_text, cut = first_answer(final.text)
    found = extract_strict(answer_text)
    if found is None and not strict_only:
        found = extract_flexible(answer_text)
    if found is None:
        why = "no marked answer (strict extraction only)" if strict_only else "no number in the answer"
        return failed(KIND, why)
    number, method = found
    ok = numbers_equal(number, key, rel_tol=rel_tol, abs_tol=abs_tol)
    return ScoreResult(1.0 if ok else 0.0, ok, number.canonical, KIND, None if ok else "wrong number",
                       {"method": method, "as_written": number.text, "expected": key.canonical,
                        **({"cut_at_continuation": True} if cut else {})})
