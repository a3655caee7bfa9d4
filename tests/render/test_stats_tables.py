"""Rendering of statistics: text at 80 columns, markdown, JSON, CSV; header and legend words."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from ..run_factory import ESTIMATED, MEASURED, J_PER_KWH, make_run, three_models
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.results.records import ModelRun
from slm_energy_plugin.render.stats_export import CSV_COLUMNS, render_csv, render_json
from slm_energy_plugin.number_format import num
from slm_energy_plugin.render.writer import LineCollector
from slm_energy_plugin.render.stats_tables import render_markdown, write_statistics
from slm_energy_plugin.stats.build import (
    build_report, disambiguate, energy_header, parse_metric_names, unpair_different_texts,
)

ALL_METRICS = ["energy", "energy_per_token", "latency", "ttft", "tokens", "emissions", "correct"]


def _scored_runs(n: int = 50, methods=ESTIMATED) -> list[ModelRun]:
    rng = np.random.default_rng(4)
    runs = []
    for run, p_right in zip(three_models(n, methods=methods), (0.3, 0.6, 0.75)):
        energies = [r.energy_kwh * J_PER_KWH for r in run.records]
        runs.append(make_run(run.alias, energies, methods=methods, correct=list(rng.random(n) < p_right),
                             tokens=list(rng.integers(8, 64, n))))
    return runs


def _text(runs, metrics=ALL_METRICS) -> list[str]:
    writer = LineCollector()
    write_statistics(runs, metrics, writer)
    return writer.lines


@pytest.mark.parametrize("methods", [ESTIMATED, MEASURED])
def test_text_fits_80_columns_for_three_realistic_models(methods):
    lines = _text(_scored_runs(methods=methods))
    assert len(lines) > 60
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, too_wide


def test_text_shows_tables_omnibus_pairs_and_legend_naming_each_test():
    text = "\n".join(_text(_scored_runs(), ["energy", "latency", "correct"]))
    assert "-- energy per query (J): 3 models, 50 queries answered by all --" in text
    assert "-- latency (ms)" in text and "-- correct answers (share)" in text
    for words in ("Kruskal-Wallis H =", "Friedman chi2 =", "Kendall's W", "Cochran's Q =", "McNemar p",
                  "Wilcoxon p", "MWU p", "median 95% CI", "95% Wilson CI", "Hodges-Lehmann", "Holm-adjusted",
                  "percentile bootstrap", "10000 resamples", "rank-biserial"):
        assert words in text, words
    # Larger model first: phi2 uses about 4.1x the energy of gpt2 per query.
    line = next(l for l in text.splitlines() if l.startswith("phi2 / gpt2") and "x [" in l)
    ratio = float(line.split()[4].rstrip("x"))
    assert ratio == pytest.approx(4.1, rel=0.05) and "<0.001*" in line


def test_header_says_estimated_in_words():
    lines = _text(_scored_runs(methods=ESTIMATED), ["energy"])
    assert lines[0].startswith("Energy: ESTIMATED, not measured")
    kind, header = energy_header(_scored_runs(methods=MEASURED))
    assert kind == "measured" and header == "Energy: measured by hardware energy counters (rapl)."


def test_header_for_mixed_sources_names_the_models():
    runs = [make_run("gpt2", [1.0, 2.0], methods=MEASURED), make_run("phi2", [3.0, 4.0], methods=ESTIMATED)]
    kind, header = energy_header(runs)
    assert kind == "mixed"
    assert "measured for gpt2" in header and "estimated for phi2" in header and "ESTIMATED" in header


def test_unpaired_models_are_named_and_degenerate_reasons_shown():
    runs = [make_run("gpt2", [1.0, 2.0, 3.0]), make_run("phi2", [4.0, 5.0, 6.0], query_ids=["x", "y", "z"]),
            make_run("solo", [7.0])]
    text = "\n".join(_text(runs, ["energy"]))
    assert "not paired (no shared query ids), unpaired tests only: gpt2 / phi2" in text
    assert "note: solo: only 1 value" in text
    assert "Friedman chi2: not computed - needs at least 2 queries every model answered" in text


def test_metric_without_values_says_why():
    text = "\n".join(_text([make_run("gpt2", [1.0, 2.0])], ["score"]))
    assert "not compared: no model has values for score (answers were not scored)" in text


def test_markdown_has_tables_and_bullets():
    md = render_markdown(build_report(_scored_runs(), ["energy", "correct"]))
    assert md.startswith("### slm-energy statistics")
    assert "**Energy: ESTIMATED" in md
    assert "| model            |   n |" in md and "#### energy per query (J)" in md
    assert "- Kruskal-Wallis H =" in md and "- Cochran's Q =" in md


def test_json_keeps_every_result_and_no_nan():
    report = build_report(_scored_runs(), ["energy", "correct", "score"])
    data = json.loads(render_json(report))
    assert data["energy_provenance"] == "estimated"
    energy, correct, score = data["metrics"]
    assert energy["models"] == ["gpt2", "deepseek-r1-1.5b", "phi2"]
    assert [t["test"] for t in energy["omnibus"]] == ["Kruskal-Wallis H", "Friedman chi2"]
    pair = energy["pairs"][1]
    assert pair["paired"] and pair["wilcoxon"]["test"] == "Wilcoxon signed-rank"
    assert pair["shift"]["kind"] == "ratio" and pair["shift"]["estimate"] == pytest.approx(1 / 4.1, rel=0.05)
    assert correct["accuracies"][0]["model"] == "gpt2" and correct["pairs"][0]["mcnemar"]["test"] == "McNemar"
    assert score["reason"] and "summaries" not in score
    assert energy["bootstrap"]["resamples"] == 10000


def test_csv_is_one_long_table():
    rows = list(csv.DictReader(io.StringIO(render_csv(build_report(_scored_runs(), ["energy", "correct"])))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    kinds = [(r["metric"], r["row"], r["test"]) for r in rows]
    assert kinds.count(("energy", "model", "")) == 3
    assert ("energy", "omnibus", "Friedman chi2") in kinds
    assert kinds.count(("energy", "pair", "Hodges-Lehmann")) == 3
    assert kinds.count(("correct", "pair", "McNemar")) == 3
    assert all(r["p_value"] == "" or 0 <= float(r["p_value"]) <= 1 for r in rows)


@pytest.mark.parametrize("value, text", [(None, "-"), (0.0, "0"), (4.1234, "4.12"), (123.4, "123"),
                                         (1234.5, "1234"), (0.01234, "0.0123"), (1.2e-5, "1.20e-05"),
                                         (2.5e6, "2.50e+06"), (-3.21, "-3.21")])
def test_number_format(value, text):
    assert num(value) == text


def test_parse_metric_names():
    assert parse_metric_names("energy, latency,energy") == ["energy", "latency"]
    with pytest.raises(ConfigError, match="unknown metric 'power'"):
        parse_metric_names("power")
    with pytest.raises(ConfigError, match="no metric given"):
        parse_metric_names(" , ")


def test_disambiguate_equal_aliases():
    runs = [make_run("gpt2", [1.0]), make_run("gpt2", [2.0]), make_run("phi2", [3.0])]
    renamed, notes = disambiguate(runs, ["a/x.json", "b/x.json", "b/y.json"])
    assert [r.alias for r in renamed] == ["gpt2@1", "gpt2@2", "phi2"]
    assert renamed[1].records[0].model == "gpt2@2"
    assert notes[1:] == ["gpt2@1 = a/x.json", "gpt2@2 = b/x.json"]


def test_same_id_different_text_is_not_paired():
    a = make_run("gpt2", [1.0, 2.0], texts=["What is 2+2?", "Name a colour."])
    b = make_run("phi2", [3.0, 4.0], texts=["What is 2+2?", "Name a city."])
    fixed, notes = unpair_different_texts([a, b])
    assert [r.query_id for r in fixed[0].records] == ["q001", "q002~1"]
    assert [r.query_id for r in fixed[1].records] == ["q001", "q002~2"]
    assert "1 query id (q002) carries" in notes[0]
    assert unpair_different_texts([a, a]) == ([a, a], [])


def test_renderers_survive_degenerate_runs():
    rng = np.random.default_rng(21)
    pool = [0.0, 1.0, 1.0, 2.0, 5.5, 1e-9]
    for trial in range(40):
        runs = []
        for m in range(int(rng.integers(1, 4))):
            n = int(rng.integers(0, 5))
            ids = [f"q{i}" for i in rng.choice(6, size=n, replace=False)]
            runs.append(make_run(f"m{m}", [float(rng.choice(pool)) for _ in ids], query_ids=ids,
                                 correct=list(rng.random(n) < 0.5), tokens=list(rng.integers(0, 3, n))))
        report = build_report(runs, ["energy", "tokens", "correct"])
        lines = _text(runs, ["energy", "tokens", "correct"])
        assert lines[0].startswith("Energy: ")
        assert render_markdown(report) and json.loads(render_json(report)) and render_csv(report)


def test_terminal_summary_never_raises_on_a_bad_metric_name():
    writer = LineCollector()
    write_statistics(_scored_runs(10), "energy,power", writer)
    assert writer.lines == ["slm-energy statistics not computed: unknown metric 'power'; choose from "
                            "energy, energy_per_token, latency, ttft, tokens, emissions, correct, score"]


def test_the_pairing_note_says_within_the_run_or_in_different_runs():
    from slm_energy_plugin.stats.build import prepare_for_pairing

    # One run: an id asked with two texts by the same model (a case and a query sharing q001).
    one = make_run("gpt2", [1.0, 2.0], texts=["What is 2+2?", "Say hi."], query_ids=["q001", "q001"])
    other = make_run("phi2", [3.0, 4.0], texts=["What is 2+2?", "Say hi."], query_ids=["q001", "q001"])
    fixed, notes = prepare_for_pairing([one, other], ["run/a.json", "run/b.json"])
    assert notes == ["1 query id (q001) carries different texts within the run; answers are paired by id and "
                     "text, each text on its own (shown as id~1, id~2)."]
    assert [r.query_id for r in fixed[1].records] == ["q001~1", "q001~2"]
    # Two runs whose files number different queries alike: "in different runs", and the runs are said.
    a = make_run("gpt2", [1.0], texts=["a?"], run_id="r1")
    b = make_run("phi2", [2.0], texts=["x?"], run_id="r2")
    _, notes = prepare_for_pairing([a, b], ["r1/a.json", "r2/b.json"])
    assert notes[0].startswith("The models come from more than one run")
    assert "carries different texts in different runs" in notes[1]
    # The session summary passes no files: one session is one run.
    _, notes = prepare_for_pairing([one, other])
    assert "within the run" in notes[0]
