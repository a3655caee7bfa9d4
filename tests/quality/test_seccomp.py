"""The hand-built seccomp filter: its shape, and what it allows inside the sandbox."""

from __future__ import annotations

import os

import pytest

from slm_energy_plugin.quality import pids_cgroup
from slm_energy_plugin.quality.python_tests import score_python
from slm_energy_plugin.quality.seccomp import no_new_processes_filter

from .sandbox_cases import FAST, PROMPT, TESTS, confined_or_reason


def test_filter_exists_for_known_machines_only():
    for machine in ("x86_64", "aarch64"):
        program = no_new_processes_filter(machine)
        assert program is not None and len(program) == 14 * 8      # 14 sock_filter instructions
    assert no_new_processes_filter("riscv64") is None
    assert no_new_processes_filter("x86_64") != no_new_processes_filter("aarch64")   # arch and numbers differ
    no_threads = no_new_processes_filter("x86_64", allow_threads=False)
    assert no_threads is not None and len(no_threads) == 14 * 8
    assert no_threads != no_new_processes_filter("x86_64")


@pytest.mark.skipif(confined_or_reason() is not None, reason="no OS confinement here")
@pytest.mark.skipif(os.geteuid() == 0 and pids_cgroup.parent()[0] is None,
                    reason="as root without a pids cgroup, threads are refused (test_thread_bomb.py)")
def test_threads_still_work_but_processes_do_not():
    threads = ("    import threading\n    out = []\n"
               "    t = threading.Thread(target=lambda: out.append(a + b))\n    t.start()\n    t.join()\n"
               "    return out[0]\n")
    assert score_python(threads, TESTS, entry_point="add", prompt=PROMPT, limits=FAST).correct
    fork = "    import os\n    os.fork()\n    return a + b\n"
    result = score_python(fork, TESTS, entry_point="add", prompt=PROMPT, limits=FAST)
    assert not result.correct and "BlockingIOError" in result.reason
