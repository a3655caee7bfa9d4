"""python_tests: generated code against unit tests, in OS-confined child processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.quality import score_answer
from slm_energy_plugin.quality.python_tests import SandboxLimits, build_program, score_python

from .sandbox_cases import FAST, PROMPT, TESTS, confined_or_reason

_why_not = confined_or_reason()
needs_confinement = pytest.mark.skipif(_why_not is not None, reason=f"no OS confinement here: {_why_not}")


def run(body: str, **kwargs) -> object:
    return score_python(body, TESTS, entry_point="add", prompt=PROMPT, limits=FAST, **kwargs)


@needs_confinement
def test_completion_and_full_function_pass():
    assert run("    return a + b\n").correct
    assert run("Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nEnjoy.").correct
    assert run("<think>easy</think>\ndef add(a, b):\n    return b + a\n").correct


@needs_confinement
def test_helpers_in_the_prompt_stay_available():
    prompt = "import math\n\n\ndef add(a, b):\n    \"\"\"Add.\"\"\"\n"
    result = score_python("def add(a, b):\n    return int(math.fsum([a, b]))\n", TESTS,
                          entry_point="add", prompt=prompt, limits=FAST)
    assert result.correct


def test_completion_is_cut_at_humaneval_stop_sequences():
    program, _ = build_program("    return a + b\n\nprint('side effect')\n", PROMPT, "add")
    assert program is not None and "print" not in program


@needs_confinement
def test_wrong_code_names_the_failing_assert():
    result = run("    return a - b\n")
    assert result.score == 0.0 and "a unit test failed at tests line 2: assert candidate(1, 2) == 3" in result.reason


@needs_confinement
def test_syntax_error_and_missing_function():
    assert "syntax error in the generated code" in run("    return a +\n").reason
    result = score_python("def plus(a, b):\n    return a + b\n", TESTS, entry_point="add", prompt="", limits=FAST)
    assert result.reason == "the code does not define add()"


def test_unfinished_reasoning_has_no_code():
    assert "unfinished <think>" in run("<think>let me write the function").reason


@needs_confinement
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("    while True:\n        pass\n", "CPU time limit of 1 s exceeded"),
        ("    import time\n    time.sleep(60)\n", "timed out after 8 s wall clock"),
        ("    import os\n    while True:\n        os.fork()\n", "BlockingIOError"),
        ("    import subprocess\n    subprocess.run(['ls'])\n", "BlockingIOError"),
        ("    import os\n    return os.system('echo hi')\n", "a unit test failed"),
        ("    import socket\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n",
         "ConnectionRefusedError"),
        ("    import ctypes\n    return ctypes.CDLL(None).getpid() * 0 + a + b + 1\n", "a unit test failed"),
        ("    while True:\n        print('spam' * 100)\n", "output limit of 64000 bytes exceeded"),
        ("    x = 'x' * (10 ** 10)\n", "memory limit exceeded"),
        ("    return add(a, b)\n", "recursion too deep"),
        ("    return open('/etc/hostname').read()\n", "FileNotFoundError"),
        ("    import os\n    raise ValueError(sorted(os.listdir('/')))\n",
         "['bin', 'dev', 'lib', 'lib64', 'proc', 'root', 'sandbox', 'sbin', 'tmp', 'usr']"),
        ("import sys\nsys.exit(0)\n", "the code called exit() before the tests finished"),
        ("    import sys\n    sys.exit(0)\n", "the code called exit() before the tests finished"),
        ("    return a + b\nimport os\nos._exit(0)\n", "process ended before the tests finished"),
        ("    return a + b\nimport os\nos.kill(os.getpid(), 9)\n", "killed by SIGKILL"),
    ],
    ids=["infinite-loop", "sleep", "fork-bomb", "subprocess", "os-system", "socket", "ctypes", "huge-print",
         "memory-bomb", "recursion", "read-etc", "list-root", "sys-exit", "sys-exit-in-call", "os-exit",
         "self-kill"],
)
def test_hostile_or_runaway_code_scores_zero_with_a_reason(body, reason):
    result = run(body)
    assert result.score == 0.0 and not result.correct
    assert reason in result.reason, result.reason


@needs_confinement
def test_reading_a_file_outside_the_sandbox_leaks_nothing(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    result = run(f"    print(open({str(secret)!r}).read())\n    return a + b\n")
    assert result.score == 0.0 and "FileNotFoundError" in result.reason
    assert "TOP-SECRET-TOKEN" not in str(result.to_dict())


@needs_confinement
def test_writing_or_deleting_outside_is_stopped(tmp_path: Path):
    target = tmp_path / "written.txt"
    result = run(f"    open({str(target)!r}, 'w').write('x')\n    return a + b\n")
    assert result.score == 0.0 and "FileNotFoundError" in result.reason and not target.exists()
    keep = tmp_path / "keep.txt"
    keep.write_text("keep me")
    result = run(f"    import os\n    os.remove({str(keep)!r})\n    return a + b\n")
    assert result.score == 0.0 and "FileNotFoundError" in result.reason and keep.read_text() == "keep me"


@needs_confinement
def test_files_inside_the_sandbox_folder_are_fine():
    assert run("    open('scratch.txt', 'w').write('ok')\n    return a + int(open('scratch.txt').read() == 'ok') * b\n").correct


@needs_confinement
@pytest.mark.parametrize(
    ("returned", "tests"),
    [
        ("(1, 'x', None, 2.5, True, b'\\x00', {1: [2, {3}]}, frozenset({4}), 1j)",
         "def check(c):\n    assert c(1, 2) == (1, 'x', None, 2.5, True, b'\\x00', {1: [2, {3}]}, frozenset({4}), 1j)\n"
         "    assert type(c(1, 2)[0]) is int and c(1, 2)[4] is True and c(1, 2)[2] is None\n"),
        ("float('nan')", "import math\ndef check(c):\n    assert math.isnan(c(1, 2))\n"),
        ("[float('inf'), -0.0]", "def check(c):\n    assert c(1, 2) == [float('inf'), 0.0]\n"),
    ],
    ids=["containers", "nan", "inf"],
)
def test_plain_data_crosses_exactly(returned, tests):
    result = score_python(f"def add(a, b):\n    return {returned}\n", tests, entry_point="add", limits=FAST)
    assert result.correct, result.reason


@needs_confinement
def test_exceptions_keep_their_builtin_type_for_the_tests():
    tests = "def check(c):\n    try:\n        c(1, 0)\n    except ZeroDivisionError:\n        return\n    assert False\n"
    assert score_python("def add(a, b):\n    return a / b\n", tests, entry_point="add", limits=FAST).correct


@needs_confinement
def test_tests_that_pass_functions_state_the_limit():
    tests = "def check(c):\n    assert c(len, 2) == 2\n"
    result = score_python("def add(a, b):\n    return a(b)\n", tests, entry_point="add", limits=FAST)
    assert not result.correct and "only plain data crosses the sandbox" in result.reason


@needs_confinement
def test_helpers_defined_by_the_prompt_are_callable_from_the_tests():
    prompt = "def encode(s):\n    return s[::-1]\n\n\ndef decode(s):\n"
    tests = "def check(c):\n    assert c(encode('abc')) == 'abc'\n"
    assert score_python("    return s[::-1]\n", tests, entry_point="decode", prompt=prompt, limits=FAST).correct


def test_no_confinement_means_refusal_unless_opted_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("SLM_ENERGY_BWRAP", str(tmp_path / "no-bwrap-here"))
    monkeypatch.delenv("SLM_ENERGY_ALLOW_UNCONFINED_CODE", raising=False)
    with pytest.raises(ConfigError) as excinfo:
        run("    return a + b\n")
    message = str(excinfo.value)
    assert "\n" not in message and "refusing to run generated code without OS confinement" in message
    assert "SLM_ENERGY_ALLOW_UNCONFINED_CODE=1" in message
    monkeypatch.setenv("SLM_ENERGY_ALLOW_UNCONFINED_CODE", "1")
    assert run("    return a + b\n").correct
    assert not run("    return a - b\n").correct


def test_limits_are_validated_and_entry_point_required():
    with pytest.raises(ConfigError):
        SandboxLimits(cpu_s=0)
    with pytest.raises(ConfigError):
        score_python("x", TESTS, entry_point="not valid")
    with pytest.raises(ConfigError, match="entry_point"):
        score_answer("x", TESTS, kind="python_tests")


@needs_confinement
def test_dispatch():
    result = score_answer("    return a + b\n", TESTS, kind="python_tests", entry_point="add", prompt=PROMPT,
                          limits=FAST)
    assert result.correct and result.kind == "python_tests"
