"""OS confinement for generated code: the bubblewrap command line, and whether it works here.

The security boundary for ``python_tests`` is the kernel, not Python: each sandboxed
process runs under bubblewrap (``bwrap``) in new user, mount, PID, network, IPC, UTS and
cgroup namespaces, as an unprivileged user with every capability dropped, with
``no_new_privs`` set (bwrap always sets it) and no way to make further user namespaces.

What it sees: ``/usr`` and the interpreter's prefix read-only (plus the ``/bin``, ``/lib``...
links into ``/usr``), its own ``/proc`` (only its own processes) and a minimal ``/dev``, a
private size-capped tmpfs as ``/tmp`` (the only writable place; ``/dev`` is read-only) (work folder ``/tmp/work``), the harness file and its
config read-only under ``/sandbox``. No ``/etc``, ``/home``, ``/root`` (beyond the
interpreter's prefix), project folder or results. The network namespace is empty apart
from its own loopback, so 127.0.0.1 inside is not the host's. The sandbox's PID 1 is
bwrap's reaper, tied to the scoring process by ``--die-with-parent``: killing bwrap kills
the namespace's init, and the kernel then kills every process left in it, ``setsid``
grandchildren included.

Where bubblewrap is missing or the kernel refuses the namespaces, generated code is not run
unless the user sets ``SLM_ENERGY_ALLOW_UNCONFINED_CODE=1``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .seccomp import no_new_processes_filter

ALLOW_UNCONFINED_ENV = "SLM_ENERGY_ALLOW_UNCONFINED_CODE"
BWRAP_ENV = "SLM_ENERGY_BWRAP"          # path to bwrap; set to a missing file to test the refusal
# How a benchmark skips a code task that cannot run here; the session summary counts these.
CODE_TASKS_SKIPPED = "code tasks skipped"
SANDBOX_UID = 65534                     # "nobody" inside the sandbox's user namespace
HARNESS_PATH = "/sandbox/harness.py"
CONFIG_PATH = "/sandbox/config.json"
TMPFS_BYTES = 32 * 1024 * 1024          # the private /tmp: files there live in memory
_TOP_LEVEL_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass(frozen=True)
class Confinement:
    """How this machine can run generated code: ``bwrap`` is None when it cannot be confined."""

    bwrap: str | None
    why_not: str | None = None


def interpreter() -> str:
    """The real interpreter (not a venv's link): the sandbox binds its prefix, not the venv."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(base)


def _readonly_roots() -> list[str]:
    roots = ["/usr"]
    prefix = os.path.realpath(sys.base_prefix)
    stdlib = os.path.realpath(sysconfig.get_paths()["stdlib"])
    exe_dir = os.path.dirname(interpreter())
    for path in (prefix, stdlib, exe_dir):
        if not any(path == r or path.startswith(r + os.sep) for r in roots):
            roots.append(path)
    return roots


def bwrap_argv(bwrap: str, harness: Path, config: Path, seccomp_fd: int | None) -> list[str]:
    """The full command that runs the harness with ``config`` inside the sandbox; the caller
    passes ``seccomp_fd`` (see :func:`open_seccomp`) to the child."""
    argv = [
        bwrap, "--unshare-all", "--unshare-user", "--disable-userns",
        "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
        "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LC_ALL", "C.UTF-8",
        "--hostname", "sandbox",
    ]
    for root in _readonly_roots():
        argv += ["--ro-bind", root, root]
    for name in _TOP_LEVEL_LINKS:
        host = Path("/", name)
        if host.is_symlink():
            argv += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), str(host)]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += [
        # /dev read-only: its tmpfs (and /dev/shm on it) would otherwise take files without bound.
        "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
        "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp", "--dir", "/tmp/work", "--chdir", "/tmp/work",
        "--ro-bind", str(harness), HARNESS_PATH, "--ro-bind", str(config), CONFIG_PATH,
        "--", interpreter(), "-I", "-S", "-B", HARNESS_PATH, CONFIG_PATH,
    ]
    return argv


def open_seccomp(folder: Path, *, allow_threads: bool = True) -> int | None:
    """An fd (inheritable, read from the start) holding the no-new-processes filter."""
    program = no_new_processes_filter(allow_threads=allow_threads)
    if program is None:
        return None
    # One file per sandbox: rewriting a shared one could truncate it under a bwrap still reading it.
    handle, name = tempfile.mkstemp(prefix="seccomp-", suffix=".bpf", dir=folder)
    with os.fdopen(handle, "wb") as out:
        out.write(program)
    fd = os.open(name, os.O_RDONLY)
    os.set_inheritable(fd, True)
    return fd


@functools.lru_cache(maxsize=4)
def probe(bwrap_path: str | None) -> Confinement:
    """Run the interpreter once inside the sandbox; cached per bwrap path."""
    bwrap = shutil.which(bwrap_path) if bwrap_path else shutil.which("bwrap")
    if bwrap is None:
        return Confinement(None, f"bubblewrap ({bwrap_path or 'bwrap'}) is not installed")
    if not sys.platform.startswith("linux"):
        return Confinement(None, "namespaces need Linux")
    with tempfile.TemporaryDirectory(prefix="slm-probe-") as tmp:
        harness, config = Path(tmp, "probe.py"), Path(tmp, "probe.json")
        harness.write_text("import os\nassert os.getuid() == %d\nprint('confined')\n" % SANDBOX_UID)
        config.write_text("{}")
        seccomp_fd = open_seccomp(Path(tmp))
        fds = () if seccomp_fd is None else (seccomp_fd,)
        try:
            done = subprocess.run(bwrap_argv(bwrap, harness, config, seccomp_fd), capture_output=True,
                                  timeout=30, stdin=subprocess.DEVNULL, pass_fds=fds)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Confinement(None, f"bubblewrap did not start: {exc}")
        finally:
            if seccomp_fd is not None:
                os.close(seccomp_fd)
    if done.returncode != 0 or done.stdout.strip() != b"confined":
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return Confinement(None, f"bubblewrap cannot make the sandbox here: {(err or ['no output'])[-1][:200]}")
    return Confinement(bwrap)


def unconfined_allowed() -> bool:
    return os.environ.get(ALLOW_UNCONFINED_ENV, "").strip().lower() in ("1", "true", "yes")


def refusal() -> str | None:
    """Why generated code must not run here (one line: why, and what to do), or None when it may."""
    found = probe(os.environ.get(BWRAP_ENV) or None)
    if found.bwrap is None and not unconfined_allowed():
        return (f"refusing to run generated code without OS confinement: {found.why_not}; install "
                f"bubblewrap (apt-get install bubblewrap) or set {ALLOW_UNCONFINED_ENV}=1 to run it unconfined")
    return None


def require() -> Confinement:
    """The confinement to use, or a ConfigError (one line) when generated code must not run."""
    why = refusal()
    if why is not None:
        raise ConfigError(why)
    return probe(os.environ.get(BWRAP_ENV) or None)
