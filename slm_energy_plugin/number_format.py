"""How every number, unit and count is written: in tables, messages, the report and the CLI.

Bottom floor: it imports nothing from the package, so statistics, scorers, the gate, the
leaderboard and fine-tuning can word their messages without importing a renderer
(``lint-imports`` holds every floor module to that; see pyproject.toml).
"""

from __future__ import annotations


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


def format_energy(joules: float | None) -> str:
    """An energy in the unit its size reads best in: ``12.3 mJ``, ``4.5 J``, ``12.3 kJ``; 'n/a' for none."""
    if joules is None:
        return "n/a"
    if joules >= 1000:
        return f"{joules / 1000:.3g} kJ"
    if joules >= 1:
        return f"{joules:.3g} J"
    return f"{joules * 1000:.3g} mJ"
