"""Python stubs: `...` as the body of a Protocol or abstract method is not lazy.

Also where a bare `...` stands for code left out, and functions whose body is only their
docstring.
"""

from __future__ import annotations

import ast
import re

from tools.lazy.records import Placeholder
from tools.lazy.scanner import indent_of

_STUB_DECORATORS = re.compile(r"^\s*@(?:\w+\.)*(?:abstract\w*|overload)\b")
_ABSTRACT_CLASS = re.compile(r"^\s*class\s+\w+\s*(?:\[.*\])?\(.*\b(?:Protocol|ABC|ABCMeta|Interface)\b")


def _header_above(lines: list[str], index: int) -> int:
    """The line that opens the block line `index` is in (its def, class, if...), or -1."""
    indent = indent_of(lines[index])
    header = next(
        (
            j
            for j in range(index - 1, -1, -1)
            if lines[j].strip() and not lines[j].lstrip().startswith("#") and indent_of(lines[j]) < indent
        ),
        -1,
    )
    if header >= 0 and lines[header].lstrip().startswith((")", "]")):
        # a signature over several lines ends in "):" at the def's own indent
        header = next(
            (j for j in range(header - 1, -1, -1) if indent_of(lines[j]) <= indent_of(lines[header])), -1
        )
    return header


_DEF = re.compile(r"^\s*(?:async\s+)?def\s")
_PY_CLASS = re.compile(r"^\s*class\s.*:\s*(?:#.*)?$")  # a Python class, not `class A {`
_TYPE_CHECKING = re.compile(r"^\s*if\s+(?:typing\.)?TYPE_CHECKING\s*:")


def _is_python_stub(lines: list[str], index: int) -> bool:
    """True when the `...` on line `index` is a class body, an abstract or Protocol method,
    an @overload, or sits under `if TYPE_CHECKING:`: there `...` is the whole point."""
    header = index if _DEF.match(lines[index]) else _header_above(lines, index)
    if header < 0:
        return False
    if _PY_CLASS.match(lines[header]):
        return True
    if _DEF.match(lines[header]):
        above = header - 1
        while above >= 0 and lines[above].strip().startswith("@"):
            if _STUB_DECORATORS.match(lines[above]):
                return True
            above -= 1
    while header >= 0:
        if _ABSTRACT_CLASS.match(lines[header]) or _TYPE_CHECKING.match(lines[header]):
            return True
        header = _header_above(lines, header)
    return False


_BARE_ELLIPSIS = re.compile(r"^(?:\.{3}|…)[;,]?$")


def is_bare_ellipsis(bare: str, lines: list[str], index: int, language: str | None) -> bool:
    """`...` standing alone where code should be (or `def f(): ...` outside a stub)."""
    pythonic = language in (None, "python")
    if pythonic and re.match(r"^(?:async\s+)?def\s.*:\s*\.\.\.$", bare):
        return not _is_python_stub(lines, index)
    if bare not in ("...", "…") and (pythonic or not _BARE_ELLIPSIS.match(bare)):
        return False  # `...,` is an Ellipsis in a Python tuple
    if pythonic and _inside_brackets(lines, index):
        return False  # `Tuple[\n    int,\n    ...\n]`
    return not (pythonic and _is_python_stub(lines, index))


def _inside_brackets(lines: list[str], index: int) -> bool:
    """Does the code line before `index` leave a bracket open or a list going on?"""
    before = next((line.strip() for line in reversed(lines[:index]) if line.strip()), "")
    return before.endswith((",", "[", "("))


def docstring_only_functions(lines: list[str]) -> list[tuple[Placeholder, int]]:
    """Functions whose whole body is their docstring (maybe plus `pass`): the signature was
    copied and the code never written. Stubs that are meant to be empty are left alone."""
    # Parse the scanner's lines, so ast's line numbers index them (a lone "\r" is a line
    # break to ast but not to the scanner).
    try:
        tree = ast.parse("\n".join(line.replace("\r", " ") for line in lines))
    except (SyntaxError, ValueError):  # ValueError: a NUL byte in the code
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not ast.get_docstring(node):
            continue
        rest = node.body[1:]
        if all(isinstance(s, ast.Pass) or _is_ellipsis(s) for s in rest) and not _is_python_stub(
            lines, node.lineno - 1
        ):
            placeholder = Placeholder(node.lineno, lines[node.lineno - 1].strip(), "empty-body")
            found.append((placeholder, node.end_lineno or node.lineno))
    return found


def _is_ellipsis(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and getattr(statement.value, "value", None) is Ellipsis
