"""The summary's lines for a sequential run (``run.json``'s ``sequential`` block -> text). Pure."""

from __future__ import annotations

import math
import textwrap
from typing import Any, Mapping, Sequence

from tabulate import tabulate

from ..number_format import num, plural

PROVENANCE_WORDS = {"measured": "measured", "estimated": "estimated, not measured", "mixed": "partly estimated"}


def interval_text(ci: Sequence[float | None] | None) -> str:
    """An always-valid interval as the summary writes it ("0.44 - 0.957"; "(no bound yet)" while its
    lower end is still 0 and its upper one unbounded; "-" when there is none)."""
    if not ci:
        return "-"
    low, high = (None if v is None or not math.isfinite(float(v)) else float(v) for v in ci)
    if not low and high is None:
        return "(no bound yet)"
    return f"{num(low or 0.0)} - {'inf' if high is None else num(high)}"


# Reasons a pair ended undecided early, shown beside the verdict (run.json's ``reason``).
EARLY_REASONS = ("futile", "no values")


def _verdict(entry: Mapping[str, Any]) -> str:
    """'undecided (futile)' / 'undecided (no values)' when a pair stopped early without a verdict."""
    reason = entry.get("reason")
    return f"{entry['decision']} ({reason})" if reason in EARLY_REASONS else str(entry["decision"])


def _no_values_sentence(block: Mapping[str, Any]) -> str:
    """Which models stopped being asked because their queries errored ('' when none; older blocks lack it)."""
    stopped = block.get("models_no_values")
    if not isinstance(stopped, Mapping) or not stopped:
        return ""
    after = block.get("no_values_after", "several")
    names = ", ".join(f"{model} (after {looks} queries)" for model, looks in stopped.items())
    its = "its" if len(stopped) == 1 else "their"
    return (f" Stopped asking {names}: {its} last {after} queries in a row errored, so {its} pairs are undecided "
            f"(no values) and {its} remaining tests were deselected.")


def load_level_sentence(block: Mapping[str, Any]) -> str:
    """With load levels (``look_stride`` > 1, roles/sequential_load.py): what ran past a verdict, and
    what was made for no test; '' otherwise. The terminal summary and the HTML report both say it."""
    stride = int(block.get("look_stride") or 1)
    if stride <= 1:
        return ""
    return (f"Load levels: answers made {stride} queries at a time, so models stop only every {stride} "
            f"queries; {plural(int(block.get('tests_after_decision') or 0), 'test')} ran after their "
            f"model's verdicts ({num(block.get('energy_j_after_decision'))} J, counted above), "
            f"{plural(int(block.get('generations_unused') or 0), 'generation')} made for no test "
            f"({num(block.get('energy_j_unused'))} J, not counted above).")


def sequential_lines(block: Mapping[str, Any], provenance: str) -> list[str]:
    """What was decided, after how many queries and joules, on which always-valid intervals."""
    words = PROVENANCE_WORDS.get(provenance, "not measured")
    head = (f"Sequential verdicts (--energy-until decided): {block['method_text']}; alpha {block['alpha']:g} "
            f"({block['alpha_per_pair']:.3g} per pair), equivalent within ±{block['equivalence_margin']:.0%}.")
    run = int(block["queries_run"])
    planned = int(block["queries_planned"])
    stopped = (f"Ran {run} of {planned} queries in a random order (seed {block['seed']}), stopped: "
               f"{block['stop_reason']}; {plural(int(block['tests_deselected']), 'test')} deselected, not run. "
               f"Query energy of all models: {num(block['energy_j'])} J ({words})."
               + _no_values_sentence(block))
    load_levels = load_level_sentence(block)
    if load_levels:
        stopped += " " + load_levels
    lines = textwrap.wrap(head, 100) + textwrap.wrap(stopped, 100)
    rows = [[entry["pair"], entry["metric"], _verdict(entry), entry["after_queries"], num(entry["ratio"]),
             interval_text(entry["ci"]), num(entry.get("energy_j"))] for entry in block["pairs"]]
    table = tabulate(rows, headers=["pair", "metric", "verdict", "after q", "ratio", "always-valid CI",
                                    "J spent"], tablefmt="simple", disable_numparse=True)
    lines += table.splitlines()
    note = ("Ratio: first / second model, geometric mean of per-query ratios; the interval holds at every "
            "look at once, so stopping early keeps its 1 - alpha coverage. 'J spent': both models' query energy "
            f"until the verdict ({words}). Fixed-n tests (Wilcoxon, Mann-Whitney) are not shown for a "
            "sequential run: after stopping on the data their p-values would overstate the evidence.")
    return lines + textwrap.wrap(note, 100)
