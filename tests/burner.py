"""Real CPU burners for tests that need another process loading the machine.

``detached``: the burner is re-parented to init (started through a shell that exits at once), so it
is *not* in the test process's tree: slm-energy must count it as background load. ``child``: an
ordinary child, which slm-energy counts as the run's own CPU time. Every burner stops by itself
after ``seconds`` (a safety net), and :func:`stop` ends exactly the pids it was given.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

BURN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def detached(count: int, seconds: float = 120.0) -> list[int]:
    code = BURN.format(seconds=seconds)
    pids = []
    for _ in range(count):
        out = subprocess.run(["sh", "-c", f'"$0" -c "$1" >/dev/null 2>&1 & echo $!', sys.executable, code],
                             capture_output=True, text=True, check=True).stdout
        pids.append(int(out.strip()))
    time.sleep(0.2)   # let them get going
    return pids


def child(count: int, seconds: float = 120.0) -> list[subprocess.Popen[bytes]]:
    procs = [subprocess.Popen([sys.executable, "-c", BURN.format(seconds=seconds)]) for _ in range(count)]
    time.sleep(0.2)
    return procs


def stop(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def stop_children(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
