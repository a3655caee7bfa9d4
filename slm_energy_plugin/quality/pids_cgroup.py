"""A pids cgroup per sandboxed process: the bound on its tasks (processes and threads).

Why: a thread made by a raw ``clone(CLONE_THREAD)`` with a tiny stack costs the sandbox almost
no memory (``memory_mb`` does not bound it), the seccomp filter lets threads through, and Linux
never applies ``RLIMIT_NPROC`` to host root, which is who the sandbox user is when the scorer
runs as root. Without a bound, generated code could take every PID on the host (32,427 tasks
were seen) and make ``fork`` fail for everyone. A pids cgroup counts every task, whoever owns it.

Where this process may create child cgroups in its own pids hierarchy (cgroup v1 ``pids``, or
cgroup v2 with the ``pids`` controller delegated), each sandboxed process starts inside its own
cgroup with ``pids.max`` = :data:`TASKS_PER_SANDBOX`. ``/bin/sh`` moves itself in, then execs the
sandbox, so nothing of it ever runs outside. Elsewhere :func:`parent` says why not, and the
caller falls back (see ``python_tests``: seccomp forbids threads when the sandbox would be host
root; otherwise ``RLIMIT_NPROC`` holds).

``SLM_ENERGY_PIDS_CGROUP``: a cgroup folder to create the sandboxes' cgroups in (default: this
process's own pids cgroup), or ``off`` to use none.
"""

from __future__ import annotations

import functools
import os
import re
import time
import uuid
from pathlib import Path

PIDS_CGROUP_ENV = "SLM_ENERGY_PIDS_CGROUP"
TASKS_PER_SANDBOX = 64            # bwrap's own two or three tasks included
_PREFIX = "slm-energy-"
_OURS = re.compile(rf"{_PREFIX}(\d+)-[0-9a-f]+$")
# sh moves itself ($$) into the cgroup given as $1, then becomes the sandbox: nothing runs outside.
_ENTER = 'echo $$ > "$1" && shift && exec "$@"'


def _mounts() -> list[tuple[str, str, str, str]]:
    """(root, mount point, fs type, super options) of each mount, from /proc/self/mountinfo."""
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if sep and len(fields) >= 5 and len(tail) >= 3:
            found.append((fields[3], fields[4].replace("\\040", " "), tail[0], tail[2]))
    return found


def _own_pids_folder() -> tuple[Path | None, str]:
    """This process's pids cgroup folder, v1 ``pids`` first, else v2 (where ``pids`` is enabled)."""
    try:
        entries = [line.split(":", 2) for line in Path("/proc/self/cgroup").read_text().splitlines()]
    except OSError as exc:
        return None, f"cannot read /proc/self/cgroup ({exc.strerror or exc})"
    mounts = _mounts()
    for number, controllers, path in (e for e in entries if len(e) == 3):
        if "pids" in controllers.split(","):
            for root, point, fstype, options in mounts:
                if fstype == "cgroup" and "pids" in options.split(","):
                    return _under(point, root, path), ""
    for number, controllers, path in (e for e in entries if len(e) == 3):
        if number == "0" and controllers == "":
            for root, point, fstype, _ in mounts:
                if fstype == "cgroup2":
                    folder = _under(point, root, path)
                    enabled = (folder / "cgroup.controllers").read_text().split() if \
                        (folder / "cgroup.controllers").is_file() else []
                    if "pids" in enabled:
                        return folder, ""
                    return None, f"the pids controller is not enabled in {folder}"
    return None, "no pids cgroup is mounted here"


def _under(point: str, root: str, path: str) -> Path:
    relative = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
    return Path(point, relative if relative != "." else "")


def _sweep(folder: Path, min_age_s: float = 300.0) -> None:
    """Remove empty cgroups left by scorers that were killed (their process is gone). Only old ones:
    a scorer in another PID namespace is invisible in /proc, and its fresh cgroup must stay."""
    try:
        children = list(folder.iterdir())
    except OSError:
        return
    for child in children:
        found = _OURS.match(child.name)
        if not found or Path("/proc", found[1]).exists():
            continue
        try:
            if child.stat().st_mtime < time.time() - min_age_s:
                child.rmdir()
        except OSError:
            pass


@functools.lru_cache(maxsize=4)
def _probe(setting: str) -> tuple[Path | None, str]:
    if setting.strip().lower() in ("off", "0", "no", "none"):
        return None, f"{PIDS_CGROUP_ENV}={setting}"
    folder, why = (Path(setting), "") if setting else _own_pids_folder()
    if folder is None:
        return None, why
    try:
        test = create(folder)
    except OSError as exc:
        return None, f"cannot make a pids cgroup in {folder} ({exc.strerror or exc})"
    remove(test)
    _sweep(folder)
    return folder, ""


def parent() -> tuple[Path | None, str]:
    """(folder the sandboxes' cgroups are made in, or None; why not). Probed once per setting."""
    return _probe(os.environ.get(PIDS_CGROUP_ENV, ""))


def create(folder: Path, limit: int = TASKS_PER_SANDBOX) -> Path:
    """A new child cgroup of ``folder`` holding at most ``limit`` tasks; raises OSError."""
    path = folder / f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    try:
        (path / "pids.max").write_text(str(limit))
    except OSError:
        path.rmdir()
        raise
    return path


def enter(argv: list[str], cgroup: Path) -> list[str]:
    """``argv`` run inside ``cgroup`` from its first instruction."""
    return ["/bin/sh", "-c", _ENTER, "sh", str(cgroup / "cgroup.procs"), *argv]


def peak(cgroup: Path) -> int | None:
    """The most tasks the cgroup held (kernels from 6.1 keep ``pids.peak``)."""
    try:
        return int((cgroup / "pids.peak").read_text())
    except (OSError, ValueError):
        return None


def remove(cgroup: Path, wait_s: float = 2.0) -> None:
    """Remove the cgroup once its tasks are gone (the killed namespace empties within moments)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            cgroup.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return          # still busy: swept by the next process that probes
            time.sleep(0.01)
