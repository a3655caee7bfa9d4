"""Code generation scored by running the task's unit tests on the generated function.

Generated code is untrusted. It runs in a separate Python process (``python -I -S``: no
site-packages, no environment variables, no user site), in a fresh temporary folder, in
its own session (so its whole process group can be killed), with:

- ``RLIMIT_CPU`` (SIGXCPU, then SIGKILL), ``RLIMIT_AS`` (MemoryError), ``RLIMIT_FSIZE`` on
  every file it writes including its stdout/stderr files (a huge print fails with EFBIG:
  CPython ignores SIGXFSZ); the verdict comes back on a separate pipe,
  ``RLIMIT_NOFILE`` 64, no core dumps, ``RLIMIT_NPROC`` 0 (no forks; Linux ignores this
  limit for root, hence the hook below), and a wall-clock timeout in the parent;
- a Python audit hook (PEP 578) installed before the untrusted code runs that ends the
  process at once on: fork/exec/spawn/system/subprocess, os.kill, sockets, ctypes/cffi,
  raising a limit, reading files outside the temp folder and the standard library, and
  writing, renaming or deleting anything outside the temp folder;
- a pass counted only if the child writes a result line carrying a random nonce the
  parent sent on stdin, so ``sys.exit(0)`` or ``os._exit(0)`` before the tests is a failure.

What this is NOT: a security boundary. Audit hooks are a Python-level tripwire; native
code, a crafted bytecode object, interpreter bugs, or code that finds and patches the
child's own reporting function can get around them, and there is no kernel isolation
(no namespaces, seccomp, or separate user; this project often runs as root in a
container). It stops the accidents and the obvious attacks that generated code
produces: endless loops, fork bombs, memory and output floods, reading or deleting the
user's files, network calls. Run untrusted benchmarks from unknown sources in a VM.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .result import ScoreResult, code_blocks, failed, split_reasoning

KIND = "python_tests"
_CHILD = Path(__file__).with_name("_sandbox_child.py")
VIOLATION_EXIT = 86                  # must match _sandbox_child.VIOLATION_EXIT
RESULT_MARK = "SANDBOX-RESULT"
VIOLATION_MARK = "SANDBOX-VIOLATION"
# HumanEval's stop sequences: where a base model's completion of the function body ends.
STOP_SEQUENCES = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ")


@dataclass(frozen=True)
class SandboxLimits:
    cpu_s: int = 5
    wall_s: float = 10.0
    memory_mb: int = 512
    output_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        if self.cpu_s < 1 or self.wall_s <= 0 or self.memory_mb < 64 or self.output_bytes < 1024:
            raise ConfigError(f"sandbox limits too small: {self} (cpu_s >= 1, wall_s > 0, "
                              f"memory_mb >= 64, output_bytes >= 1024)")


def build_program(response: str, prompt: str, entry_point: str, *, think_open: bool = False) -> tuple[str | None, str | None]:
    """(program, reason): the source to test, following HumanEval's prompt + completion rule.

    A response that defines ``entry_point`` itself (in a Markdown block or not) is appended
    after the prompt, so the prompt's imports and helpers stay and the new definition wins;
    otherwise the response is a completion of the prompt's function body, cut at
    HumanEval's stop sequences.
    """
    final = split_reasoning(response, think_open=think_open)
    if final.text is None:
        return None, final.reason
    text = final.text
    define = re.compile(rf"^[ \t]*def[ \t]+{re.escape(entry_point)}[ \t]*\(", re.MULTILINE)
    blocks = code_blocks(text, ("python", "py", "python3"))
    if blocks:
        text = next((b for b in blocks if define.search(b)), blocks[0])
    if define.search(text):
        return prompt.rstrip() + "\n\n\n" + textwrap.dedent(text).strip() + "\n", None
    completion = text
    for stop in STOP_SEQUENCES:
        cut = completion.find(stop)
        if cut >= 0:
            completion = completion[:cut]
    if not completion.strip():
        return None, "no code in the answer"
    return prompt + completion + "\n", None


def _tail(path: Path, limit: int = 4096) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_tests(program: str, tests: str, entry_point: str, limits: SandboxLimits = SandboxLimits()) -> tuple[bool, str | None]:
    """Run ``tests`` (HumanEval style: defines ``check(candidate)``) against ``program``.

    Returns (passed, reason); never raises for anything the untrusted code does.
    """
    nonce = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="slm-code-") as outer:
        work = Path(outer, "work")
        work.mkdir()
        (work / "solution.py").write_text(program, encoding="utf-8")
        (work / "tests.py").write_text(tests, encoding="utf-8")
        out_path, err_path = Path(outer, "stdout"), Path(outer, "stderr")
        result_r, result_w = os.pipe()
        config = json.dumps({"cpu_s": limits.cpu_s, "memory_mb": limits.memory_mb,
                             "output_bytes": limits.output_bytes, "entry_point": entry_point,
                             "result_fd": result_w})
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", str(_CHILD), config],
                    stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=work, pass_fds=(result_w,),
                    env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}, start_new_session=True,
                )
            finally:
                os.close(result_w)
            timed_out = False
            try:
                proc.stdin.write(f"{nonce}\n".encode())   # type: ignore[union-attr]
                proc.stdin.close()                        # type: ignore[union-attr]
            except BrokenPipeError:
                pass
            try:
                proc.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc.pid)
                proc.wait()
            _kill_group(proc.pid)     # whatever it left behind in its process group
        channel = _drain(result_r)
        flooded = max(out_path.stat().st_size, err_path.stat().st_size) >= limits.output_bytes
        stderr = _tail(err_path)
    return _verdict(proc.returncode, timed_out, flooded, channel, stderr, nonce, limits)


def _drain(fd: int, limit: int = 65536) -> str:
    """What the child wrote on the result pipe (non-blocking: a stray writer cannot hang us)."""
    os.set_blocking(fd, False)
    chunks, total = [], 0
    try:
        while total < limit:
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def _verdict(rc: int, timed_out: bool, flooded: bool, channel: str, stderr: str, nonce: str,
             limits: SandboxLimits) -> tuple[bool, str | None]:
    if timed_out:
        return False, f"timed out after {limits.wall_s:g} s wall clock (killed)"
    lines = channel.splitlines()
    for line in reversed(lines):
        if line.startswith(f"{VIOLATION_MARK} {nonce} "):
            return False, "sandbox: " + line.split(" ", 2)[2]
    if rc < 0:
        sig = -rc
        if sig == signal.SIGXCPU:
            return False, f"CPU time limit of {limits.cpu_s} s exceeded (killed by SIGXCPU)"
        if sig == signal.SIGKILL:
            return False, f"killed by SIGKILL (CPU hard limit of {limits.cpu_s + 1} s, or the system)"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return False, f"the test process died from signal {name}"
    if flooded:
        return False, f"output limit of {limits.output_bytes} bytes exceeded"
    for line in reversed(lines):
        if line.startswith(f"{RESULT_MARK} {nonce} "):
            result = json.loads(line.split(" ", 2)[2])
            return bool(result["passed"]), result.get("reason")
    if rc == 0:
        return False, "the process exited before the tests finished (no result line)"
    last = stderr.strip().splitlines()[-1:] or [""]
    return False, f"the test process exited with code {rc}: {last[0][:200]}"


def score_python(response: str, expected: str, *, entry_point: str, prompt: str = "",
                 limits: SandboxLimits | None = None, think_open: bool = False) -> ScoreResult:
    """1.0 when the generated code passes the task's tests (``expected`` is the test code)."""
    if not entry_point.isidentifier():
        raise ConfigError(f"entry_point {entry_point!r} is not a Python identifier")
    if os.name != "posix":
        raise ConfigError("kind='python_tests' needs a POSIX system (resource limits, process groups); "
                          "run the code tasks on Linux or macOS, or deselect them with -k 'not code'")
    program, why = build_program(response, prompt, entry_point, think_open=think_open)
    if program is None:
        return failed(KIND, why or "no code in the answer")
    started = time.monotonic()
    passed, reason = run_tests(program, expected, entry_point, limits or SandboxLimits())
    elapsed = round(time.monotonic() - started, 3)
    extracted = program[len(prompt):].strip() if program.startswith(prompt) else program
    return ScoreResult(float(passed), passed, extracted, KIND, reason, {"sandbox_s": elapsed})
