"""A tiny seccomp filter (classic BPF, built by hand) that forbids new processes.

Why: when the scoring process runs as root, bubblewrap maps the sandbox user to host uid 0,
and Linux never applies ``RLIMIT_NPROC`` to host root; so a fork bomb would not be bounded
by the rlimit. The filter makes ``fork``/``vfork``/``clone`` (without ``CLONE_THREAD``) fail
with EAGAIN and ``clone3`` with ENOSYS (glibc then falls back to ``clone``): generated
code cannot start processes at all. Threads are allowed where something else bounds them (a
pids cgroup, or ``RLIMIT_NPROC`` for a non-root host user); otherwise (``allow_threads=False``)
``clone`` with ``CLONE_THREAD`` fails with EAGAIN too, because a raw ``clone`` thread with a tiny
stack escapes ``RLIMIT_AS`` and a filter cannot count. Any other ABI (x32, 32-bit calls) kills
the process, so the syscall numbers cannot be dodged. Pure: builds bytes, does no I/O.
"""

from __future__ import annotations

import platform
import struct

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL = 0x7FFF0000, 0x80000000
_ERRNO = 0x00050000
_EAGAIN, _ENOSYS = 11, 38
_CLONE_THREAD = 0x00010000
_X32_BIT = 0x40000000

# machine -> (AUDIT_ARCH, fork, vfork, clone, clone3); -1: no such syscall on that arch
_ARCHES = {
    "x86_64": (0xC000003E, 57, 58, 56, 435),
    "aarch64": (0xC00000B7, -1, -1, 220, 435),
}


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


def no_new_processes_filter(machine: str | None = None, *, allow_threads: bool = True) -> bytes | None:
    """The compiled filter for this machine, or None where it has no table (then only the
    PID namespace and the wall clock bound process creation)."""
    arch = _ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, fork, vfork, clone, clone3 = arch
    fork = fork if fork >= 0 else 0xFFFFFFF0      # never matches a real number
    vfork = vfork if vfork >= 0 else 0xFFFFFFF0
    # Index:  0 ld arch | 1 arch? | 2 ld nr | 3 x32? | 4 fork | 5 vfork | 6 clone3 | 7 clone
    #         8 ld flags | 9 thread? | 10 ALLOW | 11 EAGAIN | 12 ENOSYS | 13 KILL
    program = [
        _insn(_LD_W_ABS, 0, 0, 4),                 # seccomp_data.arch
        _insn(_JEQ, 0, 11, audit_arch),            # other ABI -> KILL
        _insn(_LD_W_ABS, 0, 0, 0),                 # seccomp_data.nr
        _insn(_JGE, 9, 0, _X32_BIT),               # x32 numbers -> KILL
        _insn(_JEQ, 6, 0, fork),                   # -> EAGAIN
        _insn(_JEQ, 5, 0, vfork),                  # -> EAGAIN
        _insn(_JEQ, 5, 0, clone3),                 # -> ENOSYS (flags live in memory: unreadable here)
        _insn(_JEQ, 0, 2, clone),                  # not clone -> ALLOW
        _insn(_LD_W_ABS, 0, 0, 16),                # args[0], low 32 bits (little-endian)
        # a thread -> ALLOW (or EAGAIN when threads are not allowed), else EAGAIN
        _insn(_JSET, 0 if allow_threads else 1, 1, _CLONE_THREAD),
        _insn(_RET, 0, 0, _ALLOW),
        _insn(_RET, 0, 0, _ERRNO | _EAGAIN),
        _insn(_RET, 0, 0, _ERRNO | _ENOSYS),
        _insn(_RET, 0, 0, _KILL),
    ]
    return b"".join(program)
