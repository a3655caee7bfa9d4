"""python_tests: generated code against unit tests, in a limited child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.quality import score_answer
from slm_energy_plugin.quality.python_tests import SandboxLimits, build_program, score_python

PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"
# Small limits keep the test suite fast; the defaults are cpu 5 s, wall 10 s.
FAST = SandboxLimits(cpu_s=1, wall_s=2.0, memory_mb=256, output_bytes=64_000)


def run(body: str, **kwargs) -> object:
    return score_python(body, TESTS, entry_point="add", prompt=PROMPT, limits=FAST, **kwargs)


def test_completion_and_full_function_pass():
    assert run("    return a + b\n").correct
    assert run("Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nEnjoy.").correct
    assert run("<think>easy</think>\ndef add(a, b):\n    return b + a\n").correct


def test_helpers_in_the_prompt_stay_available():
    prompt = "import math\n\n\ndef add(a, b):\n    \"\"\"Add.\"\"\"\n"
    result = score_python("def add(a, b):\n    return int(math.fsum([a, b]))\n", TESTS,
                          entry_point="add", prompt=prompt, limits=FAST)
    assert result.correct


def test_completion_is_cut_at_humaneval_stop_sequences():
    program, _ = build_program("    return a + b\n\nprint('side effect')\n", PROMPT, "add")
    assert program is not None and "print" not in program


def test_wrong_code_names_the_failing_assert():
    result = run("    return a - b\n")
    assert result.score == 0.0 and "a unit test failed at tests line 2: assert candidate(1, 2) == 3" in result.reason


def test_syntax_error_and_missing_function():
    assert "syntax error in the generated code" in run("    return a +\n").reason
    result = score_python("def plus(a, b):\n    return a + b\n", TESTS, entry_point="add", prompt="", limits=FAST)
    assert result.reason == "the code does not define add()"


def test_unfinished_reasoning_has_no_code():
    assert "unfinished <think>" in run("<think>let me write the function").reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("    while True:\n        pass\n", "CPU time limit of 1 s exceeded"),
        ("    import time\n    time.sleep(60)\n", "timed out after 2 s wall clock"),
        ("    import os\n    while True:\n        os.fork()\n", "sandbox: os.fork is not allowed"),
        ("    import multiprocessing\n    return a + b\n", "sandbox: import of multiprocessing is not allowed"),
        ("    import subprocess\n    subprocess.run(['ls'])\n", "sandbox: import of subprocess is not allowed"),
        ("    import os\n    os.system('echo hi')\n", "sandbox: os.system is not allowed"),
        ("    import os\n    os.kill(os.getppid(), 9)\n", "sandbox: os.kill is not allowed"),
        ("    import socket\n", "sandbox: import of socket is not allowed"),
        ("    import ctypes\n", "sandbox: import of ctypes is not allowed"),
        ("    while True:\n        print('spam' * 100)\n", "output limit of 64000 bytes exceeded"),
        ("    x = 'x' * (10 ** 10)\n", "memory limit exceeded"),
        ("    return add(a, b)\n", "recursion too deep"),
        ("    return open('/etc/hostname').read()\n", "sandbox: reading /etc/hostname"),
        ("    import os\n    return os.listdir('/')\n", "sandbox: os.listdir on /"),
        ("import sys\nsys.exit(0)\n", "the code called exit() before the tests finished"),
        ("    return a + b\nimport os\nos._exit(0)\n", "exited before the tests finished"),
    ],
    ids=["infinite-loop", "sleep", "fork-bomb", "multiprocessing", "subprocess", "os-system", "kill-parent",
         "socket", "ctypes", "huge-print", "memory-bomb", "recursion", "read-etc", "list-root", "sys-exit",
         "os-exit"],
)
def test_hostile_or_runaway_code_scores_zero_with_a_reason(body, reason):
    result = run(body)
    assert result.score == 0.0 and not result.correct
    assert reason in result.reason, result.reason


def test_reading_a_file_outside_the_sandbox_leaks_nothing(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    result = run(f"    print(open({str(secret)!r}).read())\n    return a + b\n")
    assert result.score == 0.0 and "outside the sandbox folder" in result.reason
    assert "TOP-SECRET-TOKEN" not in str(result.to_dict())


def test_writing_or_deleting_outside_is_stopped(tmp_path: Path):
    target = tmp_path / "written.txt"
    result = run(f"    open({str(target)!r}, 'w').write('x')\n    return a + b\n")
    assert result.score == 0.0 and "writing" in result.reason and not target.exists()
    keep = tmp_path / "keep.txt"
    keep.write_text("keep me")
    result = run(f"    import os\n    os.remove({str(keep)!r})\n    return a + b\n")
    assert result.score == 0.0 and "os.remove" in result.reason and keep.read_text() == "keep me"


def test_files_inside_the_sandbox_folder_are_fine():
    assert run("    open('scratch.txt', 'w').write('ok')\n    return a + int(open('scratch.txt').read() == 'ok') * b\n").correct


def test_limits_are_validated_and_entry_point_required():
    with pytest.raises(ConfigError):
        SandboxLimits(cpu_s=0)
    with pytest.raises(ConfigError):
        score_python("x", TESTS, entry_point="not valid")
    with pytest.raises(ConfigError, match="entry_point"):
        score_answer("x", TESTS, kind="python_tests")


def test_dispatch():
    result = score_answer("    return a + b\n", TESTS, kind="python_tests", entry_point="add", prompt=PROMPT,
                          limits=FAST)
    assert result.correct and result.kind == "python_tests"
