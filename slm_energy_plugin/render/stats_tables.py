"""Render a :class:`~slm_energy_plugin.stats.build.StatsReport` as text or markdown.

Pure: returns lines, or writes them to any object with ``write_line(str)`` (pytest's
terminal reporter, or :class:`LineCollector`). Per metric: the per-model table, the
omnibus tests, the pairwise tables, notes, and a legend naming each test. Text stays
within 80 columns for three models with aliases like ``deepseek-r1-1.5b``.

Pairs are shown with the larger model first, so ratios read "phi2 / gpt2 4.1x
[3.8, 4.5]": phi2 uses 4.1 times what gpt2 uses (the stored results keep their order).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Sequence

from tabulate import tabulate

from ..errors import SlmEnergyError
from ..results.records import ModelRun
if TYPE_CHECKING:  # scipy (~60 MB, ~0.7 s) loads only when statistics are computed or rendered
    from ..stats.core import Comparison, PairComparison, Shift
from ..stats.build import MetricSection, StatsReport, build_report, prepare_for_pairing
from ..stats.types import StatResult
from ..number_format import accuracy, num, plural, pval
from .writer import WIDTH, LineWriter

Writer = LineWriter  # kept: older name of the protocol

_SCALES = {  # unit -> (factor, label) choices, largest first
    "J": [(1e3, "kJ"), (1.0, "J"), (1e-3, "mJ"), (1e-6, "uJ")],
    "J/token": [(1.0, "J/token"), (1e-3, "mJ/token"), (1e-6, "uJ/token")],
    "s": [(1.0, "s"), (1e-3, "ms"), (1e-6, "us")],
    "g CO2eq": [(1e3, "kg CO2eq"), (1.0, "g CO2eq"), (1e-3, "mg CO2eq"), (1e-6, "ug CO2eq")],
}


def _comparison(section: MetricSection) -> Comparison:
    """The section's comparison; the tables are only drawn for sections that have one."""
    if section.comparison is None:
        raise ValueError(f"{section.name}: no comparison to draw ({section.reason})")
    return section.comparison


def _scale(section: MetricSection) -> tuple[float, str]:
    """Pick a unit prefix so the largest median reads between 1 and 1000."""
    choices = _SCALES.get(section.unit)
    comparison = section.comparison
    if not choices or comparison is None:
        return 1.0, section.unit
    medians = [abs(s.median) for s in comparison.summaries if s.median is not None]
    top = max(medians, default=0.0)
    for factor, label in choices:
        if top >= factor:
            return factor, label
    return choices[-1]


def _interval(low: float | None, high: float | None, factor: float = 1.0) -> str:
    if low is None or high is None:
        return "-"
    return f"[{num(low / factor)}, {num(high / factor)}]"


def oriented(pair: PairComparison) -> tuple[str, str, Shift | None, float]:
    """(first, second, shift, sign) with the larger model first; sign flips effects."""
    from ..stats.core import Shift

    sh = pair.shift
    if sh is None or sh.estimate is None:
        return pair.a, pair.b, sh, 1.0
    smaller = sh.estimate < 1.0 if sh.kind == "ratio" else sh.estimate < 0.0
    if not smaller:
        return pair.a, pair.b, sh, 1.0
    if sh.kind == "ratio":
        flipped = Shift(sh.kind, 1.0 / sh.estimate, 1.0 / sh.high if sh.high else None,
                        1.0 / sh.low if sh.low else None, sh.confidence, sh.n, sh.paired, sh.method, sh.reason)
    else:
        flipped = Shift(sh.kind, -sh.estimate, -sh.high if sh.high is not None else None,
                        -sh.low if sh.low is not None else None, sh.confidence, sh.n, sh.paired, sh.method,
                        sh.reason)
    return pair.b, pair.a, flipped, -1.0


def _shift_text(sh: Shift | None, factor: float) -> str:
    if sh is None or sh.estimate is None:
        return "-"
    if sh.kind == "ratio":
        return f"{num(sh.estimate)}x {_interval(sh.low, sh.high)}"
    return f"{num(sh.estimate / factor):>5} {_interval(sh.low, sh.high, factor)}"


def _difference_text(pair: PairComparison, factor: float, sign: float) -> str:
    """The HL difference (first - second) in the metric's unit, beside a ratio."""
    d = pair.difference
    if d is None or d.estimate is None or d.kind != "difference" or pair.shift is d:
        return "-"
    return f"{num(sign * d.estimate / factor)}"


def _effect(test: StatResult | None, sign: float) -> str:
    return "-" if test is None or test.effect is None else f"{sign * test.effect:+.2f}"


def omnibus_line(test: StatResult, alpha: float) -> str:
    if test.reason:
        return f"{test.test}: not computed - {test.reason}"
    parts = [f"{test.test} = {num(test.statistic)}"]
    if test.df is not None:
        parts.append(f"df {test.df}")
    p_text = pval(test.p_value, alpha, star=False)
    parts.append("p < 0.001" if p_text == "<0.001" else f"p = {p_text}")
    if test.effect is not None:
        parts.append(f"{test.effect_name} {test.effect:.2f}")
    what = f"paired, {test.n} queries" if test.paired else f"unpaired, {test.n} values"
    line = ", ".join(parts) + f" ({what})"
    return line + (f"; {test.note}" if test.note else "")


