"""Child side of the python_tests sandbox: runs as ``python -I -S _sandbox_child.py CONFIG``.

Standard library only (site-packages are off). Order matters: limits first, then read the
sources and the nonce, then install the audit hook, then run untrusted code. See
:mod:`slm_energy_plugin.quality.python_tests` for what this does and does not stop.
"""

import errno
import json
import os
import resource
import sys
import traceback

VIOLATION_EXIT = 86
RESULT_MARK = "SANDBOX-RESULT"
VIOLATION_MARK = "SANDBOX-VIOLATION"

# Events that end the run at once: new processes, signals to others, sockets, native code,
# raising our own limits.
BLOCKED_EVENTS = frozenset({
    "os.system", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.startfile",
    "pty.spawn", "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill",
    "resource.setrlimit", "resource.prlimit", "webbrowser.open", "os.add_dll_directory",
})
BLOCKED_PREFIXES = ("socket.", "ctypes.", "_ctypes.", "cffi.")
BLOCKED_IMPORTS = frozenset({"ctypes", "_ctypes", "cffi", "_posixsubprocess", "subprocess", "socket",
                             "_socket", "multiprocessing", "_multiprocessing", "pty"})
# Events whose path arguments must lie in the work folder (they change the file system).
WRITE_PATH_EVENTS = {
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.replace": (0, 1),
    "os.link": (0, 1), "os.symlink": (0, 1), "os.chmod": (0,), "os.chown": (0,), "os.truncate": (0,),
    "os.utime": (0,), "os.chflags": (0,), "os.lchflags": (0,), "os.setxattr": (0,),
    "os.removexattr": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,), "shutil.copymode": (1,),
    "shutil.copystat": (1,), "shutil.move": (0, 1), "shutil.chown": (0,),
}
# Events whose path arguments must be readable under the rules (work folder or stdlib).
READ_PATH_EVENTS = {"os.listdir": (0,), "os.scandir": (0,), "glob.glob": (0,), "os.chdir": (0,),
                    "os.getxattr": (0,), "os.listxattr": (0,), "shutil.copyfile": (0,)}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def set_limits(cfg):
    cpu = int(cfg["cpu_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))          # SIGXCPU, then SIGKILL
    mem = int(cfg["memory_mb"]) * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))           # MemoryError past it
    except (ValueError, OSError):                                    # macOS does not enforce RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
    out = int(cfg["output_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))            # SIGXFSZ on a huge print
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))            # no forks (ignored for root)
    except (ValueError, OSError):
        pass


def make_hook(work, read_roots, nonce, result_fd):
    busy = [False]

    def real(path, base=work):
        if isinstance(path, int):
            return None
        path = os.fsdecode(os.fspath(path))
        return os.path.realpath(os.path.join(base, path))

    def inside(path, roots):
        return path is not None and any(path == r or path.startswith(r + os.sep) for r in roots)

    def violation(what):
        os.write(result_fd, f"\n{VIOLATION_MARK} {nonce} {what}\n".encode("utf-8", "replace"))
        os._exit(VIOLATION_EXIT)

    def hook(event, args):
        if busy[0]:
            return
        busy[0] = True
        try:
            if event in BLOCKED_EVENTS or event.startswith(BLOCKED_PREFIXES):
                violation(f"{event} is not allowed")
            if event == "import" and args and str(args[0]).split(".")[0] in BLOCKED_IMPORTS:
                violation(f"import of {args[0]} is not allowed")
            if event == "open":
                path, mode, flags = (list(args) + [None, None, None])[:3]
                target = real(path)
                if target is None:
                    return
                writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                          (mode is None and isinstance(flags, int) and flags & WRITE_FLAGS)
                if writing and not inside(target, [work]):
                    violation(f"writing {target} (outside the sandbox folder) is not allowed")
                if not writing and not inside(target, read_roots) and target != os.devnull:
                    violation(f"reading {target} (outside the sandbox folder) is not allowed")
            elif event in WRITE_PATH_EVENTS:
                for i in WRITE_PATH_EVENTS[event]:
                    if i < len(args) and args[i] is not None:
                        target = real(args[i])
                        if target is not None and not inside(target, [work]):
                            violation(f"{event} on {target} (outside the sandbox folder) is not allowed")
            if event in READ_PATH_EVENTS:
                for i in READ_PATH_EVENTS[event]:
                    if i < len(args) and args[i] is not None:
                        target = real(args[i])
                        if target is not None and not inside(target, read_roots):
                            violation(f"{event} on {target} (outside the sandbox folder) is not allowed")
        finally:
            busy[0] = False

    return hook


