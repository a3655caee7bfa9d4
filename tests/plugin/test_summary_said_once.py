"""Each note of the ``--energy-report`` summary is said once, also with several xdist workers."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from slm_energy_plugin.render.perf_tables import bandwidth_lines


def _summary_prose(stdout: str) -> list[str]:
    """The summary's prose lines: not table rows (several columns), rules, or blank lines."""
    section = stdout[stdout.index("slm-energy ===="):]
    return [line for line in section.splitlines()
            if line.strip() and not re.search(r"\S {2,}\S", line) and not set(line) <= {"-", " ", "="}]


def test_two_workers_say_the_bandwidth_once(bench_project: pytest.Pytester, tiny_cache: Path) -> None:
    # Each worker then measures the bandwidth itself (or one reads what the other cached): two
    # figures, which the summary used to print as one line per worker (three with -n 3).
    shutil.rmtree(tiny_cache / "bandwidth", ignore_errors=True)
    result = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2,tiny-phi", "--benchmark-disable",
                                                "--energy-report", "-n", "2")
    result.assert_outcomes(passed=6)
    prose = _summary_prose(result.stdout.str())
    assert sum(1 for line in prose if line.startswith("bandwidth:")) == 1
    repeated = {line: n for line, n in Counter(prose).items() if n > 1}
    assert not repeated


def _measured(gb_per_s: float, cached: bool = False, device: str = "cpu") -> dict[str, object]:
    return {"method": "copy", "gb_per_s": gb_per_s, "median_gb_per_s": gb_per_s - 1, "repeats": 7, "threads": 1,
            "device": device, "measured_at": "2026-12-01T10:00:00", "cached": cached}


def test_bandwidth_figures_of_several_workers_are_one_range_per_device() -> None:
    [line] = bandwidth_lines([_measured(20.9), _measured(23.0), _measured(20.9, cached=True)])
    assert line.startswith("bandwidth: 20.9 to 23.0 GB/s on cpu") and "3 worker processes" in line
    [same] = bandwidth_lines([_measured(20.9), _measured(20.9)])
    assert same.startswith("bandwidth: 20.9 GB/s on cpu (copy benchmark, best of 7")
    assert len(bandwidth_lines([_measured(20.9), _measured(900.0, device="cuda")])) == 2
    given = {"method": "given", "gb_per_s": 50.0}
    assert bandwidth_lines([given, given]) == ["bandwidth: 50.0 GB/s (given with --energy-bandwidth)"]
