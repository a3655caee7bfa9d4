"""One module per ``slm-energy`` command (see :mod:`slm_energy_plugin.cli`)."""

from __future__ import annotations

import re
import shutil
import textwrap


def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` wins), 100 when output is not a terminal; never below 60."""
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def wrap_long(lines: list[str], width: int | None = None) -> list[str]:
    """Prose lines longer than the terminal wrapped (indented continuation); table rows left alone."""
    width = width or terminal_width()
    out: list[str] = []
    for line in lines:
        gaps = list(re.finditer(r"\S( {2,})\S", line))
        if len(line) <= width or len(gaps) >= 2:     # short, or a table row with several columns
            out.append(line)
            continue
        # A "key   value" line continues under its value; prose under a two-space indent.
        indent = " " * (gaps[0].end() - 1) if gaps else "  "
        out += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False,
                             break_long_words=False)
    return out
