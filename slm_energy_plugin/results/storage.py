"""Run folders and JSON files: atomic writes, never overwrite, load and validate.

A run folder is ``<results>/<UTC time>-<random>/`` holding one
``environmental_data_<alias>.json`` per model and ``run.json`` (the run's settings,
machine and status). While a run is going, measured records are appended to
``journal.jsonl`` so a crash or Ctrl-C loses nothing; ``slm-energy recover`` rebuilds
the model files from it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..errors import SlmEnergyError
from .records import ModelRun, validate_model_dict
from ..textfile import read_text

MODEL_FILE_PREFIX = "environmental_data_"
RUN_MANIFEST = "run.json"
JOURNAL = "journal.jsonl"
_SAFE_ALIAS = re.compile(r"[^A-Za-z0-9._@-]+")


def model_file_name(alias: str) -> str:
    """``environmental_data_<alias>.json``, with path separators made safe."""
    return f"{MODEL_FILE_PREFIX}{_SAFE_ALIAS.sub('_', alias)}.json"


def atomic_write_json(path: Path, data: Any) -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target.

    A reader sees either the old file or the whole new one, never half of it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False, allow_nan=False, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def check_writable(results_dir: Path) -> None:
    """Fail before anything is measured if results cannot be written."""
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=results_dir)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise SlmEnergyError(
            f"results directory {str(results_dir)!r} is not writable ({reason}); "
            "pass --energy-results-dir with a folder you can write to"
        ) from None


def new_run_dir(results_dir: Path, now: datetime | None = None) -> Path:
    """Create a fresh run folder; an existing folder is never reused."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    for _ in range(100):
        candidate = results_dir / f"{stamp}-{secrets.token_hex(3)}"
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return candidate
        except FileExistsError:
            continue
    raise SlmEnergyError(f"could not create a new run folder under {results_dir}")


class Journal:
    """Append-only JSON-lines log of records, flushed per line so a crash keeps them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = open(path, "a", encoding="utf-8")

    def append(self, event: dict[str, Any]) -> None:
        self._handle.write(json.dumps(event, default=str) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Entries of a journal; a torn last line (killed mid-write) is skipped."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def write_model_runs(run_dir: Path, runs: Iterable[ModelRun],
                     update: Callable[[dict[str, Any]], None] | None = None) -> list[Path]:
    """One JSON per model; ``update`` may change each file's dict in place before it is written."""
    written = []
    for run in runs:
        path = run_dir / model_file_name(run.alias)
        data = run.to_dict()
        if update is not None:
            update(data)
        atomic_write_json(path, data)
        written.append(path)
    return written


def load_model_file(path: Path) -> ModelRun:
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SlmEnergyError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    problems = validate_model_dict(data)
    if problems:
        raise SlmEnergyError(f"{path}: not an slm-energy or SLM Green Benchmark file: {problems[0]}")
    alias = path.stem[len(MODEL_FILE_PREFIX):] if path.stem.startswith(MODEL_FILE_PREFIX) else path.stem
    return ModelRun.from_dict(data, fallback_alias=alias)


def model_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob(f"{MODEL_FILE_PREFIX}*.json"))


def load_run_dir(run_dir: Path) -> list[ModelRun]:
    files = model_files(run_dir)
    if not files:
        raise SlmEnergyError(
            f"{run_dir}: no {MODEL_FILE_PREFIX}*.json files; "
            "if the run was interrupted, `slm-energy recover` rebuilds them from journal.jsonl"
        )
    return [load_model_file(path) for path in files]


def latest_run_dir(results_dir: Path) -> Path:
    """The newest run folder that holds model files (names sort by start time)."""
    if not results_dir.is_dir():
        raise SlmEnergyError(f"{results_dir}: no such results directory; run `pytest benchmarks` first")
    candidates = sorted((p for p in results_dir.iterdir() if p.is_dir() and model_files(p)),
                        key=lambda p: p.name)
    if not candidates:
        raise SlmEnergyError(f"{results_dir}: holds no finished run; run `pytest benchmarks` first")
    return candidates[-1]


def load_runs(paths: Iterable[Path]) -> list[ModelRun]:
    """Model runs from run folders and/or single JSON files, in the order given."""
    runs: list[ModelRun] = []
    for path in paths:
        if path.is_dir():
            runs.extend(load_run_dir(path))
        else:
            runs.append(load_model_file(path))
    return runs
