"""Task data in the standard formats, so users can bring the real datasets.

- text-to-SQL: Spider's JSON (a list of ``{"db_id", "question", "query", ...}``) with
  databases either in Spider's layout (``<db_root>/<db_id>/<db_id>.sqlite``) or as a
  ``<db_root>/<db_id>.sql`` script that :func:`build_sqlite_db` turns into a SQLite file;
- multiple choice: MMLU's CSV (no header; ``question,A,B,C,D,answer``; the subject comes
  from the file name, ``<subject>_test.csv``);
- code: HumanEval's JSONL (``task_id, prompt, canonical_solution, test, entry_point``),
  plain or ``.gz``.

Malformed input raises :class:`~slm_energy_plugin.errors.ConfigError` naming the file and
the line, row or item. The project's own small sets live in ``data/tasks/``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence
from urllib.request import pathname2url

from ..errors import ConfigError
from ..paths import cache_dir, data_dir
from .choice import LETTERS

SPIDER_FIELDS = ("db_id", "question", "query")
HUMANEVAL_FIELDS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")


@dataclass(frozen=True)
class SqlTask:
    id: str                 # stable pytest id, e.g. "sql01"
    question: str
    query: str              # the reference SQL
    db_id: str
    db_path: Path


@dataclass(frozen=True)
class ChoiceTask:
    id: str                 # e.g. "mc01"
    question: str
    options: tuple[str, str, str, str]
    answer: str             # "A".."D"
    subject: str


@dataclass(frozen=True)
class CodeTask:
    id: str                 # e.g. "code01"
    task_id: str            # the dataset's own id, e.g. "HumanEval/0"
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


def _ids(prefix: str, count: int) -> list[str]:
    width = max(2, len(str(count)))
    return [f"{prefix}{i + 1:0{width}d}" for i in range(count)]


def tasks_dir() -> Path:
    return data_dir() / "tasks"


# --- SQLite databases ---------------------------------------------------------------

def build_sqlite_db(script: str | Path, dest_dir: str | Path | None = None) -> Path:
    """Build (once) the SQLite file a ``.sql`` script describes; returns its path.

    The file is named after the script's content hash, written atomically, and reused
    while the script is unchanged. Default folder: ``cache_dir()/sqlite``.
    """
    script = Path(script)
    try:
        text = script.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read SQL script {script}: {exc.strerror}") from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    folder = Path(dest_dir) if dest_dir is not None else cache_dir() / "sqlite"
    target = folder / f"{script.stem}-{digest}.sqlite"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{script.stem}-", suffix=".sqlite", dir=folder)
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(text)
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise ConfigError(f"SQL script {script} does not build a database: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def resolve_database(db_root: str | Path, db_id: str, build_dir: str | Path | None = None) -> Path:
    """Spider's ``<root>/<db_id>/<db_id>.sqlite``, else a built ``<root>/<db_id>.sql``."""
    root = Path(db_root)
    spider = root / db_id / f"{db_id}.sqlite"
    if spider.is_file():
        return spider
    script = root / f"{db_id}.sql"
    if script.is_file():
        return build_sqlite_db(script, build_dir)
    raise ConfigError(f"no database for db_id {db_id!r}: expected {spider} (Spider layout) or {script}")


def schema_sql(db_path: str | Path) -> str:
    """The CREATE statements of a database, for the prompt."""
    conn = sqlite3.connect(f"file:{pathname2url(str(Path(db_path)))}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL "
                            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid").fetchall()
    finally:
        conn.close()
    return ";\n\n".join(r[0].strip() for r in rows) + ";"


def compact_schema(db_path: str | Path) -> str:
    """One line per table, ``books(book_id, title, author_id -> authors.author_id, ...)``.

    About a third of the tokens of the CREATE statements: the full schema of a Spider
    database can exceed a small model's context (GPT-2: 1024 positions).
    """
    conn = sqlite3.connect(f"file:{pathname2url(str(Path(db_path)))}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        lines = []
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            refs = {row[3]: f"{row[2]}.{row[4]}" for row in conn.execute(f"PRAGMA foreign_key_list({quoted})")}
            cols = [f"{name} -> {refs[name]}" if name in refs else name
                    for _, name, *_ in conn.execute(f"PRAGMA table_info({quoted})")]
            lines.append(f"{table}({', '.join(cols)})")
    finally:
        conn.close()
    return "\n".join(lines)


def format_sql_prompt(question: str, schema: str) -> str:
    """A plain text-to-SQL prompt: the schema (:func:`compact_schema` or :func:`schema_sql`), the question.

    It does not end in a primed ``SELECT``: the scorer reads the response alone, so the
    response must hold the whole statement.
    """
    return (f"-- SQLite database schema:\n{schema}\n\n"
            f"-- Write one SQLite query that answers the question. Return only the SQL.\n"
            f"-- Question: {question.strip()}\n-- SQL:\n")


# --- Spider JSON ----------------------------------------------------------------------

def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None


def _require_text(item: Any, fields: Sequence[str], where: str) -> dict[str, str]:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(item).__name__}")
    out = {}
    for name in fields:
        value = item.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: field {name!r} is missing or not a non-empty string")
        out[name] = value
    return out


def load_spider(questions: str | Path, db_root: str | Path, *, id_prefix: str = "sql",
                build_dir: str | Path | None = None) -> list[SqlTask]:
    """Text-to-SQL tasks from a Spider-format JSON file (extra Spider fields are ignored)."""
    path = Path(questions)
    data = _load_json(path)
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}: expected a non-empty JSON list of {{db_id, question, query}} objects")
    ids = _ids(id_prefix, len(data))
    dbs: dict[str, Path] = {}
    tasks = []
    for i, item in enumerate(data):
        fields = _require_text(item, SPIDER_FIELDS, f"{path}: item {i + 1}")
        db_id = fields["db_id"]
        if db_id not in dbs:
            try:
                dbs[db_id] = resolve_database(db_root, db_id, build_dir)
            except ConfigError as exc:
                raise ConfigError(f"{path}: item {i + 1}: {exc}") from None
        tasks.append(SqlTask(ids[i], fields["question"], fields["query"], db_id, dbs[db_id]))
    return tasks


