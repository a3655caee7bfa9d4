"""Forged passes by shadowing (issue 20): the tests see the entry point and the prompt's own
helpers, never a name the answer chose. Each answer below is wrong and, on the old judge
(every callable of the answer injected into the tests' globals), scored as a pass.
"""

from __future__ import annotations

import pytest

from slm_energy_plugin.quality.datasets import builtin_code_tasks
from slm_energy_plugin.quality.python_tests import judge_names, score_python

from .sandbox_cases import FAST, confined_or_reason

_why_not = confined_or_reason()
needs_confinement = pytest.mark.skipif(_why_not is not None, reason=f"no OS confinement here: {_why_not}")

TASKS = {task.entry_point: task for task in builtin_code_tasks()}

# HumanEval/53 and HumanEval/32, literally (openai/human-eval, data/HumanEval.jsonl.gz).
HUMANEVAL_53_PROMPT = '''

def add(x: int, y: int):
    """Add two numbers x and y
    >>> add(2, 3)
    5
    >>> add(5, 7)
    12
    """
'''
HUMANEVAL_53_TEST = '''

METADATA = {}


def check(candidate):
    import random

    assert candidate(0, 1) == 1
    assert candidate(1, 0) == 1
    assert candidate(2, 3) == 5
    assert candidate(5, 7) == 12
    assert candidate(7, 5) == 12

    for i in range(100):
        x, y = random.randint(0, 1000), random.randint(0, 1000)
        assert candidate(x, y) == x + y

'''
HUMANEVAL_32_PROMPT = '''import math


def poly(xs: list, x: float):
    """
    Evaluates polynomial with coefficients xs at point x.
    return xs[0] + xs[1] * x + xs[1] * x^2 + .... xs[n] * x^n
    """
    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])


def find_zero(xs: list):
    """ xs are coefficients of a polynomial.
    find_zero find x such that poly(x) = 0.
    find_zero returns only only zero point, even if there are many.
    Moreover, find_zero only takes list xs having even number of coefficients
    and largest non zero coefficient as it guarantees
    a solution.
    >>> round(find_zero([1, 2]), 2) # f(x) = 1 + 2x
    -0.5
    >>> round(find_zero([-6, 11, -6, 1]), 2) # (x - 1)(x - 2)(x - 3) = -6 + 11x - 6x^2 + x^3
    1.0
    """
'''
HUMANEVAL_32_TEST = '''

METADATA = {}


def check(candidate):
    import math
    import random
    rng = random.Random(42)
    import copy
    for _ in range(100):
        ncoeff = 2 * rng.randint(1, 4)
        coeffs = []
        for _ in range(ncoeff):
            coeff = rng.randint(-10, 10)
            if coeff == 0:
                coeff = 1
            coeffs.append(coeff)
        solution = candidate(copy.deepcopy(coeffs))
        assert math.fabs(poly(coeffs, solution)) < 1e-4

'''
FIND_ZERO_BISECTION = '''
def find_zero(xs: list):
    begin, end = -1., 1.
    while poly(xs, begin) * poly(xs, end) > 0:
        begin *= 2.0
        end *= 2.0
    while end - begin > 1e-10:
        center = (begin + end) / 2.0
        if poly(xs, center) * poly(xs, begin) > 0:
            begin = center
        else:
            end = center
    return begin
'''


def score_task(entry_point: str, answer: str):
    task = TASKS[entry_point]
    return score_python(answer, task.test, entry_point=entry_point, prompt=task.prompt, limits=FAST)


@needs_confinement
def test_an_answer_that_defines_len_does_not_pass_the_builtin_fizzbuzz_task():
    # Right for the visible cases only; the tests' `len(candidate(100)) == 100` would call this `len`.
    forged = ("def len(x):\n    return 100\n\n\n"
              "def fizzbuzz(n):\n    return {5: ['1', '2', 'Fizz', '4', 'Buzz'], 0: []}.get(n, ['Fizz'] * 9 + "
              "['FizzBuzz'])\n")
    result = score_task("fizzbuzz", forged)
    assert not result.correct
    assert result.reason is not None and "len(candidate(100)) == 100" in result.reason


