"""Task cases in the seed's ``test_cases.json`` format: a JSON list of objects.

Seed fields (the efficiency-rating runner's format, kept exactly): ``model`` (required there,
optional here: a case without one runs on every selected model), ``prompt``, ``task_type``,
``reference_text`` (optional), ``max_tokens`` (default 200), ``temperature`` (default 0.7).
Extra optional fields: ``id``, ``top_p``, ``seed``, ``stop``, ``load``, and for code cases
``tests``/``entry_point`` (HumanEval-style tests run in the sandbox).

The file is untrusted input: its size, the number of cases, every string's length and the
JSON nesting are bounded, every field is strictly typed (pydantic strict mode: ``"200"`` is
not a number, ``true`` is not 1), unknown fields are refused, and every problem is one line
naming the case index and the field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError
from ..paths import data_dir
from ..textfile import read_text

DEFAULT_CASES = "test_cases.json"
TASK_TYPES = ("qa", "summary", "code", "creative")
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_CASES = 10_000
MAX_PROMPT_CHARS = 200_000
MAX_CASE_DEPTH = 2       # a case holds scalars and one list of strings (stop): deeper is not this format
DEFAULT_MAX_TOKENS = 200
DEFAULT_TEMPERATURE = 0.7

# The seed's long names (and their spellings) -> the project's short task types.
_TASK_ALIASES = {
    "qa": "qa", "knowledge qa": "qa", "question answering": "qa", "knowledge": "qa",
    "summary": "summary", "summarisation": "summary", "summarization": "summary",
    "summarise": "summary", "summarize": "summary",
    "code": "code", "code generation": "code", "coding": "code",
    "creative": "creative", "creative writing": "creative",
    # The experiment framework's own task types (its test_cases.json is written in Chinese).
    "知识问答": "qa", "文本摘要": "summary", "代码生成": "code", "创意写作": "creative",
}
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def normalise_task_type(text: str) -> str:
    """``"knowledge QA"``, ``"Summarization"``, ``"code_generation"`` ... -> qa/summary/code/creative."""
    key = re.sub(r"[\s_-]+", " ", text.strip().lower())
    try:
        return _TASK_ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown task type {text!r}; use one of {', '.join(TASK_TYPES)} "
                         "(or the seed's knowledge QA, summarisation, code generation, creative writing; "
                         "知识问答, 文本摘要, 代码生成, 创意写作)") from None


class Case(BaseModel):
    """One validated case; the defaults are the seed format's."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    id: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, min_length=1, max_length=500)
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    task_type: str = Field(min_length=1, max_length=64)
    reference_text: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)
    max_tokens: int = Field(default=DEFAULT_MAX_TOKENS, ge=1, le=8192)
    temperature: float = Field(default=DEFAULT_TEMPERATURE, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    stop: tuple[str, ...] | None = Field(default=None, max_length=16)
    load: str | None = Field(default=None, min_length=1, max_length=32)
    tests: str | None = Field(default=None, min_length=1, max_length=MAX_PROMPT_CHARS)
    entry_point: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _ID.fullmatch(value):
            raise ValueError("an id is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
        return value

    @field_validator("task_type")
    @classmethod
    def _task(cls, value: str) -> str:
        return normalise_task_type(value)

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_list(cls, value: Any) -> Any:
        if isinstance(value, str):   # OpenAI's API accepts one string as well as a list
            value = [value]
        if isinstance(value, list):
            if any(not isinstance(s, str) or not 1 <= len(s) <= 64 for s in value):
                raise ValueError("stop sequences are strings of 1-64 characters")
            return tuple(value)
        return value

    @property
    def case_id(self) -> str:
        assert self.id is not None   # load_cases fills every id
        return self.id

    @property
    def sampling(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "top_p": self.top_p, "seed": self.seed}

    def __str__(self) -> str:     # shows as the prompt wherever a string is expected
        return self.prompt


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def _field_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "case"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field (allowed: " + ", ".join(Case.model_fields) + ")"
    elif error["type"] == "missing":
        message = "required field missing"
    return f"field {field!r}: {message}"


def parse_cases(text: str, source: str) -> list[Case]:
    """Validate a cases file's text; ids default to ``c001``, ``c002``... by position."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ConfigError(f"cases file {source!r}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"cases file {source!r}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise ConfigError(f"cases file {source!r}: nested too deeply to be a list of cases") from None
    if not isinstance(data, list):
        raise ConfigError(f"cases file {source!r}: expected a JSON list of cases, got a {type(data).__name__}")
    if not data:
        raise ConfigError(f"cases file {source!r}: holds no cases")
    if len(data) > MAX_CASES:
        raise ConfigError(f"cases file {source!r}: {len(data)} cases, more than the limit of {MAX_CASES}")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data):
        # Cases are counted from 1, as a person counts them in the file (case 1 is the first).
        where = f"cases file {source!r}, case {index + 1}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected a JSON object, got a {type(item).__name__}")
        if _depth(item) > MAX_CASE_DEPTH:
            raise ConfigError(f"{where}: nested too deeply (a case holds strings, numbers and a stop list)")
        try:
            case = Case.model_validate(item)
        except ValidationError as exc:
            label = f" (id {item['id']!r})" if isinstance(item.get("id"), str) else ""
            raise ConfigError(f"{where}{label}: {_field_error(exc)}") from None
        case_id = case.id or f"c{index + 1:03d}"
        if case_id in seen:
            raise ConfigError(f"{where}: field 'id': {case_id!r} repeats case {seen[case_id]}'s id")
        seen[case_id] = index + 1
        if case.task_type == "code" and (case.tests is None) != (case.entry_point is None):
            raise ConfigError(f"{where}: field 'tests': code tests need both 'tests' and 'entry_point'")
        cases.append(case.model_copy(update={"id": case_id}))
    return cases


def default_cases_path() -> Path:
    return data_dir() / DEFAULT_CASES


def load_cases(path: Path | None = None) -> list[Case]:
    """The cases of ``path`` (None: the project's built-in ``data/test_cases.json``)."""
    path = path or default_cases_path()
    text = read_text(path, f"cases file {str(path)!r}", "pass --energy-cases PATH")
    return parse_cases(text, str(path))
