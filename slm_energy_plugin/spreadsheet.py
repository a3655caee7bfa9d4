"""CSV cells a spreadsheet shows as text, never runs as a formula (OWASP's CSV-injection rule).

Pure: used by every CSV writer (``slm-energy export``, ``compare --format csv``).
"""

from __future__ import annotations

# OWASP's CSV-injection rule: a spreadsheet reads a cell starting with one of these as a formula
# (``=HYPERLINK(...)`` in a model's answer or alias would run when the file is opened).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _would_be_formula(text: str) -> bool:
    """True when the cell must be quoted: it starts a formula, or is already quoted text that
    does (so that reading back removes exactly the quote writing added)."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet shows as text: prefixed with ``'`` when it would start a formula."""
    return "'" + value if isinstance(value, str) and _would_be_formula(value) else value


def from_spreadsheet_safe(value: object) -> object:
    """The text :func:`spreadsheet_safe` was given (its ``'`` removed)."""
    if isinstance(value, str) and value.startswith("'") and _would_be_formula(value[1:]):
        return value[1:]
    return value