def _model_rows(section: MetricSection, factor: float) -> tuple[list[str], list[list[str]], str]:
    c = _comparison(section)
    if section.binary:
        rows = [[a.model, accuracy(a.correct, a.n, a.ci_low, a.ci_high)] for a in c.accuracies]
        return ["model", "right/n (accuracy [95% Wilson CI])"], rows, "r"
    rows = [[s.model, str(s.n), num(None if s.median is None else s.median / factor),
             _interval(s.q1, s.q3, factor), num(None if s.mean is None else s.mean / factor),
             num(None if s.std is None else s.std / factor), _interval(s.ci_low, s.ci_high, factor)]
            for s in c.summaries]
    return ["model", "n", "median", "IQR", "mean", "sd", "median 95% CI"], rows, "rrrrrr"


def _pair_tables(section: MetricSection, factor: float, alpha: float) -> list[tuple[list[str], list[list[str]], str]]:
    c = _comparison(section)
    if not c.pairs:
        return []
    if section.binary:
        rows = []
        for p in c.pairs:
            m = p.mcnemar
            only = "-" if p.discordant is None else f"{p.discordant[0]} / {p.discordant[1]}"
            rows.append([f"{p.a} / {p.b}", str(p.n_shared), only,
                         "-" if m is None or m.effect is None else f"{m.effect:+.2f}",
                         pval(None if m is None else m.p, alpha)])
        return [(["pair (a / b)", "shared", "only a / only b", "a-b", "McNemar p"], rows, "rrrr")]
    paired, unpaired = [], []
    for p in c.pairs:
        first, second, sh, sign = oriented(p)
        label = f"{first} / {second}"
        if p.paired:
            paired.append([label, str(p.n_shared), _shift_text(sh, factor), _difference_text(p, factor, sign),
                           pval(None if p.wilcoxon is None else p.wilcoxon.p, alpha), _effect(p.wilcoxon, sign)])
        mw = p.mann_whitney
        unpaired.append([label, f"{p.n_a if sign > 0 else p.n_b}/{p.n_b if sign > 0 else p.n_a}",
                         pval(None if mw is None else mw.p, alpha), _effect(mw, sign),
                         "" if p.paired else _shift_text(sh, factor)])
    ratio = "ratio" if all(p.shift is None or p.shift.kind == "ratio" for p in c.pairs) else "shift"
    tables = []
    if paired:
        tables.append((["paired (n shared)", "n", f"{ratio} (HL, 95% CI)", "diff", "Wilcoxon p", "r"],
                       paired, "rlrrr"))
    head = ["unpaired, all values", "n", "MWU p", "r"]
    if any(not p.paired for p in c.pairs):
        tables.append((head + [f"{ratio} (HL, 95% CI)"], unpaired, "rrrl"))
    else:
        tables.append((head, [row[:4] for row in unpaired], "rrr"))
    return tables


def _table(head: list[str], rows: list[list[str]], align: str, fmt: str) -> list[str]:
    return tabulate(rows, headers=head, tablefmt=fmt, disable_numparse=True,
                    colalign=("left",) + tuple("right" if a == "r" else "left" for a in align)).splitlines()


def _notes(section: MetricSection) -> list[str]:
    c = _comparison(section)
    notes = list(c.notes)
    for s in c.summaries:
        if s.reason:
            notes.append(f"{s.model}: {s.reason}")
    for a in c.accuracies:
        if a.reason:
            notes.append(f"{a.model}: {a.reason}")
    for p in c.pairs:
        for test in p.tests:
            if test.reason and not (test.test.startswith("Wilcoxon") and p.n_shared == 0):
                notes.append(f"{p.a} / {p.b}: {test.test} not computed - {test.reason}")
        if p.shift is not None and p.shift.reason:
            notes.append(f"{p.a} / {p.b}: ratio not computed - {p.shift.reason}")
        if p.agreement:
            notes.append(f"{p.a} / {p.b}: {p.agreement}")
    unpaired = [f"{p.a} / {p.b}" for p in c.pairs if not p.paired]
    if unpaired:
        notes.append("not paired (no shared query ids), unpaired tests only: " + ", ".join(unpaired))
    return notes