# --- MMLU CSV -------------------------------------------------------------------------

def mmlu_subject(path: Path) -> str:
    stem = path.stem
    for suffix in ("_test", "_dev", "_val"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return stem.replace("_", " ")


def load_mmlu_csv(path: str | Path, *, subject: str | None = None, id_prefix: str = "mc") -> list[ChoiceTask]:
    """Multiple-choice tasks from one MMLU-format CSV file (no header row)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            rows = []
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue
                rows.append((reader.line_num, row))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except csv.Error as exc:
        raise ConfigError(f"{path}: malformed CSV: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    if not rows:
        raise ConfigError(f"{path}: no questions (expected rows of question,A,B,C,D,answer)")
    topic = subject or mmlu_subject(path)
    ids = _ids(id_prefix, len(rows))
    tasks = []
    for (line, row), task_id in zip(rows, ids):
        if len(row) != 6:
            raise ConfigError(f"{path}: line {line}: expected 6 fields (question,A,B,C,D,answer), got {len(row)}")
        question, *options, answer = (cell.strip() for cell in row)
        if not question or any(not o for o in options):
            raise ConfigError(f"{path}: line {line}: the question and all four options must be non-empty")
        if answer.upper() not in LETTERS:
            if line == 1 and answer.lower() == "answer":
                raise ConfigError(f"{path}: line 1 is a header; MMLU CSV files have none, remove it")
            raise ConfigError(f"{path}: line {line}: answer {answer!r} is not one of A, B, C, D")
        tasks.append(ChoiceTask(task_id, question, tuple(options), answer.upper(), topic))  # type: ignore[arg-type]
    return tasks


# --- HumanEval JSONL ------------------------------------------------------------------

def load_humaneval_jsonl(path: str | Path, *, id_prefix: str = "code") -> list[CodeTask]:
    """Code tasks from a HumanEval-format JSONL file (``.jsonl`` or ``.jsonl.gz``)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    items: list[tuple[int, dict[str, str]]] = []
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for line_no, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}: line {line_no}: invalid JSON ({exc.msg})") from None
                fields = _require_text(item, HUMANEVAL_FIELDS, f"{path}: line {line_no}")
                if not fields["entry_point"].isidentifier():
                    raise ConfigError(f"{path}: line {line_no}: entry_point {fields['entry_point']!r} "
                                      f"is not a Python identifier")
                items.append((line_no, fields))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not items:
        raise ConfigError(f"{path}: no tasks (expected one JSON object per line)")
    seen: dict[str, int] = {}
    for line_no, fields in items:
        if fields["task_id"] in seen:
            raise ConfigError(f"{path}: line {line_no}: task_id {fields['task_id']!r} repeats line "
                              f"{seen[fields['task_id']]}")
        seen[fields["task_id"]] = line_no
    ids = _ids(id_prefix, len(items))
    return [CodeTask(i, f["task_id"], f["prompt"], f["canonical_solution"], f["test"], f["entry_point"])
            for i, (_, f) in zip(ids, items)]


# --- The project's own sets -----------------------------------------------------------

def builtin_sql_tasks(build_dir: str | Path | None = None) -> list[SqlTask]:
    folder = tasks_dir() / "sql"
    return load_spider(folder / "questions.json", folder, build_dir=build_dir)


def builtin_choice_tasks() -> list[ChoiceTask]:
    return load_mmlu_csv(tasks_dir() / "mmlu" / "general_knowledge_test.csv")


def builtin_code_tasks() -> list[CodeTask]:
    return load_humaneval_jsonl(tasks_dir() / "code" / "tasks.jsonl")
