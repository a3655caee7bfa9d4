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

from ..bulk import collector_paused
from ..encodable import encodable_text
from ..errors import SlmEnergyError
from .events import Event, RunEvent
from .records import ModelRun, validate_model_dict
from .schema import MEASURED_TEXT, finite_or_null, upgrade
from ..paths import unwritable_reason
from ..safety import MAY_CHANGE_PATTERN, redact_tree, redaction_may_change, rust_search
from ..textfile import LONG_NUMBER_PATTERN, parse_json, read_text

MODEL_FILE_PREFIX = "environmental_data_"
RUN_MANIFEST = "run.json"
JOURNAL = "journal.jsonl"
_SAFE_ALIAS = re.compile(r"[^A-Za-z0-9._@-]+")
# Whether a model file's text may hold an over-long number literal (parse_json's bound) or anything
# redaction could change, in one search: most files hold neither, and one search of 11 MB costs the
# same for one pattern or both (the number search apart was 40% more).
_may_hold_long_number_or_change = rust_search(f"{MAY_CHANGE_PATTERN}|{LONG_NUMBER_PATTERN}")


def model_file_name(alias: str) -> str:
    """``environmental_data_<alias>.json``, with path separators made safe."""
    return f"{MODEL_FILE_PREFIX}{_SAFE_ALIAS.sub('_', alias)}.json"


