"""Stop sequences: end a plain-completion model's answer where the prompt format would go on.

Plain models (gpt2, phi-2) continue the pattern they were given: after ``Answer: 85`` comes
``Question: ...`` and a second, invented exchange. As lm-evaluation-harness's ``until``,
generation stops at the prompt format's turn marker (the template's text before
``{query}``, on a new line) and, for short-answer tasks, at a blank line; a case may add its
own ``stop`` list. transformers' ``stop_strings`` stops generating (it needs the tokenizer);
the response is then cut before the stop string, and the tokens the string took stay counted,
since they were generated and paid for. Chat models stop at their end-of-turn token already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SHORT_ANSWER_TASKS = ("math", "qa")
BLANK_LINE = "\n\n"


def style_stops(prompt_style: str, prompt_template: str) -> tuple[str, ...]:
    """The plain template's turn marker on a new line, e.g. ``"\\nQuestion:"`` for ``Question: {query}...``."""
    if prompt_style != "plain" or "{query}" not in prompt_template:
        return ()
    head = prompt_template.split("{query}", 1)[0].strip()
    return ("\n" + head,) if head else ()


def stops_for(prompt_style: str, prompt_template: str, task: str | None,
              extra: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The stops one query runs with: the style's, a blank line for short answers, the case's own."""
    stops = list(style_stops(prompt_style, prompt_template))
    if stops and (task or "math") in SHORT_ANSWER_TASKS:
        stops.append(BLANK_LINE)
    stops.extend(extra or ())
    return tuple(dict.fromkeys(stops))


def stop_kwargs(stops: tuple[str, ...], tokenizer: Any) -> dict[str, Any]:
    """``model.generate`` keyword arguments for the stops (none when there are none)."""
    return {"stop_strings": list(stops), "tokenizer": tokenizer} if stops else {}


@dataclass(frozen=True)
class StopOutcome:
    text: str                  # the response, cut before the first stop string
    reason: str                # "eos", "stop" or "length" (the token limit)
    matched: str | None        # the stop string that ended it
    tokens_unused: int         # the token budget left when generation ended early

    def to_dict(self) -> dict[str, Any]:
        return {"stop_reason": self.reason, "stop_matched": self.matched, "tokens_unused": self.tokens_unused}


def finish(text: str, stops: tuple[str, ...], *, hit_eos: bool, tokens_output: int,
           max_new_tokens: int) -> StopOutcome:
    """Cut ``text`` at its earliest stop string and say why generation ended."""
    cut, matched = len(text), None
    for stop in stops:
        at = text.find(stop)
        if 0 <= at < cut:
            cut, matched = at, stop
    unused = max(0, max_new_tokens - tokens_output)
    # transformers' stop_strings also match across the prompt's end (a prompt ending in "Answer:"
    # and a new token ":" complete "::"): an early end without EOS is then a stop, uncut.
    early = bool(stops) and tokens_output < max_new_tokens
    reason = "eos" if hit_eos else "stop" if matched is not None or early else "length"
    return StopOutcome(text[:cut], reason, matched, unused)