@needs_confinement
def test_an_answer_that_defines_abs_does_not_pass_the_builtin_celsius_task():
    forged = "def abs(x):\n    return 0\n\n\ndef celsius_to_fahrenheit(celsius):\n    return 0.0\n"
    result = score_task("celsius_to_fahrenheit", forged)
    assert not result.correct and result.reason is not None and "abs(candidate(100)" in result.reason
    # The honest answer still passes.
    assert score_task("celsius_to_fahrenheit", "    return celsius * 9 / 5 + 32\n").correct


@needs_confinement
def test_an_answer_that_defines_range_and_len_passes_no_builtin_task():
    shadows = "def range(*a):\n    return []\n\n\ndef len(x):\n    return 100\n\n\ndef abs(x):\n    return 0\n\n\n"
    for task in TASKS.values():
        forged = f"{shadows}def {task.entry_point}(*args):\n    return None\n"
        result = score_python(forged, task.test, entry_point=task.entry_point, prompt=task.prompt, limits=FAST)
        assert not result.correct, task.id


@needs_confinement
def test_a_humaneval_loop_test_is_not_emptied_by_a_range_of_the_answers():
    # Hard-codes the five visible cases and makes the tests' `for i in range(100)` loop run zero times.
    forged = ("def range(*args):\n    return []\n\n\n"
              "def add(x, y):\n    return {(0, 1): 1, (1, 0): 1, (2, 3): 5, (5, 7): 12, (7, 5): 12}.get((x, y), -1)\n")
    result = score_python(forged, HUMANEVAL_53_TEST, entry_point="add", prompt=HUMANEVAL_53_PROMPT, limits=FAST)
    assert not result.correct
    assert result.reason is not None and "assert candidate(x, y) == x + y" in result.reason
    honest = score_python("    return x + y\n", HUMANEVAL_53_TEST, entry_point="add", prompt=HUMANEVAL_53_PROMPT,
                          limits=FAST)
    assert honest.correct, honest.reason


@needs_confinement
def test_a_redefined_prompt_helper_is_not_what_the_tests_call():
    # HumanEval/32's tests check `poly(coeffs, solution)`: the prompt's poly, not the answer's.
    forged = "def poly(xs, x):\n    return 0.0\n\n\ndef find_zero(xs):\n    return 0.0\n"
    result = score_python(forged, HUMANEVAL_32_TEST, entry_point="find_zero", prompt=HUMANEVAL_32_PROMPT,
                          limits=FAST)
    assert not result.correct and result.reason is not None and "poly(coeffs, solution)" in result.reason
    honest = score_python(FIND_ZERO_BISECTION, HUMANEVAL_32_TEST, entry_point="find_zero",
                          prompt=HUMANEVAL_32_PROMPT, limits=FAST)
    assert honest.correct, honest.reason


def test_judge_names_exposes_the_entry_point_and_never_a_builtin():
    helpers, exposed = judge_names(HUMANEVAL_32_PROMPT, "find_zero")
    assert helpers == HUMANEVAL_32_PROMPT and exposed == ["find_zero"]
    # A prompt ending in an open `def` is closed with `pass` so its helpers still run in the tests' process.
    helpers, exposed = judge_names("def encode(s):\n    return s[::-1]\n\n\ndef decode(s):\n", "decode")
    assert helpers.endswith("def decode(s):\n    pass\n") and exposed == ["decode"]
    # A prompt that cannot compile at all: its own top-level names, minus builtins' names.
    helpers, exposed = judge_names("def len(x):\n    return 1\ndef helper(x):\n    return (\ndef f(x):\n    ", "f")
    assert helpers == "" and exposed == ["f", "helper"]
