"""Training examples for the text-to-SQL fine-tune, in Spider's JSON format.

The file is read by the suite's own Spider loader (:func:`quality.datasets.load_spider`:
one JSON list of ``{db_id, question, query}``, one-line errors naming the item), so the
training split and the evaluation split are parsed by the same code. On top of it, a
training file is untrusted input with limits: a size cap, no repeated question, and every
reference query must run on its database (a broken key would teach broken SQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..quality.datasets import SqlTask, builtin_sql_tasks, compact_schema, load_spider, tasks_dir
from .split import check_disjoint, normalise_question

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_EXAMPLES = 100_000
BUILTIN_TRAIN = "train.json"


@dataclass(frozen=True)
class SqlExample:
    """One training pair with the prompt text the evaluation uses for it (schema included)."""

    question: str
    query: str
    db_id: str
    schema: str


def builtin_train_file() -> Path:
    """The project's training split over the bookshop database (shares no question with questions.json)."""
    return tasks_dir() / "sql" / BUILTIN_TRAIN


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"cannot read training data {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ConfigError(f"training data {path} is {size / 1e6:.1f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB")


def load_training_tasks(path: Path, db_root: Path | None = None) -> list[SqlTask]:
    """Tasks from a Spider-format file; databases resolved under ``db_root`` (default: beside the file)."""
    _check_size(path)
    tasks = load_spider(path, db_root or path.parent, id_prefix="train")
    if len(tasks) > MAX_EXAMPLES:
        raise ConfigError(f"training data {path} has {len(tasks)} examples; the limit is {MAX_EXAMPLES}")
    seen: dict[str, int] = {}
    for i, task in enumerate(tasks, start=1):
        key = normalise_question(task.question)
        if key in seen:
            raise ConfigError(f"{path}: item {i} repeats the question of item {seen[key]} ({task.question!r})")
        seen[key] = i
    return tasks


def verify_queries(tasks: list[SqlTask], path: Path) -> None:
    """Every reference query runs on its database (read-only); else one line naming the item."""
    from ..quality.sql import run_readonly

    for i, task in enumerate(tasks, start=1):
        try:
            run_readonly(task.db_path, task.query)
        except ConfigError as exc:
            raise ConfigError(f"{path}: item {i}: reference query does not run: {exc}") from None


def load_sql_training_set(path: Path | None = None, *, check_against_eval: bool = True) -> list[SqlExample]:
    """The training examples, checked: valid, runnable, and (by default) disjoint from the built-in
    evaluation questions (``data/tasks/sql/questions.json``)."""
    path = path or builtin_train_file()
    tasks = load_training_tasks(path)
    verify_queries(tasks, path)
    if check_against_eval:
        check_disjoint([t.question for t in tasks], [t.question for t in builtin_sql_tasks()],
                       train_name=str(path), eval_name=str(tasks_dir() / "sql" / "questions.json"))
    schemas: dict[Path, str] = {}
    examples = []
    for task in tasks:
        if task.db_path not in schemas:
            schemas[task.db_path] = compact_schema(task.db_path)   # the schema the SQL benchmark prompts with
        examples.append(SqlExample(task.question, task.query, task.db_id, schemas[task.db_path]))
    return examples
