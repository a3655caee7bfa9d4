"""``--energy-task-data sql=PATH,mmlu=PATH``: the real Spider dev set and MMLU test files, when the user has them.

Published layouts, as downloaded:

- Spider: the folder holding ``dev.json`` and ``database/<db_id>/<db_id>.sqlite`` (or the JSON file
  itself, its databases in ``database/`` beside it);
- MMLU: the ``data`` folder holding ``test/<subject>_test.csv`` (or the ``test`` folder, or one CSV),
  each CSV without a header: ``question,A,B,C,D,answer``.

Without the option the benchmark uses the project's small sets in ``data/tasks/``. No pytest here;
the benchmark module reads the option through :func:`task_data_from_config`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..quality.datasets import ChoiceTask, SqlTask, load_mmlu_csv, load_spider, mmlu_subject

TASK_KINDS = ("sql", "mmlu")
SPIDER_QUESTIONS = "dev.json"


def parse_task_data(text: str) -> tuple[tuple[str, str], ...]:
    """``sql=PATH,mmlu=PATH`` -> ((kind, path), ...); ValueError (one line) for anything else."""
    pairs: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kind, sep, path = part.partition("=")
        kind, path = kind.strip().lower(), path.strip()
        if not sep or kind not in TASK_KINDS or not path:
            raise ValueError(f"expected KIND=PATH with KIND one of {', '.join(TASK_KINDS)}, e.g. "
                             f"sql=spider,mmlu=data (got {part!r})")
        if kind in pairs:
            raise ValueError(f"{kind} is given twice")
        pairs[kind] = path
    if not pairs:
        raise ValueError("name at least one KIND=PATH, e.g. sql=spider")
    return tuple(pairs.items())


def spider_tasks(path: Path) -> list[SqlTask]:
    """Spider's dev set: ``PATH/dev.json`` with ``PATH/database/<db_id>/<db_id>.sqlite``."""
    questions = path / SPIDER_QUESTIONS if path.is_dir() else path
    if not questions.is_file():
        raise ConfigError(f"--energy-task-data sql={path}: no {SPIDER_QUESTIONS} there; give Spider's folder "
                          f"(holding {SPIDER_QUESTIONS} and database/) or the JSON file")
    db_root = questions.parent / "database"
    return load_spider(questions, db_root if db_root.is_dir() else questions.parent, id_prefix="spider")


def mmlu_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    folder = path / "test" if (path / "test").is_dir() else path
    files = sorted(folder.glob("*_test.csv"))
    if not files:
        raise ConfigError(f"--energy-task-data mmlu={path}: no <subject>_test.csv files in {folder}; give MMLU's "
                          "data folder (holding test/) or its test folder")
    return files


def mmlu_tasks(path: Path) -> list[ChoiceTask]:
    """Every subject's test questions, ids ``mmlu-<subject>-NN`` (unique across subjects)."""
    tasks: list[ChoiceTask] = []
    for file in mmlu_files(path):
        prefix = "mmlu-" + mmlu_subject(file).replace(" ", "_") + "-"
        tasks.extend(load_mmlu_csv(file, id_prefix=prefix))
    return tasks


def load_task_data(kind: str, path: Path) -> list[Any]:
    if not path.exists():
        raise ConfigError(f"--energy-task-data {kind}={path}: no such file or folder")
    return spider_tasks(path) if kind == "sql" else mmlu_tasks(path)


def resolve_paths(pairs: tuple[tuple[str, str], ...], rootdir: Path) -> tuple[tuple[str, str], ...]:
    """Relative paths taken against the run's root folder, as the other path options are."""
    out = []
    for kind, raw in pairs:
        path = Path(os.path.expanduser(raw))
        out.append((kind, str(path if path.is_absolute() else rootdir / path)))
    return tuple(out)


def task_data_from_config(config: Any) -> dict[str, Path]:
    """The option's paths from a pytest config (command line, else ini), resolved against its root."""
    raw = config.getoption("energy_task_data", None) or config.getini("energy_task_data")
    if not raw:
        return {}
    try:
        pairs = parse_task_data(str(raw))
    except ValueError as exc:
        raise ConfigError(f"--energy-task-data={raw!r}: {exc}") from None
    return {kind: Path(path) for kind, path in resolve_paths(pairs, Path(config.rootpath))}
