"""The statistics of a :class:`~slm_energy_plugin.stats.build.StatsReport` as sentences.

Pure. "tiny-qwen2 uses 2.23x [1.72, 2.89] the energy of tiny-phi; Wilcoxon signed-rank
p < 0.001": the ratio is the Hodges-Lehmann estimate with its CI and the p-value the
Holm-adjusted one of the test on the same scale, both taken from the project's
statistics (pairs oriented larger-first by :func:`slm_energy_plugin.render.stats_tables.oriented`).
"""

from __future__ import annotations

from ..number_format import num, pval
from .stats_tables import omnibus_line, oriented
from ..stats.build import MetricSection, StatsReport

# metric -> what "x times" means for it
_RATIO_VERBS = {
    "energy": "uses {r} the energy of",
    "energy_per_token": "uses {r} the energy per output token of",
    "latency": "takes {r} as long as",
    "ttft": "takes {r} as long to its first token as",
    "tokens": "writes {r} as many output tokens as",
    "emissions": "emits {r} the CO2 of",
    "score": "scores {r} as high as",
}


def _p_text(p: float | None, alpha: float) -> str:
    text = pval(p, alpha, star=False)
    return "p < 0.001" if text == "<0.001" else f"p = {text}"


def pair_sentence(section: MetricSection, index: int, alpha: float) -> str:
    """One pair of one metric in words, with its test, its scale and its p-value."""
    comparison = section.comparison
    assert comparison is not None
    pair = comparison.pairs[index]
    if section.binary:
        test = pair.mcnemar
        only = "" if pair.discordant is None else (
            f" ({pair.discordant[0]} queries right only for {pair.a}, {pair.discordant[1]} only for {pair.b})")
        if test is None or test.p is None:
            return f"{pair.a} vs {pair.b}, {section.label}: not tested - {test.reason if test else 'no test'}."
        return f"{pair.a} vs {pair.b}, {section.label}{only}: {test.test} {_p_text(test.p, alpha)}."
    first, second, shift, _ = oriented(pair)
    test = pair.wilcoxon if pair.paired else pair.mann_whitney
    how = (f"paired on {pair.n_shared} shared queries" if pair.paired
           else f"unpaired, {pair.n_a} and {pair.n_b} values")
    p_text = "not tested" if test is None or test.p is None else f"{test.test} {_p_text(test.p, alpha)}"
    if shift is None or shift.estimate is None:
        reason = shift.reason if shift is not None else "no estimate"
        return f"{first} vs {second}, {section.label}: no ratio ({reason}); {p_text} ({how})."
    interval = "" if shift.low is None or shift.high is None else f" [{num(shift.low)}, {num(shift.high)}]"
    if shift.kind == "ratio":
        verb = _RATIO_VERBS.get(section.name, "has {r} the " + section.label + " of")
        claim = f"{first} {verb.format(r=f'{num(shift.estimate)}x{interval}')} {second}"
    else:
        claim = (f"{first}'s {section.label} is {num(shift.estimate)}{interval} {section.unit} higher than "
                 f"{second}'s")
    verdict = "" if test is None or test.p is None or test.p < alpha else "; not significant"
    return f"{claim}; {p_text}{verdict} ({how})."


def section_sentences(section: MetricSection, alpha: float) -> list[str]:
    """The omnibus tests, then one sentence per pair; or why the metric was not compared."""
    if section.comparison is None:
        return [f"{section.label}: not compared - {section.reason}"]
    lines = [omnibus_line(test, alpha) + "." for test in section.comparison.omnibus]
    lines += [pair_sentence(section, i, alpha) for i in range(len(section.comparison.pairs))]
    return lines


def method_sentence(report: StatsReport) -> str:
    """How to read the sentences: which estimate, which interval, which adjustment."""
    return (f"Ratios: Hodges-Lehmann estimate of first / second with its {1 - report.alpha:.0%} confidence "
            "interval, on log values (the same scale as the test beside it). Tests: Wilcoxon signed-rank on "
            "shared queries (paired), Mann-Whitney U otherwise, McNemar for right/wrong answers; p-values "
            f"Holm-adjusted over the pairs of each metric; significant below {report.alpha:g}.")