def legend(section: MetricSection, comparison: Comparison, alpha: float) -> str:
    if not comparison.omnibus and not comparison.pairs:   # per-model values only (a sequential run's)
        return ("Accuracy CI: Wilson score." if section.binary else "Median CI: percentile bootstrap, "
                f"{comparison.bootstrap_resamples} resamples, seed {comparison.bootstrap_seed}.")
    pairs = len(comparison.pairs)
    star = (f"p: Holm-adjusted over the {plural(pairs, 'pair')}, * below {alpha:g}." if pairs > 1 else
            f"p: one pair, no adjustment needed; * below {alpha:g}." if pairs == 1 else
            f"* below {alpha:g}.")
    if section.binary:
        return ("Tests: Cochran's Q across models and McNemar per pair (exact binomial below 25 "
                "discordant answers), both on the queries the models share; accuracy CI: Wilson score. "
                "only a / only b: queries only a / only b answered right; a-b: difference in accuracy on "
                "shared queries. " + star)
    return ("Tests: Kruskal-Wallis H and Mann-Whitney U (MWU) use every value, unpaired; Friedman chi2 "
            "(Kendall's W) and Wilcoxon signed-rank use the queries the models share, paired. "
            "r: rank-biserial correlation, > 0 when the first model is higher. ratio: Hodges-Lehmann "
            "estimate of first / second with its 95% CI. " + _scale_sentence(comparison) + " " + star + " Median CI: percentile bootstrap, "
            f"{comparison.bootstrap_resamples} resamples, seed {comparison.bootstrap_seed}.")


def _scale_sentence(comparison: Comparison) -> str:
    """Which values every column of a pair row was computed on."""
    scales = {p.scale for p in comparison.pairs}
    if scales == {"log"}:
        return ("Scale: every pairwise column (test, r, ratio and its CI) is computed on log values, so "
                "the paired test is on per-query log ratios and the ratio's CI excludes 1 when p < 0.05 "
                "before adjustment (a note says when not); diff: the Hodges-Lehmann difference in the "
                "metric's unit, for reading.")
    if scales == {"raw"}:
        return "Scale: raw values (some value is zero or negative), shift = difference in the metric's unit."
    return "Scale: log values for pairs whose values are all positive, raw values otherwise."


def section_lines(section: MetricSection, alpha: float, fmt: str = "simple") -> list[str]:
    markdown = fmt != "simple"
    c = section.comparison
    factor, unit = _scale(section)
    title = f"{section.label} ({unit})"
    if c is None:
        return [f"#### {title}" if markdown else f"-- {title} --", "", f"not compared: {section.reason}"]
    shared = f"{plural(len(c.models), 'model')}, {plural(c.n_common, 'query', 'queries')} answered by all"
    lines = [f"#### {title}: {shared}" if markdown else f"-- {title}: {shared} --", ""]
    lines += _table(*_model_rows(section, factor), fmt)
    if c.omnibus:   # none where the tests are left out (a sequential run's per-model values)
        lines.append("")
    for test in c.omnibus:
        line = omnibus_line(test, alpha)
        lines += [f"- {line}"] if markdown else _wrap(line, "  ")
    for head, rows, align in _pair_tables(section, factor, alpha):
        lines += [""] + _table(head, rows, align, fmt)
    notes = _notes(section)
    if notes:
        lines.append("")
        for note in notes:
            lines += [f"- {note}"] if markdown else _wrap("note: " + note, "  ")
    return lines


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)


def legends(report: StatsReport) -> list[str]:
    """One legend per kind of section shown (continuous, right/wrong), said once."""
    seen, texts = set(), []
    for section in report.sections:
        if section.comparison is not None and section.binary not in seen:
            seen.add(section.binary)
            texts.append(legend(section, section.comparison, report.alpha))
    return texts


def report_lines(report: StatsReport, header: bool = True) -> list[str]:
    lines = _wrap(report.header, "  ") if header else []
    for note in report.notes:
        lines += _wrap(note, "  ")
    for section in report.sections:
        lines += [""] + section_lines(section, report.alpha)
    for text in legends(report):
        lines += [""] + _wrap(text)
    return lines


def render_text(report: StatsReport, writer: Writer, header: bool = True) -> None:
    for line in report_lines(report, header):
        writer.write_line(line)


def render_markdown(report: StatsReport) -> str:
    lines = ["### slm-energy statistics", "", f"**{report.header}**", ""]
    lines += [f"- {note}" for note in report.notes]
    for section in report.sections:
        lines += [""] + section_lines(section, report.alpha, fmt="github")
    for text in legends(report):
        lines += ["", f"_{text}_"]
    return "\n".join(lines) + "\n"


def write_statistics(runs: Sequence[ModelRun], metric_names: Sequence[str] | str, writer: Writer, *,
                     alpha: float = 0.05, header: bool = True) -> None:
    """The terminal summary: statistics for ``runs`` on ``metric_names``, to ``writer``.

    Never raises for bad input (a terminal summary must not break the run): an unknown
    metric name becomes one line saying so. Validate names earlier with
    :func:`~slm_energy_plugin.stats.build.parse_metric_names` to fail at configure time.
    """
    # Paired exactly as `slm-energy compare` and the report pair them: one answer for one run.
    paired, notes = prepare_for_pairing(runs)
    try:
        report = build_report(paired, metric_names, alpha=alpha, notes=notes)
    except SlmEnergyError as exc:
        writer.write_line(f"slm-energy statistics not computed: {exc}")
        return
    render_text(report, writer, header)
