"""Shared pieces of the python_tests sandbox tests (not collected: no test_ prefix)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from slm_energy_plugin.quality.confinement import probe
from slm_energy_plugin.quality.python_tests import SandboxLimits

PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"
# Small limits keep the suite fast; the defaults are cpu 5 s, wall 10 s. The wall clock
# leaves room for a loaded machine (several test sessions share two cores here).
FAST = SandboxLimits(cpu_s=1, wall_s=8.0, memory_mb=256, output_bytes=64_000)

# The old in-process audit hook kept a re-entrancy flag ``busy = [False]`` in a closure that
# generated code could reach through gc; setting it switched the hook off. Every escape
# test starts with this, so it checks what the operating system stops, not what a Python
# hook stops. Under the OS sandbox it finds nothing and does nothing.
DISABLE_AUDIT_HOOK = """\
import gc as _gc
for _o in _gc.get_objects():
    if type(_o).__name__ == "function" and _o.__name__ == "hook" and _o.__closure__:
        for _c in _o.__closure__:
            try:
                _v = _c.cell_contents
            except ValueError:
                continue
            if type(_v) is list and _v == [False]:
                _v[0] = True
"""


def confined_or_reason() -> str | None:
    found = probe(os.environ.get("SLM_ENERGY_BWRAP") or None)
    return None if found.bwrap else found.why_not


def program(attack: str, body: str = "    return a + b\n") -> str:
    """A full answer: hook switched off, the attack at import time, then the function."""
    return "```python\n" + DISABLE_AUDIT_HOOK + attack + "\n\ndef add(a, b):\n" + body + "```\n"


def processes_with(marker: str) -> list[int]:
    """Host PIDs whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def wait_until_gone(marker: str, seconds: float = 3.0) -> list[int]:
    """The survivors after up to ``seconds`` (the kernel reaps a dead namespace quickly)."""
    deadline = time.monotonic() + seconds
    while True:
        left = processes_with(marker)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)
