"""``slm-energy models`` fits the terminal, cuts visibly, and gives pipes whole rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slm_energy_plugin.commands import ELLIPSIS, fit_table

CLI = Path(sys.executable).parent / "slm-energy"
DOWNLOAD_HINT = "download it once with `hf download openai-community/gpt2` on a machine with network access"


def _models(columns: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env["HF_HUB_OFFLINE"] = "1"
    if columns is not None:
        env["COLUMNS"] = columns
    proc = subprocess.run([str(CLI), "models", "--offline"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def _table(lines: list[str]) -> list[str]:
    return lines[:lines.index("")]


@pytest.mark.parametrize("columns", [80, 200])
def test_rows_fit_the_columns_and_every_cut_shows(columns: int) -> None:
    lines = _models(str(columns))
    table = _table(lines)
    assert max(len(line) for line in table) == columns   # fits, and uses the room there is
    assert any(ELLIPSIS in line for line in table)        # the reasons are longer than 200
    assert f"{ELLIPSIS} cut to fit {columns} columns; `slm-energy models | cat` prints whole rows" in lines
    for alias in ("gpt2", "deepseek-r1-1.5b", "tiny-qwen2"):                     # aliases are never cut
        assert any(line.split()[0] == alias for line in table[2:])


def test_wider_terminals_show_more() -> None:
    narrow = next(line for line in _table(_models("80")) if line.startswith("gpt2 "))
    wide = next(line for line in _table(_models("200")) if line.startswith("gpt2 "))
    assert "openai-community/gpt2" not in narrow and "openai-community/gpt2" in wide


def test_piped_output_keeps_whole_rows() -> None:
    lines = _models(None)
    assert not any(ELLIPSIS in line for line in lines) and "cut to fit" not in " ".join(lines)
    [gpt2] = [line for line in _table(lines) if line.startswith("gpt2 ")]
    assert gpt2.rstrip().endswith(DOWNLOAD_HINT)   # the whole reason, on the row itself


def test_fit_table_cuts_the_widest_cells_and_keeps_the_alias() -> None:
    headers = ["alias", "model", "why"]
    rows = [["a-very-long-alias-name", "org/model-name", "x" * 50], ["b", "m", "short"]]
    heads, cells = fit_table(headers, rows, 50)
    widths = [max(len(h) + 2, *(len(r[i]) for r in cells)) for i, h in enumerate(heads)]
    assert sum(widths) + 2 * 2 <= 50
    assert cells[0][0] == "a-very-long-alias-name" and cells[1] == ["b", "m", "short"]
    for full, cut in zip(rows[0], cells[0]):
        assert cut == full or (cut.endswith(ELLIPSIS) and full.startswith(cut[:-1]))
    assert cells[0][2].endswith(ELLIPSIS)
    # No room at all: cells stop at the floor, the alias stays whole.
    heads, cells = fit_table(headers, rows, 10)
    assert cells[0][0] == "a-very-long-alias-name" and all(len(c) <= 6 for c in cells[0][1:])
    assert fit_table(headers, rows, None) == (headers, rows)
