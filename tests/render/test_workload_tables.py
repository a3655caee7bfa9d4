"""The task/load breakdown table and the efficiency rows keyed by task and load."""

from __future__ import annotations

from dataclasses import replace

from slm_energy_plugin.quality.efficiency import efficiency_rows
from slm_energy_plugin.render.workload_tables import has_breakdown, render_task_load_table

from ..run_factory import make_run


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str = "", **_: object) -> None:
        self.lines.append(line)


def _run():
    run = make_run("tiny-gpt2", [1.0, 2.0, 8.0, 9.0], correct=[True, False, True, True])
    loads = ["short", "short", "long", "long"]
    records = tuple(replace(r, task="summary", tokens_input=64 if load == "short" else 1536,
                            extra={**r.extra, "load": load}) for r, load in zip(run.records, loads))
    return replace(run, records=records)


def test_breakdown_rows_by_task_and_load():
    run = _run()
    assert has_breakdown([run]) and not has_breakdown([make_run("a", [1.0, 2.0])])
    out = Lines()
    render_task_load_table([run], out)
    text = "\n".join(out.lines)
    short = next(line for line in out.lines if " short " in line)
    long = next(line for line in out.lines if " long " in line)
    assert "J/1k in" in text and short.split()[:4] == ["tiny-gpt2", "summary", "short", "2"]
    assert long.split()[4] == "1536" and long.split()[7] == "8.5"


def test_efficiency_rows_split_by_load():
    rows = {row.task: row for row in efficiency_rows([_run()])}
    assert set(rows) == {"summary@short", "summary@long"}
    assert (rows["summary@short"].correct, rows["summary@long"].correct) == (1, 2)
