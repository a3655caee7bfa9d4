"""Efficiency per quality: accuracy, energy per correct answer, stars, Pareto front, table."""

from __future__ import annotations

import math

import pytest

from slm_energy_plugin.energy.reading import EnergyReading
from slm_energy_plugin.number_format import format_energy
from slm_energy_plugin.quality.efficiency import STAR_BANDS_J, efficiency_rows, star_rating, wilson_interval
from slm_energy_plugin.render.efficiency_table import render_efficiency
from slm_energy_plugin.results.records import ModelInfo, ModelRun, QueryRecord

J_PER_KWH = 3.6e6


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_line(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def reading(joules: float, method: str = "cpu-load-estimate") -> EnergyReading:
    return EnergyReading(duration_s=1.0, cpu_kwh=joules / J_PER_KWH, gpu_kwh=None, ram_kwh=None,
                         methods={"cpu": method, "gpu": "absent", "ram": "not-measured"}, meter="test")


def run(alias: str, task: str, correct: list[bool], joules: float, method: str = "cpu-load-estimate",
        outcome: str = "passed", kind: str = "numeric") -> ModelRun:
    records = tuple(
        QueryRecord(model=alias, query_id=f"{task}{i:02d}", query="q", response="r", tokens_input=1,
                    tokens_output=1, duration_s=1.0, sequence=i, outcome=outcome, task=task,
                    energy=reading(joules, method),
                    scores={"score": float(ok), "correct": ok, "extracted": None, "kind": kind,
                            "details": {"loglikelihoods": {"A": -1, "B": -2, "C": -3, "D": -4}}})
        for i, ok in enumerate(correct)
    )
    return ModelRun(info=ModelInfo(alias=alias, model_id=alias), records=records)


def test_wilson_interval_known_values():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("joules", "stars"),
    [(0.1, 5), (0.999, 5), (1.0, 4), (9.9, 4), (10, 3), (99, 3), (100, 2), (999, 2), (1000, 1), (1e5, 1),
     (None, None)],
)
def test_fixed_star_bands(joules, stars):
    assert star_rating(joules) == stars


def test_bands_are_one_decade_each():
    uppers = [u for u, _ in STAR_BANDS_J if u != math.inf]
    assert all(math.isclose(b / a, 10) for a, b in zip(uppers, uppers[1:]))


def test_rows_accuracy_energy_per_correct_and_ratio():
    (row,) = efficiency_rows([run("a", "math", [True, True, False, False], joules=50.0)])
    assert (row.scored, row.correct, row.accuracy) == (4, 2, 0.5)
    assert row.energy_per_query_j == pytest.approx(50.0)
    assert row.energy_per_correct_j == pytest.approx(100.0)      # 200 J for 2 correct answers
    assert row.correct_per_kj == pytest.approx(10.0)
    assert row.stars == 2 and row.provenance == "estimated" and row.pareto is True


def test_rating_does_not_change_when_models_are_added():
    alone = efficiency_rows([run("a", "math", [True, False], joules=3.0)])[0]
    crowd = efficiency_rows([run("a", "math", [True, False], joules=3.0),
                             run("b", "math", [True, True], joules=0.2),
                             run("c", "math", [False, True], joules=900.0)])
    assert next(r for r in crowd if r.model == "a").stars == alone.stars == 4


def test_pareto_front_per_task():
    rows = efficiency_rows([
        run("cheap", "math", [True, False, False, False], joules=1.0),
        run("good", "math", [True, True, True, False], joules=10.0),
        run("worse", "math", [True, False, False, False], joules=20.0),     # dominated by both
        run("zero", "math", [False, False, False, False], joules=0.5),     # cheapest, but useless
        run("worse", "sql", [True], joules=20.0),                          # alone on its task
    ])
    front = {(r.model, r.task): r.pareto for r in rows}
    assert front == {("cheap", "math"): True, ("good", "math"): True, ("worse", "math"): False,
                     ("zero", "math"): False, ("worse", "sql"): True}


