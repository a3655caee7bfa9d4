"""One module per ``slm-energy`` command (see :mod:`slm_energy_plugin.cli`)."""

from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
from typing import Collection, Sequence

ELLIPSIS = "…"   # marks a shortened cell: a cut is always visible


def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` wins), 100 when output is not a terminal; never below 60."""
    return max(60, shutil.get_terminal_size((100, 24)).columns)


def fit_width() -> int | None:
    """Columns a table's rows must fit: ``COLUMNS`` or the terminal's; None when stdout is not a
    terminal and ``COLUMNS`` is unset, so pipes and scripts get full rows, nothing cut."""
    if not os.environ.get("COLUMNS") and not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when anything was cut."""
    return text if len(text) <= width else text[:max(0, width - 1)] + ELLIPSIS


def fit_table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int | None, *,
              keep: Collection[int] = (0,), floor: int = 6, gap: int = 2,
              header_pad: int = 2) -> tuple[list[str], list[list[str]]]:
    """Headers and rows whose widest cells are shortened (ellipsis) until a table with ``gap``
    spaces between columns fits ``width``; ``width`` None leaves every cell whole.
    ``header_pad``: tabulate's text formats make a column at least its header plus 2 wide.

    The widest column loses a character at a time (the rightmost of equals first), down to
    ``floor``; the columns in ``keep`` are never cut, so a row may stay wider than ``width``.
    """
    cells = [[" ".join(str(cell).split()) for cell in row] for row in rows]   # one line per row
    heads = list(headers)
    if width is None:
        return heads, cells
    widths = [max([len(heads[i]) + header_pad] + [len(row[i]) for row in cells]) for i in range(len(heads))]
    budget = width - gap * (len(widths) - 1)
    while sum(widths) > budget:
        cuttable = [i for i in range(len(widths)) if i not in keep and widths[i] > floor]
        if not cuttable:
            break
        widest = max(reversed(cuttable), key=lambda i: widths[i])
        widths[widest] -= 1
    return ([shorten(h, w - header_pad) for h, w in zip(heads, widths)],
            [[shorten(cell, w) for cell, w in zip(row, widths)] for row in cells])


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
