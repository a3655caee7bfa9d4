"""Code generation scored by running the task's unit tests on the generated function.

Generated code is untrusted; the kernel contains it (:mod:`.confinement`: bubblewrap,
new user/mount/PID/network/IPC namespaces, read-only interpreter, private tmpfs, no
network, no capabilities). Inside, rlimits bound it: ``RLIMIT_CPU`` (SIGXCPU, then
SIGKILL), ``RLIMIT_AS`` (MemoryError), ``RLIMIT_FSIZE`` on its output files,
``RLIMIT_NOFILE``, ``RLIMIT_NPROC``, no core dumps; the parent kills the whole sandbox at
the wall-clock limit and after every run. Tasks (threads included) are bounded per sandboxed
process by a pids cgroup of its own (:mod:`.pids_cgroup`, 64 tasks) where one can be made; else,
when the sandbox would be host root, the seccomp filter refuses threads as well as processes.

Pass/fail is decided where the generated code never runs: the program runs in one
sandboxed process and the tests in another (:mod:`._sandbox_child`). The tests call the
entry point through a proxy; arguments and return values cross as plain data (None,
bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset), decoded into
fresh values on the tests' side. Only the tests' process holds the verdict pipe. So
patching a reporting function or ``json.dumps``, exiting early, or returning an object
whose ``__eq__`` is always True cannot turn a failure into a pass. The tests see one name of
the generated code, the entry point: the task's own helpers come from the prompt, run in the
tests' process (trusted data), so an answer that defines ``abs``, ``len``, ``range`` or
redefines a prompt helper changes nothing the tests call (see :func:`judge_names`).

Limits of this scheme (also in README, "Untrusted code and SQL"): only plain data crosses,
so tests that pass functions or other objects to the entry point, or that check how it
mutated its arguments, cannot be run this way and score 0 with that reason; the tests
themselves are trusted data of the benchmark. Without bubblewrap (or where the kernel
refuses namespaces) nothing runs unless ``SLM_ENERGY_ALLOW_UNCONFINED_CODE=1``; then the
processes have rlimits and their own sessions, but the file system, network and other
processes are open to them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from . import confinement, pids_cgroup
from .result import ScoreResult, code_blocks, failed, split_reasoning

KIND = "python_tests"
_CHILD = Path(__file__).with_name("_sandbox_child.py")
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


_TOP_LEVEL_DEFINITION = re.compile(r"^(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def judge_names(prompt: str, entry_point: str) -> tuple[str, list[str]]:
    """(helpers, exposed): what the tests' process sees besides the builtins.

    ``helpers`` is the prompt's source, run in the tests' process before the tests, so the
    task's helpers (HumanEval's ``poly``, ``encode_cyclic``) are the task's, not whatever the
    answer redefined; a prompt that ends in an open ``def f(x):`` is closed with ``pass``.
    ``exposed`` names what the tests reach of the generated code: the entry point, plus, only
    when the prompt does not compile even so, the functions and classes the prompt defines
    at top level (then the answer's definitions), never a builtin's name. Callables of the
    answer are never injected wholesale: a top-level ``def range(...)`` would shadow the
    builtin in the tests and forge a pass.
    """
    import builtins

    for source in (prompt, prompt.rstrip() + "\n    pass\n"):
        try:
            compile(source, "prompt.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        return source, [entry_point]
    defined = [name for name in _TOP_LEVEL_DEFINITION.findall(prompt)
               if name != entry_point and not hasattr(builtins, name) and not name.startswith("__")]
    return "", [entry_point, *dict.fromkeys(defined)]


def _tail(path: Path, limit: int = 4096) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group led by ``proc`` (bwrap: its namespace dies with it). Only
    while ``proc`` is unreaped, so its pid cannot have been reused as another group's id."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class _Child:
    """One sandboxed process (candidate or judge) and the files around it."""

    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    cgroup: Path | None


def _end(child: _Child) -> None:
    _kill_group(child.proc)
    child.proc.wait()
    if child.cgroup is not None:
        pids_cgroup.remove(child.cgroup)


def _task_cgroup() -> Path | None:
    """A pids cgroup bounding one sandboxed process's tasks, where this machine lets us make one."""
    folder, _ = pids_cgroup.parent()
    if folder is None:
        return None
    try:
        return pids_cgroup.create(folder)
    except OSError:
        return None


def _spawn(role: str, source: str, names: dict[str, object], limits: SandboxLimits, fds: dict[str, int],
           folder: Path, bwrap: str | None) -> _Child:
    config = folder / f"{role}.json"
    config.write_text(json.dumps({"role": role, "source": source, **names,
                                  "cpu_s": limits.cpu_s, "memory_mb": limits.memory_mb,
                                  "output_bytes": limits.output_bytes, **fds}), encoding="utf-8")
    passed = list(fds.values())
    cgroup = _task_cgroup()
    if bwrap is not None:
        # Threads need a bound: the cgroup, or RLIMIT_NPROC (it holds unless the sandbox is host root).
        seccomp_fd = confinement.open_seccomp(folder, allow_threads=cgroup is not None or os.geteuid() != 0)
        if seccomp_fd is not None:
            passed.append(seccomp_fd)
        argv = confinement.bwrap_argv(bwrap, _CHILD, config, seccomp_fd)
        cwd, env = "/", {"PATH": "/usr/bin:/bin"}
    else:                              # unconfined, opted in: a process with rlimits, no more
        work = folder / f"{role}-work"
        work.mkdir()
        argv = [confinement.interpreter(), "-I", "-S", "-B", str(_CHILD), str(config)]
        cwd, env = str(work), {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    if cgroup is not None:
        argv = pids_cgroup.enter(argv, cgroup)
    out_path, err_path = folder / f"{role}.out", folder / f"{role}.err"
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd, env=env,
                                    pass_fds=tuple(passed), start_new_session=True)
    except BaseException:
        if cgroup is not None:
            pids_cgroup.remove(cgroup)
        raise
    finally:
        for fd in passed[len(fds):]:
            os.close(fd)
    return _Child(proc, out_path, err_path, cgroup)


def run_tests(program: str, tests: str, entry_point: str, limits: SandboxLimits = SandboxLimits(), *,
              prompt: str = "") -> tuple[bool, str | None]:
    """Run ``tests`` (HumanEval style: defines ``check(candidate)``) against ``program``.

    The program runs in one confined process, the tests in another; only plain data
    crosses between them, and only the tests' process can report a verdict. The tests
    reach the entry point of the program and the helpers ``prompt`` defines (see
    :func:`judge_names`), nothing else of it.
    Returns (passed, reason); never raises for anything the untrusted code does.
    Raises ConfigError when no confinement is available and none was waived.
    """
    where = confinement.require()
    helpers, exposed = judge_names(prompt, entry_point)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="slm-code-") as tmp:
        folder = Path(tmp)
        to_candidate_r, to_candidate_w = os.pipe()
        to_judge_r, to_judge_w = os.pipe()
        verdict_r, verdict_w = os.pipe()
        children: list[_Child] = []
        try:
            candidate = _spawn("candidate", program, {"exposed": exposed}, limits,
                               {"fd_requests": to_candidate_r, "fd_answers": to_judge_w}, folder, where.bwrap)
            children.append(candidate)
            judge = _spawn("judge", tests, {"entry_point": entry_point, "exposed": exposed, "helpers": helpers},
                           limits, {"fd_requests": to_candidate_w, "fd_answers": to_judge_r, "fd_verdict": verdict_w},
                           folder, where.bwrap)
            children.append(judge)
        finally:
            for fd in (to_candidate_r, to_candidate_w, to_judge_r, to_judge_w, verdict_w):
                os.close(fd)
            if len(children) < 2:
                for child in children:
                    _end(child)
                os.close(verdict_r)
        timed_out = False
        try:
            judge.proc.wait(timeout=max(0.0, limits.wall_s - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            timed_out = True
        verdict = _read_verdict(verdict_r)
        candidate_rc = None
        if not timed_out and verdict.get("candidate_gone"):
            try:           # it ended on its own: let its exit status say why (a limit, a signal)
                candidate_rc = candidate.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
        for child in children:         # the whole namespace dies with bwrap: no survivors
            _end(child)
        flooded = candidate.stdout.stat().st_size >= limits.output_bytes or \
            candidate.stderr.stat().st_size >= limits.output_bytes
        judge_err = _tail(judge.stderr)
    if timed_out:
        return False, f"timed out after {limits.wall_s:g} s wall clock (killed)"
    if verdict.get("passed") is True and judge.proc.returncode == 0 and not flooded:
        return True, None
    if flooded:
        return False, f"output limit of {limits.output_bytes} bytes exceeded"
    died = _died_of(candidate_rc, limits, confined=where.bwrap is not None)
    if died:
        return False, died
    reason = verdict.get("reason")
    if isinstance(reason, str):
        return False, reason
    last = judge_err.strip().splitlines()[-1:] or [""]
    return False, f"the test process exited with code {judge.proc.returncode}: {last[0][:200]}"


def _died_of(rc: int | None, limits: SandboxLimits, *, confined: bool) -> str | None:
    """Why the candidate's process ended, from its exit status (bwrap reports a signal as 128+N)."""
    if rc is None:
        return None
    sig = -rc if rc < 0 else (rc - 128 if confined and rc > 128 else 0)
    if sig == signal.SIGXCPU:
        return f"CPU time limit of {limits.cpu_s} s exceeded (killed by SIGXCPU)"
    if sig == signal.SIGKILL:
        return f"killed by SIGKILL (CPU hard limit of {limits.cpu_s + 1} s, or the system)"
    if sig in signal.Signals._value2member_map_:
        return f"the generated code's process died from signal {signal.Signals(sig).name}"
    return None


def _read_verdict(fd: int, limit: int = 65536) -> dict[str, object]:
    """The judge's verdict line (non-blocking: a stray writer cannot hang us)."""
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
    try:
        verdict = json.loads(b"".join(chunks).decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return verdict if isinstance(verdict, dict) else {}


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
    passed, reason = run_tests(program, expected, entry_point, limits or SandboxLimits(), prompt=prompt)
    elapsed = round(time.monotonic() - started, 3)
    extracted = program[len(prompt):].strip() if program.startswith(prompt) else program
    return ScoreResult(float(passed), passed, extracted, KIND, reason, {"sandbox_s": elapsed})