def atomic_write_json(path: Path, data: Any) -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target.

    A reader sees either the old file or the whole new one, never half of it. Text UTF-8 cannot
    encode (a lone surrogate that did not come through ingestion: an argv byte, a hook's value)
    is written as U+FFFD: content never makes the write fail.
    """
    # Serialised before the file exists: a value JSON cannot hold fails here, leaving nothing behind.
    payload = encodable_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())   # mkstemp makes 0600; results are shared like any file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    """The process umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_writable(results_dir: Path) -> None:
    """Fail before anything is measured if results cannot be written."""
    reason = unwritable_reason(results_dir)
    if reason is not None:
        raise SlmEnergyError(
            f"results directory {str(results_dir)!r} is not writable ({reason}); "
            "pass --energy-results-dir with a folder you can write to"
        )


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

    def append(self, event: Event | RunEvent) -> None:
        """Write one line whole, or leave the file as it was (a full disk must not tear a line)."""
        # ensure_ascii: a lone surrogate is written as its \\u escape, never fails the line.
        line = json.dumps(finite_or_null(event)[0], default=str, allow_nan=False, ensure_ascii=True) + "\n"
        size = self._handle.tell()
        try:
            self._handle.write(line)
            self._handle.flush()
        except OSError:
            self._discard_from(size)
            raise

    def _discard_from(self, size: int) -> None:
        try:
            self._handle.close()
        except OSError:
            pass   # the buffered rest could not be written either: truncated below
        try:
            os.truncate(self.path, size)
        except OSError:
            pass   # a torn last line is skipped by read_journal anyway
        self._handle = open(self.path, "a", encoding="utf-8")

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()


def read_journal(path: Path, skipped: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Entries of a journal; lines that are not one JSON object are skipped and said in ``skipped``.

    A torn last line (killed mid-write), bytes that are not UTF-8 or a hostile line (a
    5000-digit number, deep nesting) cost that line only, never the records around it.
    """
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise SlmEnergyError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                entry = parse_json(raw.decode("utf-8"), f"{path}, line {number}", nan_as_null=True)
            except UnicodeDecodeError as exc:
                if skipped is not None:
                    skipped.append(f"line {number}: not UTF-8 (byte {exc.start})")
                continue
            except SlmEnergyError as exc:
                if skipped is not None:
                    skipped.append(str(exc).removeprefix(f"{path}, "))
                continue
            if not isinstance(entry, dict):
                if skipped is not None:
                    skipped.append(f"line {number}: not a JSON object")
                continue
            yield entry


def write_model_runs(run_dir: Path, runs: Iterable[ModelRun],
                     update: Callable[[dict[str, Any]], None] | None = None,
                     failed: list[str] | None = None) -> list[Path]:
    """One JSON per model; ``update`` may change each file's dict in place before it is written.

    Each model's file is written on its own: one that cannot be written (its hook raised, its
    disk is full) costs that file only. With ``failed``, each such model adds one line there and
    the others are written; without it, the first failure is raised once the others are written.
    """
    written, problems = [], []
    for run in runs:
        path = run_dir / model_file_name(run.alias)
        try:
            data = run.to_dict()
            if update is not None:
                update(data)
            data, found = finite_or_null(data)   # JSON has no NaN: stored as null, and said so
            if found:
                data["warnings"] = [*data.get("warnings", []), *(f"{f}, stored as null" for f in found)]
            atomic_write_json(path, data)
        except Exception as exc:  # noqa: BLE001 - one model's failure must not cost the others their files
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
            problems.append(f"{path.name} not written ({reason})".splitlines()[0])
            continue
        written.append(path)
    if failed is not None:
        failed.extend(problems)
    elif problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SlmEnergyError(f"{run_dir}: {problems[0]}{more}")
    return written


def load_model_file(path: Path) -> ModelRun:
    """A model file of any known version, checked against the field table; one line when it is not.

    Every text but the measured one is passed through the redactor, as ingestion does: a file
    written before secrets were redacted (or edited since) shows none to compare, report, export,
    plot or any other reader (they all read model files here). The walk is skipped where the
    text shows it would change nothing (see ``safety.redaction_may_change``)."""
    text = read_text(path)
    plain = not _may_hold_long_number_or_change(text)    # then neither search is repeated
    data = parse_json(text, str(path), no_long_number=plain)
    if not plain and redaction_may_change(text, MEASURED_TEXT):
        data = redact_tree(data, MEASURED_TEXT)
    del text
    try:
        if isinstance(data, dict):
            data = upgrade(data)
    except ValueError as exc:
        raise SlmEnergyError(f"{path}: {exc}") from None
    problems = validate_model_dict(data, parsed=True)    # redaction and upgrades keep keys strings
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SlmEnergyError(f"{path}: not an slm-energy or SLM Green Benchmark file: {problems[0]}{more}")
    alias = path.stem[len(MODEL_FILE_PREFIX):] if path.stem.startswith(MODEL_FILE_PREFIX) else path.stem
    return ModelRun.from_dict(data, fallback_alias=alias, adopt=True)   # data is validated and dropped here


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


def run_candidates(results_dir: Path) -> list[tuple[Path, str]]:
    """Every run folder under ``results_dir``, oldest first, each with what it holds.

    The state is one of: ``N model files`` (finished, or rebuilt by recover), ``interrupted
    (journal only: slm-energy recover)``, ``empty``.
    """
    if not results_dir.is_dir():
        raise SlmEnergyError(f"{results_dir}: no such results directory; run `pytest benchmarks` first")
    found = []
    for folder in sorted((p for p in results_dir.iterdir() if p.is_dir()), key=lambda p: p.name):
        files = model_files(folder)
        if files:
            state = f"{len(files)} model file{'s' if len(files) != 1 else ''}"
        elif (folder / JOURNAL).is_file():
            state = "interrupted (journal only: slm-energy recover)"
        else:
            state = "empty"
        found.append((folder, state))
    return found


def latest_run_dir(results_dir: Path) -> Path:
    """The newest run folder that holds model files (names sort by start time)."""
    candidates = [p for p, state in run_candidates(results_dir) if "model file" in state]
    if not candidates:
        raise SlmEnergyError(f"{results_dir}: holds no finished run; run `pytest benchmarks` first")
    return candidates[-1]


def load_sources(paths: Iterable[Path], skipped: list[str] | None = None) -> tuple[list[ModelRun], list[str]]:
    """Model runs from run folders and/or single JSON files, in the order given, and the file
    each came from.

    With ``skipped``, a model file that cannot be used (corrupt, out of its fields' bounds, not
    ours) is left out and named in one line there, and the others are read: one bad file never
    refuses a run's honest ones. Refused only when no file is left (the first bad file's line).
    Without ``skipped``, the first bad file refuses. A path that does not exist always refuses.
    """
    runs: list[ModelRun] = []
    sources: list[str] = []
    bad: list[str] = []
    with collector_paused():    # millions of acyclic objects: see bulk.py
        for path in paths:
            if path.is_dir():
                files = model_files(path)
                if not files:
                    load_run_dir(path)          # raises the explanation
            elif not path.exists():
                raise SlmEnergyError(f"{path}: no such file or run folder")
            else:
                files = [path]
            for file in files:
                try:
                    runs.append(load_model_file(file))
                except SlmEnergyError as exc:
                    if skipped is None:
                        raise
                    bad.append(str(exc))
                    continue
                sources.append(str(file))
    if bad and not runs:
        more = f" (and {len(bad) - 1} more unreadable file{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
        raise SlmEnergyError(f"{bad[0]}{more}")
    if skipped is not None:
        skipped.extend(f"skipped {line}" for line in bad)
    return runs, sources


def load_runs(paths: Iterable[Path], skipped: list[str] | None = None) -> list[ModelRun]:
    """Model runs from run folders and/or single JSON files, in the order given (see :func:`load_sources`)."""
    return load_sources(paths, skipped)[0]
