"""The trade-off per task on constructed runs: McNemar, break-even, the quality gate (Newcombe's CI: tests/stats)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from scipy import stats as sps

from slm_energy_plugin.cli import main
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.finetune.by_task import build_task_comparison
from slm_energy_plugin.finetune.tradeoff import AccuracyGateSpec, accuracy_drops, break_even, parse_accuracy_spec
from slm_energy_plugin.quality.efficiency import efficiency_rows
from slm_energy_plugin.results.records import ModelRun
from slm_energy_plugin.results.storage import write_model_runs
from slm_energy_plugin.stats.paired_accuracy import paired_accuracy

from ..run_factory import make_run

TRAINING_KWH = 0.001


def _task_run(alias: str, tasks: dict[str, tuple[list[bool], float]], adapter: dict | None = None) -> ModelRun:
    """One model: per task a list of right/wrong answers and a constant energy per query (J)."""
    records = []
    for task, (correct, joules) in tasks.items():
        ids = [f"{task}{i + 1:02d}" for i in range(len(correct))]
        run = make_run(alias, [joules] * len(correct), correct=correct, query_ids=ids)
        records += [replace(r, task=task, scores={**r.scores, "kind": task}) for r in run.records]
    info = replace(run.info, adapter=adapter or {})
    return replace(run, info=info, records=tuple(records))


def _answers(right: set[int], n: int) -> list[bool]:
    return [i in right for i in range(n)]


@pytest.fixture
def base_and_tuned() -> list[ModelRun]:
    # SQL (30): base right on 0-2, tuned on 2-16: both 1, base-only 2, tuned-only 14, neither 13.
    sql_base, sql_tuned = _answers({0, 1, 2}, 30), _answers(set(range(2, 17)), 30)
    # MMLU (40): base right on 0-29, tuned on 10-29 plus 30-31 -> base-only 10, tuned-only 2.
    mmlu_base, mmlu_tuned = _answers(set(range(30)), 40), _answers(set(range(10, 32)), 40)
    base = _task_run("tiny-gpt2", {"sql": (sql_base, 10.0), "mmlu": (mmlu_base, 2.0)})
    tuned = _task_run("tiny-gpt2+sql-lora", {"sql": (sql_tuned, 8.0), "mmlu": (mmlu_tuned, 2.0)},
                      adapter={"base_alias": "tiny-gpt2", "path": "/nowhere", "merged": True})
    return [base, tuned]


def test_paired_mcnemar_equals_scipys_exact_binomial_on_the_discordant_pairs(base_and_tuned) -> None:
    result = build_task_comparison(base_and_tuned, training={"tiny-gpt2+sql-lora": (TRAINING_KWH, "estimated")})
    sql = next(p for p in result.paired if p.task == "sql")
    assert (sql.both, sql.only_reference, sql.only_candidate, sql.neither) == (1, 2, 14, 13)
    assert sql.p_value == pytest.approx(sps.binomtest(14, 16, 0.5).pvalue)
    assert sql.difference == pytest.approx(12 / 30) and "exact binomial" in sql.test
    mmlu = next(p for p in result.paired if p.task == "mmlu")
    assert mmlu.difference == pytest.approx(-8 / 40)
    assert mmlu.p_value == pytest.approx(sps.binomtest(2, 12, 0.5).pvalue)


def test_break_even_on_constructed_numbers(base_and_tuned) -> None:
    rows = {(r.model, r.task): r for r in efficiency_rows(base_and_tuned)}
    base, tuned = rows[("tiny-gpt2", "sql")], rows[("tiny-gpt2+sql-lora", "sql")]
    assert base.energy_per_correct_j == pytest.approx(10 / 0.1) and tuned.energy_per_correct_j == pytest.approx(16)
    result = break_even(TRAINING_KWH, base, tuned)
    # 3600 J / (100 - 16) J per correct answer = 42.86 correct answers = 85.7 queries at 50% accuracy.
    assert result.queries == pytest.approx(3600 / 84 / 0.5)
    assert break_even(TRAINING_KWH, tuned, base).text.startswith("never")            # no saving
    assert break_even(None, base, tuned).text.startswith("unknown")
    assert break_even(TRAINING_KWH, replace(base, accuracy=0.0), tuned).queries == 0.0
    assert break_even(TRAINING_KWH, base, replace(tuned, accuracy=0.0)).text.startswith("never")


def test_the_quality_gate_fails_a_significant_drop_beyond_the_threshold(base_and_tuned) -> None:
    result = build_task_comparison(base_and_tuned, gate=parse_accuracy_spec("correct:-5pp"), training={})
    verdicts = {v.task: v for v in result.gate}
    assert verdicts["mmlu"].failed and verdicts["mmlu"].difference_pp == pytest.approx(-20.0)
    assert verdicts["mmlu"].p_value == pytest.approx(sps.binomtest(10, 12, 0.5, alternative="greater").pvalue)
    assert verdicts["sql"].status == "ok"
    # A larger threshold passes the same drop; a small, non-significant drop is inconclusive, never failed.
    assert not any(v.failed for v in accuracy_drops(result.paired, AccuracyGateSpec(25.0)))
    small = paired_accuracy("mmlu", "a", {"q1": 1.0, "q2": 1.0, "q3": 0.0}, "b", {"q1": 0.0, "q2": 1.0, "q3": 0.0})
    [verdict] = accuracy_drops([small], AccuracyGateSpec(5.0))
    assert verdict.status == "inconclusive" and not verdict.failed


def test_bad_accuracy_specs_give_one_line() -> None:
    with pytest.raises(ConfigError, match="correct:-POINTSpp"):
        parse_accuracy_spec("correct:5pp")


def test_compare_by_task_prints_the_trade_off_and_gates(base_and_tuned, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "training.json").write_text(json.dumps(
        {"energy": {"training_kwh": TRAINING_KWH, "provenance": "estimated"}}))
    base, tuned = base_and_tuned
    tuned = replace(tuned, info=replace(tuned.info, adapter={**tuned.info.adapter, "path": str(adapter)}))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_model_runs(run_dir, [base, tuned])
    code = main(["compare", str(run_dir), "--by", "task", "--fail", "correct:-5pp"])
    out = capsys.readouterr().out
    assert code == 1
    assert "Trade-off" in out and "0.001 kWh (estimated)" in out and "86 queries" in out
    assert "DROPPED: tiny-gpt2+sql-lora vs tiny-gpt2 on mmlu: accuracy -20.0 pp" in out
    assert main(["compare", str(run_dir), "--by", "task"]) == 0
    capsys.readouterr()
    assert main(["compare", str(run_dir), "--by", "task", "--fail", "energy:10%"]) == 2
    capsys.readouterr()
    assert main(["compare", str(run_dir), "--by", "task", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    [tradeoff] = data["tradeoffs"]
    assert tradeoff["training_kwh"] == TRAINING_KWH and tradeoff["break_even_queries"] == pytest.approx(3600 / 84 / 0.5)
    assert tradeoff["gain"]["task"] == "sql" and [p["task"] for p in tradeoff["other_tasks"]] == ["mmlu"]


def test_compare_by_task_writes_csv_not_text(base_and_tuned, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    import csv
    import io

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_model_runs(run_dir, base_and_tuned)
    assert main(["compare", str(run_dir), "--by", "task", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    accuracy = {(r["model"], r["task"]): r for r in rows if r["table"] == "accuracy"}
    assert float(accuracy[("tiny-gpt2", "sql")]["accuracy"]) == pytest.approx(3 / 30)
    assert float(accuracy[("tiny-gpt2+sql-lora", "mmlu")]["accuracy"]) == pytest.approx(22 / 40)
    [sql] = [r for r in rows if r["table"] == "paired" and r["task"] == "sql"]
    assert (int(sql["only_reference"]), int(sql["only_candidate"])) == (2, 14)
    assert float(sql["p_value"]) == pytest.approx(sps.binomtest(14, 16, 0.5).pvalue)
    [tradeoff] = [r for r in rows if r["table"] == "tradeoff"]
    assert tradeoff["tuned"] == "tiny-gpt2+sql-lora" and tradeoff["gain.task"] == "sql"
