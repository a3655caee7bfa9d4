"""One writer protocol and one number format for every renderer (terminal, markdown, CLI).

A leaf module: it imports nothing from the package, so statistics and the gate can format
numbers in their messages without importing a renderer.
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


def num(value: float | None) -> str:
    """Three significant digits, no exponent for everyday magnitudes; '-' for none."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 1e5 or size < 1e-3:
        return f"{value:.2e}"
    if size >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def pval(p: float | None, alpha: float, star: bool = True) -> str:
    """A p-value as printed in every table: '<0.001' below that, a star when below alpha."""
    if p is None:
        return "-"
    text = "<0.001" if p < 0.001 else f"{p:.3f}"
    return text + ("*" if star and p < alpha else "")


def accuracy(correct: int, scored: int, low: float | None, high: float | None) -> str:
    """The one way accuracy is written everywhere: ``5/116 (4% [2%, 10%])``, the interval Wilson 95%."""
    if scored <= 0:
        return "-"
    share = f"{correct / scored:.0%}"
    interval = f" [{low:.0%}, {high:.0%}]" if low is not None and high is not None else ""
    return f"{correct}/{scored} ({share}{interval})"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 model``, ``3 models``: no "1 models" anywhere."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
