"""Child side of the python_tests sandbox: ``python -I -S -B _sandbox_child.py CONFIG.json``.

Standard library only (site-packages are off, and inside the OS sandbox only this file,
its config and the interpreter are visible). One file, two roles, two processes:

- ``candidate``: runs the generated code and nothing else. It answers calls
  ("call NAME with these arguments") with the return value encoded as plain data.
- ``judge``: runs the task's tests (trusted: they come from the benchmark's data). Inside
  the tests, the entry point is a proxy that sends the call to the candidate process and
  decodes the answer into fresh plain Python values (None, bool, int, float, complex,
  str, bytes, list, tuple, dict, set, frozenset). The judge writes the verdict on a pipe
  only it holds.

So the generated code never runs in the process that decides pass/fail: patching a
reporting function, ``json.dumps``, ``sys.exit(0)`` / ``os._exit(0)``, or an object whose
``__eq__`` is always True cannot make a failing answer pass: the worst the candidate
can do is return values, which is what it is being tested on. The candidate serves only the
names the parent exposes (the entry point; see ``python_tests.judge_names``); the tests'
globals get those proxies and the prompt's own helpers, so a top-level ``def abs``,
``def range`` or a redefined prompt helper in the answer never shadows what the tests call.
"""

from __future__ import annotations

import builtins
import errno
import json
import linecache
import os
import resource
import sys
import traceback
from typing import IO, Any, Callable

MAX_MESSAGE = 4 * 1024 * 1024        # one encoded call or answer, in bytes
MAX_DEPTH = 100                      # nesting of one encoded value
NPROC_LIMIT = 64                     # processes per sandbox user: a fork bomb stops here


class CandidateGone(Exception):
    """The candidate process ended (exit, crash, a limit) while the tests needed it."""


class CandidateProtocolError(Exception):
    """The candidate sent something that is not a well-formed answer."""


class NotPlainData(TypeError):
    """A value that cannot cross the sandbox boundary as data."""


_CONTAINER_TAGS: dict[type, str] = {list: "l", tuple: "t", set: "S", frozenset: "F"}


# ---- plain-data codec: every value is a tagged JSON list, decoded strictly ----------------

def encode(value: Any, depth: int = 0) -> list[Any]:
    if depth > MAX_DEPTH:
        raise NotPlainData(f"value nested deeper than {MAX_DEPTH} levels")
    kind = type(value)                       # exact types: no subclasses with custom __eq__
    if value is None:
        return ["n"]
    if kind is bool:
        return ["b", value]
    if kind is int:
        return ["i", str(value)]
    if kind is float:
        return ["f", repr(value)]
    if kind is complex:
        return ["c", repr(value.real), repr(value.imag)]
    if kind is str:
        return ["s", value]
    if kind is bytes:
        return ["y", value.hex()]
    if kind in _CONTAINER_TAGS:
        return [_CONTAINER_TAGS[kind], [encode(item, depth + 1) for item in value]]
    if kind is dict:
        return ["d", [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]]
    raise NotPlainData(f"a {kind.__name__} is not plain data")