def report(result_fd, nonce, passed, reason):
    # A pipe, not stdout: RLIMIT_FSIZE may have filled the output files (CPython ignores
    # SIGXFSZ, so a flood of prints ends in OSError EFBIG rather than a signal).
    line = f"\n{RESULT_MARK} {nonce} {json.dumps({'passed': passed, 'reason': reason})}\n"
    os.write(result_fd, line.encode("utf-8", "replace"))


def describe_failure(exc, tests_path):
    if isinstance(exc, SyntaxError):
        where = "the tests" if exc.filename == tests_path else "the generated code"
        return f"syntax error in {where}: {exc.msg} (line {exc.lineno})"
    if isinstance(exc, MemoryError):
        return "memory limit exceeded (MemoryError)"
    if isinstance(exc, RecursionError):
        return "recursion too deep (RecursionError)"
    if isinstance(exc, SystemExit):
        return "the code called exit() before the tests finished"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return "output limit exceeded (file too large)"
    frames = traceback.extract_tb(exc.__traceback__)
    test_frames = [f for f in frames if f.filename == tests_path]
    where = f" at tests line {test_frames[-1].lineno}" if test_frames else ""
    if isinstance(exc, AssertionError):
        text = test_frames[-1].line if test_frames and test_frames[-1].line else str(exc)
        return f"a unit test failed{where}: {text}"[:300]
    return f"{type(exc).__name__}{where}: {exc}"[:300]


def main():
    cfg = json.loads(sys.argv[1])
    set_limits(cfg)
    work = os.path.realpath(os.getcwd())
    nonce = sys.stdin.readline().strip()
    sys.stdin.close()
    solution_path = os.path.join(work, "solution.py")
    tests_path = os.path.join(work, "tests.py")
    with open(solution_path, encoding="utf-8") as f:
        solution = f.read()
    with open(tests_path, encoding="utf-8") as f:
        tests = f.read()
    result_fd = int(cfg["result_fd"])
    # Tracebacks read this file (linecache), so it is readable too.
    read_roots = [work, os.path.realpath(__file__)]
    read_roots += [os.path.realpath(p) for p in sys.path if p and os.path.exists(p)]
    entry_point = cfg["entry_point"]
    # Modules the tests may need, loaded before the hook so imports of them cost nothing later.
    import math, re, string, collections, itertools, functools, heapq, bisect, typing, hashlib  # noqa: F401
    sys.addaudithook(make_hook(work, read_roots, nonce, result_fd))
    namespace = {"__name__": "__candidate__", "__builtins__": __builtins__}
    try:
        exec(compile(solution, solution_path, "exec"), namespace)
        if entry_point not in namespace or not callable(namespace[entry_point]):
            report(result_fd, nonce, False, f"the code does not define {entry_point}()")
            return
        exec(compile(tests, tests_path, "exec"), namespace)
        if callable(namespace.get("check")):
            namespace["check"](namespace[entry_point])
    except BaseException as exc:  # everything the untrusted code can throw is a failed test
        report(result_fd, nonce, False, describe_failure(exc, tests_path))
        return
    report(result_fd, nonce, True, None)


if __name__ == "__main__":
    main()
