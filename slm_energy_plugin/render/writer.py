"""One writer protocol for every renderer (terminal, markdown, CLI) and the width prose wraps at.

How numbers are written is not here but one floor down, in :mod:`slm_energy_plugin.number_format`,
so the rooms below the renderers can word their messages without importing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

WIDTH = 80  # wrap width for legends and notes


class LineWriter(Protocol):
    """pytest's TerminalReporter and :class:`LineCollector` both satisfy this."""

    def write_line(self, line: str, **markup: Any) -> None: ...


@dataclass
class LineCollector:
    """A writer that keeps the lines (for the CLI and for tests)."""

    lines: list[str] = field(default_factory=list)

    def write_line(self, line: str = "", **markup: Any) -> None:
        self.lines.append(line)
