"""Input loads: prompts of controlled length, so the cost of reading a long prompt is measured.

The seed's loads are short (~50-100 tokens), medium (~200-500) and long (1000+). A load
prompt is an instruction to summarise, followed by as much of the project's own text
(``data/texts/canal_town.txt``, written for the project, public domain) as fits the target
*after* the model's prompt template, counted with the model's own tokenizer: the target is
met from below, to the word, and the exact count is recorded (``tokens_input``). A target
longer than the text continues from its start (``text_passes`` > 1 says so).

A served model may have no tokenizer here (issue 20: the search below grew the text forever,
to 13.8 GB, when every count was 0). Its loads are counted, in this order, with the registry's
``tokenizer``, else the server's own ``prompt_tokens`` (one 1-token request per count), else a
character estimate (4 characters a token), and ``token_source`` says which. The search never
goes past :data:`MAX_WORDS_PER_TOKEN` words per target token: a count that does not follow the
text is refused there and the next way of counting is tried.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from ..paths import data_dir
from ..textfile import read_text

INSTRUCTION = "Summarise the following text in one sentence.\n\n"
TEXT_FILE = Path("texts") / "canal_town.txt"


@dataclass(frozen=True)
class Load:
    name: str
    target_tokens: int      # prompt tokens after the template, at most


LOADS = (Load("short", 64), Load("medium", 384), Load("long", 1536))
MODEL_TOKENIZER = "tokenizer (the model's own)"
CHARS_PER_TOKEN = 4
CHAR_ESTIMATE = (f"estimate: {CHARS_PER_TOKEN} characters a token (no tokenizer named, no prompt tokens "
                 "from the server)")
MAX_WORDS_PER_TOKEN = 4   # English words are a token or more each: 4 words a token means the count is broken


class LoadCountError(ValueError):
    """The token counter does not follow the text (e.g. a server that reports 0 prompt tokens)."""


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


@dataclass(frozen=True)
class LoadPrompt:
    load: Load
    prompt: str
    tokens: int             # exact prompt tokens after the template
    words: int              # words of the text used
    text_passes: int        # 1 unless the target needed the text more than once
    token_source: str = MODEL_TOKENIZER   # how ``tokens`` was counted

    @property
    def exact(self) -> bool:
        """The count is the one the record will hold (the in-process model's own tokenizer)."""
        return self.token_source == MODEL_TOKENIZER


@lru_cache(maxsize=1)
def source_words() -> tuple[str, ...]:
    path = data_dir() / TEXT_FILE
    text = read_text(path, f"load text {str(path)!r}")
    body = text.split("\n", 1)[1] if text.startswith("The Canal Town.") else text   # drop the title/licence line
    return tuple(body.split())


def _text(words: int) -> str:
    source = source_words()
    return " ".join(source[i % len(source)] for i in range(words))


def build_load_prompt(load: Load, count_tokens: Callable[[str], int],
                      token_source: str = MODEL_TOKENIZER) -> LoadPrompt:
    """The longest prompt (in whole words) whose token count is at most the load's target.

    ``count_tokens`` counts a query's tokens after the model's template (``LoadedModel.prompt_tokens``).
    Token counts grow with words, so a binary search over the word count needs ~12 tokenizations;
    at most ``MAX_WORDS_PER_TOKEN`` words a target token (else :class:`LoadCountError`).
    """
    cap = load.target_tokens * MAX_WORDS_PER_TOKEN
    low, high = 0, 1
    while count_tokens(INSTRUCTION + _text(high)) <= load.target_tokens:
        if high >= cap:
            raise LoadCountError(f"load {load.name!r}: {cap} words still count as at most {load.target_tokens} "
                                 f"tokens with {token_source}: the count does not follow the text")
        low, high = high, min(high * 2, cap)
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
    return LoadPrompt(load, prompt, count_tokens(prompt), low, passes, token_source)


def build_model_load_prompt(load: Load, model: Any) -> LoadPrompt:
    """The load's prompt for ``model``: its own tokenizer in-process; for a served model (one with
    ``load_token_counters``) the first of its counters that follows the text, else the estimate."""
    counters: Callable[[], Iterator[tuple[Callable[[str], int], str]]] | None = getattr(
        model, "load_token_counters", None)
    if counters is None:
        return build_load_prompt(load, model.prompt_tokens)
    for count, source in counters():
        try:
            return build_load_prompt(load, count, source)
        except LoadCountError:
            continue
    return build_load_prompt(load, estimate_tokens, CHAR_ESTIMATE)
