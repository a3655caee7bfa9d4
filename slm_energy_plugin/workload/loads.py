"""Input loads: prompts of controlled length, so the cost of reading a long prompt is measured.

The seed's loads are short (~50-100 tokens), medium (~200-500) and long (1000+). A load
prompt is an instruction to summarise, followed by as much of the project's own text
(``data/texts/canal_town.txt``, written for the project, public domain) as fits the target
*after* the model's prompt template, counted with the model's own tokenizer: the target is
met from below, to the word, and the exact count is recorded (``tokens_input``). A target
longer than the text continues from its start (``text_passes`` > 1 says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from ..paths import data_dir
from ..textfile import read_text

INSTRUCTION = "Summarise the following text in one sentence.\n\n"
TEXT_FILE = Path("texts") / "canal_town.txt"


@dataclass(frozen=True)
class Load:
    name: str
    target_tokens: int      # prompt tokens after the template, at most


LOADS = (Load("short", 64), Load("medium", 384), Load("long", 1536))


@dataclass(frozen=True)
class LoadPrompt:
    load: Load
    prompt: str
    tokens: int             # exact prompt tokens after the template
    words: int              # words of the text used
    text_passes: int        # 1 unless the target needed the text more than once


@lru_cache(maxsize=1)
def source_words() -> tuple[str, ...]:
    path = data_dir() / TEXT_FILE
    text = read_text(path, f"load text {str(path)!r}")
    body = text.split("\n", 1)[1] if text.startswith("The Canal Town.") else text   # drop the title/licence line
    return tuple(body.split())


def _text(words: int) -> str:
    source = source_words()
    return " ".join(source[i % len(source)] for i in range(words))


def build_load_prompt(load: Load, count_tokens: Callable[[str], int]) -> LoadPrompt:
    """The longest prompt (in whole words) whose token count is at most the load's target.

    ``count_tokens`` counts a query's tokens after the model's template (``LoadedModel.prompt_tokens``).
    Token counts grow with words, so a binary search over the word count needs ~12 tokenizations.
    """
    low, high = 0, 1
    while count_tokens(INSTRUCTION + _text(high)) <= load.target_tokens:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if count_tokens(INSTRUCTION + _text(middle)) <= load.target_tokens:
            low = middle
        else:
            high = middle
    if low == 0:
        raise ValueError(f"load {load.name!r}: {load.target_tokens} tokens do not fit even the instruction")
    prompt = INSTRUCTION + _text(low)
    passes = -(-low // len(source_words()))
    return LoadPrompt(load, prompt, count_tokens(prompt), low, passes)
