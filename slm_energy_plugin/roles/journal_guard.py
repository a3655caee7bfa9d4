"""What the collecting role does when things go wrong: a full disk, models that cannot be had.

A journal that cannot be appended to (a full or vanished disk):

Nothing measured may be lost and pytest must not end in INTERNALERROR: the event stays in
memory (the collector already holds it), the session is stopped after the current test with a
one-line reason, and at the end the model files are written if the disk allows; if it does not,
the events the journal missed are saved beside the system's temp folder and the recover hint
names both.
"""

from __future__ import annotations

import json
import re
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import pytest

from ..quality.confinement import CODE_TASKS_SKIPPED
from ..results.events import Event
from ..safety import safe_message
from ..settings import Settings

# The measuring role skips an unavailable model's tests with "<alias>: not available: <reason>".
_UNAVAILABLE = re.compile(r"(?:Skipped: )?(?P<alias>[^\s:]+): not available: (?P<reason>.+)", re.S)
# benchmarks/test_tasks.py skips a code task with "code tasks skipped: <reason>".
_CODE_SKIPPED = re.compile(rf"(?:Skipped: )?{re.escape(CODE_TASKS_SKIPPED)}: (?P<reason>.+)", re.S)

class CollectingRole(Protocol):
    """What these helpers use of the collecting role (roles/collecting.py), which imports this module."""

    settings: Settings
    run_dir: Path | None
    pending: list[Event]
    journal_error: str | None
    session: pytest.Session | None


def journal_full(role: CollectingRole, event: Event, exc: OSError) -> None:
    """Keep ``event`` for later and stop the session after the current test."""
    role.pending.append(event)
    if role.journal_error is None:
        where = role.run_dir if role.run_dir is not None else role.settings.results_dir
        role.journal_error = (f"could not append to the journal in {where} ({exc.strerror or exc}); "
                              "the session was stopped")
        if role.session is not None:
            role.session.shouldstop = f"slm-energy: {role.journal_error}"


def save_pending(role: CollectingRole) -> str:
    """After the model files failed too: put the events the journal missed somewhere else.

    Returns the sentence to add to the error line (empty when nothing was pending).
    """
    if not role.pending:
        return ""
    run = role.run_dir.name if role.run_dir is not None else "run"
    fd, name = tempfile.mkstemp(prefix=f"slm-energy-{run}-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for event in role.pending:
                handle.write(json.dumps(event, default=str) + "\n")
    except OSError:
        return f"; {len(role.pending)} records after the journal filled could not be saved anywhere"
    journal = (role.run_dir or Path(".")) / "journal.jsonl"
    return f"; {len(role.pending)} records the journal missed were saved to {name} (append them to {journal} first)"


def note_skipped_code(skipped: dict[str, int], report: Any) -> None:
    """Count a code task skipped because generated code cannot run confined here (reason -> tests)."""
    if not report.skipped or not isinstance(report.longrepr, tuple) or len(report.longrepr) != 3:
        return
    found = _CODE_SKIPPED.match(str(report.longrepr[2]))
    if found:
        reason = " ".join(found["reason"].split())
        skipped[reason] = skipped.get(reason, 0) + 1


def note_skipped_model(skipped: dict[str, tuple[int, str]], report: Any) -> None:
    """Count a test skipped because its model is not available here (works across xdist: reports)."""
    if not report.skipped or not isinstance(report.longrepr, tuple) or len(report.longrepr) != 3:
        return
    found = _UNAVAILABLE.match(str(report.longrepr[2]))
    if found:
        count, _ = skipped.get(found["alias"], (0, ""))
        skipped[found["alias"]] = (count + 1, safe_message(" ".join(found["reason"].split()), one_line=True))
