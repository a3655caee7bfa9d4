"""Background load: other processes' share of the machine's CPU time during a window."""

from __future__ import annotations

import os
import time

import psutil
import pytest

from slm_energy_plugin.perf.background import (CpuSnapshot, background_share, closing_snapshot, snapshot,
                                               window_extra)

from .. import burner
from ..conftest import load_model_json, run_dirs


def _spin(cpu_seconds: float) -> None:
    """Burn this much of our own CPU time (however long a loaded machine makes that take)."""
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


def test_share_is_other_cpu_time_over_wall_time_and_cpus() -> None:
    a = CpuSnapshot(wall_s=10.0, machine_busy_s=100.0, own_s=5.0, freq_mhz=2000.0)
    b = CpuSnapshot(wall_s=12.0, machine_busy_s=103.0, own_s=6.0, freq_mhz=3000.0)
    assert background_share([(a, b)], cpu_count=2) == pytest.approx((3.0 - 1.0) / (2.0 * 2))
    assert window_extra([])["background_load"] is None
    assert background_share([(b, a)], cpu_count=2) is None         # no wall time: no figure
    c = CpuSnapshot(wall_s=13.0, machine_busy_s=110.0, own_s=6.0, freq_mhz=None)
    assert background_share([(b, c)], cpu_count=2) == 1.0           # clamped: ticks overshoot


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds these processes have used so far (0 for one that is gone)."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _window(pids: list[int]) -> tuple[CpuSnapshot, CpuSnapshot, float]:
    """A 1.5 s window: the snapshots at its ends, and the CPU seconds these processes used inside it."""
    before = _cpu_s(pids)
    start = snapshot(tree_max_age_s=0); time.sleep(1.5); end = closing_snapshot(start)
    return start, end, _cpu_s(pids) - before


def test_a_detached_burner_counts_as_background_and_our_own_child_does_not() -> None:
    """The same burners, once in our process tree, once outside it. Compared with what the burners
    themselves used (psutil), not with the machine's share: on a machine that other jobs already fill,
    both shares sit near 1 and a share comparison says nothing. Attribution does not saturate."""
    cpus = psutil.cpu_count() or 1
    procs = burner.child(cpus)
    try:
        start, end, children_used = _window([p.pid for p in procs])
    finally:
        burner.stop_children(procs)
    own_with_children = end.own_s - start.own_s
    pids = burner.detached(cpus)
    try:
        start, end, outsiders_used = _window(pids)
    finally:
        burner.stop(pids)
    own_with_outsiders = end.own_s - start.own_s
    busy_with_outsiders = end.machine_busy_s - start.machine_busy_s
    assert children_used > 0.1 and outsiders_used > 0.1, (children_used, outsiders_used)   # they ran
    # Our children's CPU time is ours (10 ms ticks, snapshots a few ms off the burners' reads) ...
    assert own_with_children >= 0.8 * children_used, (own_with_children, children_used)
    # ... the detached burners' is not: ours is only this sleeping process's, and the machine's busy
    # time minus ours (what background_share counts) holds their CPU time.
    assert own_with_outsiders < 0.2 * outsiders_used, (own_with_outsiders, outsiders_used)
    assert busy_with_outsiders - own_with_outsiders >= 0.8 * outsiders_used


def test_a_child_that_ends_inside_the_window_counts_once() -> None:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", burner.BURN.format(seconds=0.8)])
    time.sleep(0.3)
    start = snapshot(tree_max_age_s=0)
    assert proc.pid in dict(start.descendants)
    proc.wait()
    end = closing_snapshot(start)
    assert 0.0 <= end.own_s - start.own_s <= end.wall_s - start.wall_s + 0.05


def test_our_own_work_is_not_background() -> None:
    start = snapshot()
    _spin(0.5)
    end = closing_snapshot(start)
    assert end.own_s - start.own_s >= 0.45    # the spin was counted as ours (10 ms ticks)
    share = background_share([(start, end)], psutil.cpu_count() or 1)
    assert share is not None and 0.0 <= share <= 1.0


BURN_TEST = '''
import os
from tests import burner

def test_math_query(slm, math_query):
    # q001: burners inside this process tree (our own load); q002: the same burners outside it.
    if math_query.id == "q001":
        procs = burner.child(int(os.environ["BURNERS"]))
        try:
            slm.ask(math_query)
        finally:
            burner.stop_children(procs)
    elif math_query.id == "q002":
        pids = burner.detached(int(os.environ["BURNERS"]))
        try:
            slm.ask(math_query)
        finally:
            burner.stop(pids)
    else:
        slm.ask(math_query)
'''


def test_records_carry_background_load_higher_while_another_process_burns(
        bench_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BURNERS", str(psutil.cpu_count() or 1))
    bench_project.makepyfile(test_math=BURN_TEST)
    result = bench_project.runpytest("--energy-models", "tiny-gpt2", "--energy-max-new-tokens", "32",
                                     "--energy-repeat", "3", "--benchmark-disable", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    records = {q["query_id"]: q["extra"] for q in
               load_model_json(run_dirs(bench_project.path)[0], "tiny-gpt2")["query_history"]}
    loads = {qid: extra["background_load"] for qid, extra in records.items()}
    assert all(0.0 <= x <= 1.0 for x in loads.values()), loads
    assert loads["q002"] > loads["q001"] + 0.05, loads
    freq = records["q001"]["cpu_freq_mhz"]
    if os.path.exists("/proc/cpuinfo") and psutil.cpu_freq() is not None:
        assert freq is not None and freq > 0