def test_errors_are_not_counted_and_unscored_tasks_have_no_row():
    errored = run("a", "math", [True], joules=1.0, outcome="error")
    ok = run("a", "math", [False, True], joules=1.0)
    merged = ModelRun(info=ok.info, records=ok.records + errored.records)
    (row,) = efficiency_rows([merged])
    assert (row.scored, row.correct, row.errors) == (2, 1, 1)
    unscored = ModelRun(info=ok.info, records=(
        QueryRecord(model="a", query_id="x", query="q", response="r", tokens_input=1, tokens_output=1,
                    duration_s=1.0, sequence=0, task="chat"),
    ))
    assert efficiency_rows([unscored]) == []


def test_no_correct_answers_is_said_in_words():
    rows = efficiency_rows([run("tiny-gpt2", "math", [False] * 5, joules=2.0),
                            run("tiny-phi", "math", [False] * 5, joules=4.0)])
    assert all(r.energy_per_correct_j is None and r.stars is None and r.correct_per_kj is None for r in rows)
    out = Lines()
    render_efficiency(rows, out)
    assert "no correct answers" in out.text
    assert "inf" not in out.text.lower().replace("not infinite", "")
    assert "No model answered any question correctly" in out.text
    assert "estimated" in out.text and "not read from hardware counters" in out.text


def test_table_contents_and_markdown():
    rows = efficiency_rows([run("a", "math", [True, True, False, False], joules=50.0, method="rapl"),
                            run("b", "math", [True] + [False] * 9, joules=0.01, method="rapl")])
    out = Lines()
    render_efficiency(rows, out, tablefmt="github", unicode=False)
    text = out.text
    assert text.startswith("| model")
    assert "2/4 (50% [15%, 85%])" in text and "100 J" in text and "**..." in text
    assert "100 mJ*" in text and "fewer than 5 correct answers" in text
    assert "energy 'measured'" in text and "'estimated'" not in text


def test_missing_energy_is_not_zero():
    no_energy = run("a", "math", [True, False], joules=1.0)
    stripped = ModelRun(info=no_energy.info, records=tuple(
        QueryRecord(**{**r.__dict__, "energy": None}) for r in no_energy.records))
    (row,) = efficiency_rows([stripped])
    assert row.energy_per_query_j is None and row.energy_per_correct_j is None and row.pareto is None
    out = Lines()
    render_efficiency([row], out)
    assert "no energy figure" in out.text and "energy 'none'" in out.text


def test_empty_input_and_energy_format():
    out = Lines()
    render_efficiency([], out)
    assert out.lines == ["efficiency per quality: no scored answers in this run"]
    assert [format_energy(v) for v in (0.0123, 4.5, 12345.0, None)] == ["12.3 mJ", "4.5 J", "12.3 kJ", "n/a"]


def test_multiple_choice_at_chance_gets_no_rating():
    guessing = run("tiny", "mmlu", [True, False, False, False, True, False, False, False], joules=0.3,
                   kind="multiple_choice")
    knowing = run("real", "mmlu", [True] * 18 + [False] * 2, joules=50.0, kind="multiple_choice")
    rows = {r.model: r for r in efficiency_rows([guessing, knowing])}
    assert rows["tiny"].chance == pytest.approx(0.25) and rows["tiny"].at_chance
    assert rows["tiny"].stars is None and rows["tiny"].pareto is False
    assert rows["tiny"].energy_per_correct_j == pytest.approx(1.2)       # still computed, flagged
    assert not rows["real"].at_chance and rows["real"].stars == 3 and rows["real"].pareto is True
    out = Lines()
    render_efficiency(list(rows.values()), out)
    assert "at chance" in out.text and "not distinguishable from guessing" in out.text
    # Numeric answers have no guessing rate.
    assert efficiency_rows([run("a", "math", [True, False], joules=1.0)])[0].chance is None
