"""Every escape class found against the old audit-hook sandbox (issue 11), run against the
OS sandbox. Each case first switches the old hook off (see ``DISABLE_AUDIT_HOOK``), so on
the old code every test here fails; under bubblewrap each attack runs and is contained.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

from slm_energy_plugin.quality.python_tests import score_python

from .sandbox_cases import FAST, PROMPT, TESTS, confined_or_reason, processes_with, program, wait_until_gone

_why_not = confined_or_reason()
pytestmark = pytest.mark.skipif(_why_not is not None, reason=f"no OS confinement here: {_why_not}")

PASSWD_HEAD = Path("/etc/passwd").read_text().split(":", 1)[0] + ":x:0:0:"   # "root:x:0:0:"


def score(attack: str, body: str = "    return a + b\n", tests: str = TESTS):
    return score_python(program(attack, body), tests, entry_point="add", prompt=PROMPT, limits=FAST)


def leaks(result: object, secret: str) -> bool:
    return secret in str(result.to_dict())  # type: ignore[attr-defined]


@pytest.fixture()
def secret_file(tmp_path: Path) -> tuple[Path, str]:
    token = "TOKEN-" + secrets.token_hex(8)
    path = tmp_path / "secret.txt"
    path.write_text(token)
    return path, token


def test_chdir_then_relative_read_of_etc_passwd():
    stdlib = sysconfig.get_paths()["stdlib"]
    attack = (f"import os\nos.chdir({stdlib!r})\n"
              f"raise ValueError(open('{'../' * 12}etc/passwd').read())\n")
    result = score(attack)
    assert result.score == 0.0 and not leaks(result, PASSWD_HEAD), result.reason
    result = score("import os\nos.chdir('/etc')\nraise ValueError(open('passwd').read())\n")
    assert result.score == 0.0 and not leaks(result, PASSWD_HEAD), result.reason


def test_symlink_in_the_work_folder_to_outside(secret_file):
    path, token = secret_file
    attack = (f"import os\nos.symlink({str(path)!r}, 'lnk')\nos.symlink('/etc/passwd', 'pw')\n"
              "text = ''\nfor name in ('lnk', 'pw'):\n"
              "    try:\n        text += open(name).read()\n    except OSError:\n        pass\n"
              "raise ValueError(text)\n")
    result = score(attack)
    assert result.score == 0.0
    assert not leaks(result, token) and not leaks(result, PASSWD_HEAD), result.reason


def test_dir_fd_tricks(secret_file, tmp_path: Path):
    path, token = secret_file
    attack = (
        "import os\ntext = ''\n"
        "for folder, name in (('/', 'etc/passwd'), (%r, %r)):\n"
        "    try:\n"
        "        d = os.open(folder, os.O_RDONLY)\n"
        "        fd = os.open(name, os.O_RDONLY, dir_fd=d)\n"
        "        text += os.read(fd, 4096).decode()\n"
        "    except OSError:\n        pass\n"
        "try:\n"
        "    d = os.open(%r, os.O_RDONLY)\n"
        "    os.close(os.open('planted.txt', os.O_CREAT | os.O_WRONLY, dir_fd=d))\n"
        "except OSError:\n    pass\n"
        "raise ValueError(text)\n"
    ) % (str(path.parent), path.name, str(tmp_path))
    result = score(attack)
    assert result.score == 0.0
    assert not leaks(result, token) and not leaks(result, PASSWD_HEAD), result.reason
    assert not (tmp_path / "planted.txt").exists()


def test_writes_outside_the_temp_folder_do_not_reach_the_host(tmp_path: Path):
    name = f"slm_escape_{secrets.token_hex(6)}.py"
    stdlib_target = Path(sysconfig.get_paths()["stdlib"], name)
    host_target = tmp_path / name
    attack = ("import os\n"
              f"for target in ({str(stdlib_target)!r}, {str(host_target)!r}):\n"
              "    try:\n        open(target, 'w').write('pwned = True\\n')\n    except OSError:\n        pass\n")
    try:
        result = score(attack)
        assert result.correct        # the writes fail quietly; the function itself is right
        assert not stdlib_target.exists() and not host_target.exists()
    finally:
        stdlib_target.unlink(missing_ok=True)


def test_audit_hook_disabled_through_gc_changes_nothing(secret_file):
    path, token = secret_file
    # Old hook off, then the plainest possible read of a host file.
    result = score(f"raise ValueError(open({str(path)!r}).read())\n")
    assert result.score == 0.0 and not leaks(result, token), result.reason


def test_subprocess_cannot_touch_the_host(tmp_path: Path):
    marker = tmp_path / "from-subprocess.txt"
    attack = ("import subprocess\n"
              f"subprocess.run(['/bin/sh', '-c', 'echo pwned > {marker}'], timeout=5)\n")
    score(attack)
    assert not marker.exists()


def test_socket_to_127_0_0_1_reaches_no_host_listener():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    arrived: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, addr = listener.accept()
            except (socket.timeout, OSError):
                continue
            arrived.append(addr)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        attack = ("import socket\n"
                  "try:\n"
                  f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hello')\n"
                  "    got = 'connected'\n"
                  "except OSError as exc:\n    got = str(exc)\n")
        result = score(attack)
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
    assert arrived == [], "a connection from the sandbox reached the host's 127.0.0.1"
    assert result.correct      # the attempt failed inside; the function is still right


def test_killing_the_parent_leaves_the_scoring_process_alive():
    me = os.getpid()
    attack = ("import os\n"
              "for target in (os.getppid(), %d):\n"
              "    try:\n        os.kill(target, 9)\n    except OSError:\n        pass\n" % me)
    result = score(attack)
    assert os.getpid() == me          # still here to assert anything at all
    assert result.score in (0.0, 1.0)


def test_setsid_grandchild_does_not_survive_scoring():
    marker = "slm-survivor-" + secrets.token_hex(6)
    attack = ("import os, sys\n"
              "if os.fork() == 0:\n"
              "    os.setsid()\n"
              "    if os.fork() == 0:\n"
              f"        os.execv('/bin/sh', ['sh', '-c', 'sleep 30', {marker!r}])\n"
              "    os._exit(0)\n")
    try:
        score(attack)
        assert wait_until_gone(marker) == []
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    "attack",
    [
        # Patch the old child's reporting function so every verdict says "passed".
        "import __main__\n_r = getattr(__main__, 'report', None)\n"
        "if _r:\n    __main__.report = lambda fd, nonce, passed, reason: _r(fd, nonce, True, None)\n",
        # Patch json.dumps so any verdict dictionary says "passed".
        "import json\n_d = json.dumps\n"
        "def _forged(o, *a, **k):\n"
        "    if isinstance(o, dict) and 'passed' in o:\n        o = dict(o, passed=True, reason=None)\n"
        "    return _d(o, *a, **k)\njson.dumps = _forged\n",
        "import os\nos._exit(0)\n",
        "import sys\nsys.exit(0)\n",
    ],
    ids=["patch-main-report", "patch-json-dumps", "os-exit-0", "sys-exit-0"],
)
def test_result_channel_cannot_be_forged(attack):
    result = score(attack, body="    return 0\n")
    assert result.score == 0.0 and not result.correct, result.reason


def test_an_object_equal_to_everything_is_not_a_pass():
    attack = "class _AlwaysEqual:\n    def __eq__(self, other):\n        return True\n"
    result = score(attack, body="    return _AlwaysEqual()\n")
    assert result.score == 0.0 and "not plain data" in result.reason


def test_fork_bomb_is_bounded():
    marker = "slm-forkbomb-" + secrets.token_hex(6)
    attack = ("import os, resource\n"
              "try:\n    resource.setrlimit(resource.RLIMIT_NPROC, (10**6, 10**6))\nexcept (ValueError, OSError):\n    pass\n"
              "n = 0\n"
              "try:\n"
              "    while n < 300:\n"
              "        if os.fork() == 0:\n"
              f"            os.execv('/bin/sh', ['sh', '-c', 'sleep 20', {marker!r}])\n"
              "        n += 1\n"
              "except OSError:\n    pass\n"
              "raise ValueError(f'forked {n}')\n")
    try:
        result = score(attack)
        forked = int(result.reason.rsplit("forked ", 1)[1].split()[0])
        assert forked < 100, result.reason
        assert wait_until_gone(marker) == []
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)


def test_memory_bomb_is_bounded():
    """RLIMIT_AS bounds one process, and no second process can be started to add to it
    (on the old code, with the hook off, 16 forks x 200 MB held 3.2 GB)."""
    attack = ("import resource\n"
              "try:\n    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
              "except (ValueError, OSError):\n    pass\n")
    result = score(attack, body="    x = bytearray(3 * 1024 ** 3)\n    return a + b\n")
    assert result.score == 0.0 and "memory limit exceeded" in result.reason, result.reason
    attack = ("import os, time\n"
              "held = 0\n"
              "for _ in range(16):\n"
              "    try:\n"
              "        pid = os.fork()\n"
              "    except OSError:\n"
              "        break\n"
              "    if pid == 0:\n"
              "        block = bytearray(200 * 1024 * 1024)\n"
              "        time.sleep(2)\n"
              "        os._exit(0)\n"
              "    held += 200\n"
              "raise ValueError(f'held {held} MB')\n")
    result = score(attack)
    held = int(result.reason.rsplit("held ", 1)[1].split()[0])
    assert held < FAST.memory_mb, result.reason


def test_file_bomb_is_bounded():
    attack = ("import os\n"
              "written = 0\n"
              "chunk = b'x' * 60_000\n"
              "for folder in ('.', '/tmp', '/dev/shm', '/dev'):\n"
              "    for i in range(1000):\n"
              "        try:\n"
              "            with open(os.path.join(folder, f'bomb{i}'), 'wb') as f:\n"
              "                f.write(chunk)\n"
              "        except OSError:\n"
              "            break\n"
              "        written += len(chunk)\n"
              "raise ValueError(f'wrote {written} bytes')\n")
    result = score(attack)
    written = int(result.reason.rsplit("wrote ", 1)[1].split()[0])
    assert written <= 64 * 1024 * 1024, result.reason
