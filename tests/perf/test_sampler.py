"""The utilisation sampler: rows at its rate, primitives only, figures that rise under load."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from slm_energy_plugin.perf.sampler import COLUMNS, UtilisationSampler, summarise, timeline_csv

BURNER = "import time\nend = time.time() + 3\nwhile time.time() < end: pass\n"


def _window(sampler: UtilisationSampler, seconds: float, query_id: str = "q") -> list[list]:
    window = sampler.open(query_id)
    time.sleep(seconds)
    return window.close()


def test_rows_are_primitives_at_the_rate():
    rows = _window(UtilisationSampler(20), 0.5, "q001")
    assert 8 <= len(rows) <= 12
    assert all(len(row) == len(COLUMNS) and row[1] == "q001" for row in rows)
    json.dumps(rows)   # crosses xdist as JSON
    assert all(row[4] > 0 for row in rows)   # RSS
    text = timeline_csv([["tiny-gpt2", *row] for row in rows])
    assert text.splitlines()[0] == "model," + ",".join(COLUMNS) and len(text.splitlines()) == len(rows) + 1


def test_a_short_window_still_gets_a_row():
    assert len(_window(UtilisationSampler(10), 0.0)) == 1


def test_process_cpu_rises_under_a_busy_thread():
    sampler = UtilisationSampler(10)
    quiet = summarise(_window(sampler, 1.0))
    stop = threading.Event()

    def burn() -> None:
        while not stop.is_set():
            sum(range(1000))

    thread = threading.Thread(target=burn)
    thread.start()
    try:
        busy = summarise(_window(sampler, 1.0))
    finally:
        stop.set()
        thread.join()
    # On a shared 2-core box under heavy load a busy thread may get only a sixth of a core.
    assert busy["process_cpu_pct"]["mean"] > quiet["process_cpu_pct"]["mean"] + 5


def test_system_cpu_rises_under_a_cpu_burner_subprocess():
    sampler = UtilisationSampler(10)
    quiet = summarise(_window(sampler, 0.8))["system_cpu_pct"]["mean"]
    if quiet > 80:
        pytest.skip(f"the machine is already {quiet:.0f}% busy: a burner cannot show")
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(2)]
    try:
        time.sleep(0.3)
        busy = summarise(_window(sampler, 0.8))["system_cpu_pct"]
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()
    assert busy["mean"] > quiet + 15 and busy["peak"] >= busy["mean"]


def test_off_is_refused_as_a_rate():
    with pytest.raises(ValueError):
        UtilisationSampler(0)
