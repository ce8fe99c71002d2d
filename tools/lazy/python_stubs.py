"""Python stubs: `...` as the body of a Protocol or abstract method is not lazy.

Also where a bare `...` stands for code left out, and functions whose body is only their
docstring.
"""

from __future__ import annotations

import ast
import bisect
import re

from tools.lazy.records import Placeholder
from tools.lazy.scanner import indent_of

_STUB_DECORATORS = re.compile(r"^\s*@(?:\w+\.)*(?:abstract\w*|overload)\b")
_ABSTRACT_CLASS = re.compile(r"^\s*class\s+\w+\s*(?:\[.*\])?\(.*\b(?:Protocol|ABC|ABCMeta|Interface)\b")


def _header_above(lines: list[str], index: int) -> int:
    """The line that opens the block line `index` is in (its def, class, if...), or -1."""
    opener, level_above = _block_tables(lines)
    header = opener[index]
    if header >= 0 and lines[header].lstrip().startswith((")", "]")):
        # a signature over several lines ends in "):" at the def's own indent
        header = level_above[header]
    return header


# The tables of the last `lines` asked about: looking back line by line from every `...`
# was quadratic (a 40 kB answer of `...` lines took 50 s).
_tables: tuple[list[str], list[int], list[int]] | None = None


def _block_tables(lines: list[str]) -> tuple[list[int], list[int]]:
    """Per line: the nearest code line above with a smaller indent (its block's opener), and
    the nearest line above with an indent no larger than its own; -1 for none. O(n log n)."""
    global _tables
    cached = _tables
    if cached is not None and cached[0] is lines:
        return cached[1], cached[2]
    opener, level_above = [-1] * len(lines), [-1] * len(lines)
    code_at: list[int] = []  # code lines that can still open a block below, indents rising
    code_indents: list[int] = []
    any_at: list[int] = []  # any line, indents rising (for the nearest with indent <= ours)
    any_indents: list[int] = []
    for i, line in enumerate(lines):
        indent = indent_of(line)
        below = bisect.bisect_left(code_indents, indent)  # code_at[:below] have smaller indents
        opener[i] = code_at[below - 1] if below else -1
        if line.strip() and not line.lstrip().startswith("#"):
            del code_at[below:], code_indents[below:]
            code_at.append(i)
            code_indents.append(indent)
        upto = bisect.bisect_right(any_indents, indent)  # any_at[:upto] have indents <= ours
        level_above[i] = any_at[upto - 1] if upto else -1
        del any_at[upto:], any_indents[upto:]
        any_at.append(i)
        any_indents.append(indent)
    _tables = (lines, opener, level_above)
    return opener, level_above


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
    before = next((lines[k].strip() for k in range(index - 1, -1, -1) if lines[k].strip()), "")
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