def decode(data: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH or type(data) is not list or not data or type(data[0]) is not str:
        raise CandidateProtocolError("malformed value")
    tag, rest = data[0], data[1:]
    if tag == "n" and not rest:
        return None
    if tag == "b" and len(rest) == 1 and type(rest[0]) is bool:
        return rest[0]
    if tag == "i" and len(rest) == 1 and type(rest[0]) is str:
        return int(rest[0])
    if tag == "f" and len(rest) == 1 and type(rest[0]) is str:
        return float(rest[0])
    if tag == "c" and len(rest) == 2 and all(type(r) is str for r in rest):
        return complex(float(rest[0]), float(rest[1]))
    if tag == "s" and len(rest) == 1 and type(rest[0]) is str:
        return rest[0]
    if tag == "y" and len(rest) == 1 and type(rest[0]) is str:
        return bytes.fromhex(rest[0])
    if tag in ("l", "t", "S", "F") and len(rest) == 1 and type(rest[0]) is list:
        items = [decode(item, depth + 1) for item in rest[0]]
        return {"l": list, "t": tuple, "S": set, "F": frozenset}[tag](items)
    if tag == "d" and len(rest) == 1 and type(rest[0]) is list:
        out = {}
        for pair in rest[0]:
            if type(pair) is not list or len(pair) != 2:
                raise CandidateProtocolError("malformed dict")
            out[decode(pair[0], depth + 1)] = decode(pair[1], depth + 1)
        return out
    raise CandidateProtocolError(f"unknown value tag {tag[:20]!r}")


def send(stream: IO[bytes], message: list[Any]) -> None:
    stream.write(json.dumps(message, allow_nan=False).encode("utf-8") + b"\n")
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    line = stream.readline(MAX_MESSAGE + 1)
    if not line:
        raise CandidateGone("the generated code's process ended before the tests finished")
    if len(line) > MAX_MESSAGE or not line.endswith(b"\n"):
        raise CandidateProtocolError(f"an answer longer than {MAX_MESSAGE} bytes")
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        raise CandidateProtocolError("an answer that is not JSON") from None


# ---- limits (set before any untrusted or test code runs; hard = soft, so they stay) -------

def set_limits(cfg: dict[str, Any]) -> None:
    cpu = int(cfg["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))          # SIGXCPU, then SIGKILL
    mem = int(cfg["memory_mb"]) * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))           # MemoryError past it
    except (ValueError, OSError):                                    # macOS does not enforce RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
    out = int(cfg["output_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))            # EFBIG (CPython ignores SIGXFSZ)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    # Counted per user in the sandbox's own user namespace; enforced because the sandbox
    # holds no capability in the host's namespace (unconfined, as root, Linux ignores it).
    resource.setrlimit(resource.RLIMIT_NPROC, (NPROC_LIMIT, NPROC_LIMIT))


# ---- candidate role -------------------------------------------------------------------------

def describe_raised(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "memory limit exceeded"
    if isinstance(exc, RecursionError):
        return "recursion too deep"
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return "output limit exceeded (file too large)"
    return str(exc)[:200]


def describe_load_failure(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"syntax error in the generated code: {exc.msg} (line {exc.lineno})"
    if isinstance(exc, SystemExit):
        return "the code called exit() before the tests finished"
    return f"the generated code failed on import: {type(exc).__name__}: {describe_raised(exc)}"[:300]


def serve_candidate(cfg: dict[str, Any], requests: IO[bytes], answers: IO[bytes]) -> None:
    exposed: list[str] = cfg["exposed"]       # the entry point first
    namespace: dict[str, Any] = {"__name__": "__candidate__", "__builtins__": builtins}
    try:
        exec(compile(cfg["source"], "solution.py", "exec"), namespace)
    except BaseException as exc:      # anything the generated code throws is its failure
        send(answers, ["load_error", describe_load_failure(exc)])
        return
    if not callable(namespace.get(exposed[0])):
        send(answers, ["load_error", f"the code does not define {exposed[0]}()"])
        return
    served = {name: namespace[name] for name in exposed if callable(namespace.get(name))}
    send(answers, ["ready", list(served)])
    main_pid = os.getpid()
    while True:
        try:
            request = receive(requests)
        except CandidateGone:          # the judge is done
            return
        name, args, kwargs = request[1], decode(request[2]), decode(request[3])
        try:
            if name not in served:
                raise NameError(f"{str(name)[:60]} is not exposed to the tests")
            result = served[name](*args, **kwargs)
        except BaseException as exc:
            reply: list[Any] = ["raised", type(exc).__name__, describe_raised(exc)]
        else:
            try:
                reply = ["ok", encode(result)]
            except (NotPlainData, ValueError, RecursionError) as exc:
                reply = ["not_data", f"{name}() returned something that is not plain data ({exc})"[:300]]
        if os.getpid() != main_pid:    # a fork that returned here: only the first process answers
            os._exit(0)
        send(answers, reply)


# ---- judge role ------------------------------------------------------------------------------

class Link:
    """The judge's end of the candidate's pipes: one call, one answer, in order."""

    def __init__(self, requests: IO[bytes], answers: IO[bytes]) -> None:
        self.requests, self.answers = requests, answers

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            message = ["call", name, encode(args), encode(kwargs)]
        except NotPlainData as exc:
            raise TypeError(f"the tests pass {exc.args[0]} to {name}(); only plain data crosses "
                            f"the sandbox") from None
        try:
            send(self.requests, message)
        except BrokenPipeError:
            raise CandidateGone("the generated code's process ended before the tests finished") from None
        reply = receive(self.answers)
        if type(reply) is not list or not reply:
            raise CandidateProtocolError("malformed answer")
        if reply[0] == "ok" and len(reply) == 2:
            return decode(reply[1])
        if reply[0] == "raised" and len(reply) == 3 and all(type(r) is str for r in reply[1:]):
            raise candidate_exception(reply[1], reply[2])
        if reply[0] == "not_data" and len(reply) == 2 and type(reply[1]) is str:
            raise CandidateProtocolError(reply[1])
        raise CandidateProtocolError("malformed answer")

    def proxy(self, name: str) -> Callable[..., Any]:
        def call_candidate(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, args, kwargs)
        call_candidate.__name__ = name
        return call_candidate


def candidate_exception(type_name: str, message: str) -> BaseException:
    """The candidate's exception rebuilt as the builtin type of that name (so a test that
    expects ValueError still sees one), marked as coming from the generated code."""
    kind = getattr(builtins, type_name, None)
    if not (isinstance(kind, type) and issubclass(kind, BaseException)):
        kind = RuntimeError
    try:
        exc = kind(message)
    except Exception:
        exc = RuntimeError(message)
    exc.from_candidate = type_name[:60]  # type: ignore[attr-defined]
    return exc


def describe_failure(exc: BaseException, tests_file: str) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    test_frames = [f for f in frames if f.filename == tests_file]
    where = f" at tests line {test_frames[-1].lineno}" if test_frames else ""
    origin = getattr(exc, "from_candidate", None)
    if isinstance(exc, SyntaxError) and exc.filename == tests_file:
        return f"syntax error in the tests: {exc.msg} (line {exc.lineno})"
    if origin == "SystemExit":
        return "the code called exit() before the tests finished"
    if origin is not None:
        return f"the generated code raised {origin}{where}: {exc}"[:300]
    if isinstance(exc, (CandidateGone, CandidateProtocolError)):
        return f"{exc}{where}"[:300]
    if isinstance(exc, AssertionError):
        text = test_frames[-1].line if test_frames and test_frames[-1].line else str(exc)
        return f"a unit test failed{where}: {text}"[:300]
    return f"{type(exc).__name__}{where}: {exc}"[:300]


def judge(cfg: dict[str, Any], requests: IO[bytes], answers: IO[bytes]) -> tuple[bool, str | None, bool]:
    """(passed, reason, candidate_gone)."""
    link = Link(requests, answers)
    tests_file = "tests.py"
    try:
        hello = receive(answers)
        if type(hello) is list and len(hello) == 2 and hello[0] == "load_error" and type(hello[1]) is str:
            return False, hello[1][:300], False
        if not (type(hello) is list and len(hello) == 2 and hello[0] == "ready" and type(hello[1]) is list):
            raise CandidateProtocolError("the generated code's process sent no greeting")
        namespace: dict[str, Any] = {"__name__": "__tests__", "__builtins__": builtins}
        if cfg["helpers"]:            # the task's prompt (trusted): its helpers are the task's own
            exec(compile(cfg["helpers"], "prompt.py", "exec"), namespace)
        # Only what the parent exposed, and only if the candidate has it: never a name the answer chose.
        namespace.update({name: link.proxy(name) for name in cfg["exposed"] if name in hello[1]})
        entry = link.proxy(cfg["entry_point"])
        namespace[cfg["entry_point"]] = entry
        source = cfg["source"]
        # So a failed assert's reason can quote its line (the file itself is not in the sandbox).
        linecache.cache[tests_file] = (len(source), None, source.splitlines(True), tests_file)
        exec(compile(source, tests_file, "exec"), namespace)
        if callable(namespace.get("check")):
            namespace["check"](entry)
    except CandidateGone as exc:
        return False, describe_failure(exc, tests_file), True
    except BaseException as exc:      # a failed assert, or anything else: not a pass
        return False, describe_failure(exc, tests_file), False
    return True, None, False


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    set_limits(cfg)
    requests = os.fdopen(cfg["fd_requests"], "wb" if cfg["role"] == "judge" else "rb")
    answers = os.fdopen(cfg["fd_answers"], "rb" if cfg["role"] == "judge" else "wb")
    if cfg["role"] == "candidate":
        serve_candidate(cfg, requests, answers)
        return
    passed, reason, gone = judge(cfg, requests, answers)
    verdict = json.dumps({"passed": passed, "reason": reason, "candidate_gone": gone})
    os.write(cfg["fd_verdict"], verdict.encode("utf-8", "replace") + b"\n")


if __name__ == "__main__":
    main()
