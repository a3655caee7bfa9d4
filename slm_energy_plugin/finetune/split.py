"""Training and evaluation must not share a question: the check, on normalised text.

Pure: no I/O. Two questions are the same when they differ only in case, punctuation,
quotes or spacing ("How many books are there?" = "how many books are there"), so a
copy with a changed question mark cannot leak an evaluation question into training.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

from ..errors import ConfigError
from ..number_format import plural

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalise_question(text: str) -> str:
    """Case-folded words and numbers only, single-spaced (NFKC first, so full-width forms match)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_WORD.sub(" ", folded).strip()


def shared_questions(train: Iterable[str], evaluation: Iterable[str]) -> list[str]:
    """Training questions (as written) whose normalised text is also an evaluation question."""
    held_out = {normalise_question(q) for q in evaluation}
    return [q for q in train if normalise_question(q) in held_out]


def check_disjoint(train: Iterable[str], evaluation: Iterable[str], *, train_name: str, eval_name: str) -> None:
    """Raise ConfigError (one line) when the training split holds an evaluation question."""
    shared = shared_questions(train, evaluation)
    if shared:
        more = f" and {len(shared) - 1} more" if len(shared) > 1 else ""
        raise ConfigError(
            f"training data {train_name} shares {plural(len(shared), 'question')} with the evaluation split "
            f"{eval_name} (e.g. {shared[0]!r}{more}); remove them so the evaluation measures unseen questions")
