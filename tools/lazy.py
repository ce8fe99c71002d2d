"""Spot lazy code: placeholders where a model left code out instead of writing it.

Models that tire of a long file write `// ... rest of the code`, `/* remaining styles */`,
`# TODO: implement` or a bare `...` body and call the answer complete. This module finds
those lines so the generator can be told exactly what to rewrite.

Only comments and bare `...` lines are judged, never strings or code, so `[...board]`,
`const rest = ...`, "REST API" or a normal `// TODO: handle wrap-around` are not flagged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tools.extract import ExtractedFile, guess_language, language_of_name


@dataclass(frozen=True)
class Placeholder:
    """One line where code was left out."""

    line: int  # 1-based
    text: str  # the line, stripped
    kind: str  # rest-of-code, omitted-for-brevity, todo-implement, ellipsis-body, ...
    file: str | None = None  # set by lazy_verdict for a list of files


@dataclass(frozen=True)
class LazyVerdict:
    """Whether code is complete, and the placeholders that say it is not."""

    lazy: bool
    placeholders: list[Placeholder]

    def reason(self) -> str:
        """One line a model can act on."""
        if not self.placeholders:
            return "no placeholders: the code looks complete"
        first = self.placeholders[0]
        where = f"{first.file} line {first.line}" if first.file else f"line {first.line}"
        text = first.text if len(first.text) <= 70 else first.text[:67] + "..."
        more = len(self.placeholders) - 1
        others = f" (and {more} more placeholder{'s' if more > 1 else ''})" if more else ""
        what = "a function with only its docstring" if first.kind == "empty-body" else "placeholder"
        return f"{what} at {where}: '{text}'{others} — write the complete code with nothing left out"


# --- reading comments ----------------------------------------------------------------------

_HASH = {"python", "shell", "yaml", "toml", "ruby", "r", "dockerfile", "makefile", "dotenv", "ini"}
_MARKUP = {"html", "xml", "svg", "vue", "svelte", "markdown", "php"}
_SKIPPED = {"markdown", "text", "diff"}  # prose and patches: "..." there is not code


@dataclass(frozen=True)
class _Syntax:
    line_comments: tuple[str, ...]  # markers that comment out the rest of the line
    blocks: tuple[tuple[str, str], ...]  # (open, close) comment pairs
    quotes: str  # string delimiters to skip
    multiline_quotes: tuple[str, ...]  # delimiters whose strings may span lines

    def special(self) -> re.Pattern[str]:
        """Where something other than plain code may start: skip to it, not char by char."""
        tokens = [*self.line_comments, *(pair[0] for pair in self.blocks), *self.multiline_quotes]
        quotes = [f"[{re.escape(self.quotes)}]"] if self.quotes else []
        return re.compile("|".join([*map(re.escape, tokens), *quotes]))


def _syntax(language: str | None) -> _Syntax:
    c_blocks = (("/*", "*/"),)
    if language == "python":
        return _Syntax(("#",), (), "'\"", ('"""', "'''"))
    if language in _HASH:
        return _Syntax(("#",) + ((";",) if language == "ini" else ()), (), "'\"", ())
    if language == "sql":
        return _Syntax(("--",), c_blocks, "'", ())
    if language in ("css", "scss", "sass", "less"):
        # `//` is not CSS, but models write it there too, and a URL lives in quotes or url()
        return _Syntax(("//",), c_blocks, "'\"", ())
    if language in _MARKUP:
        # Apostrophes in page text are not quotes, so only "..." strings are skipped.
        return _Syntax(("//",), (("<!--", "-->"), *c_blocks), '"', ())
    if language is None:
        return _Syntax(("//", "#"), (("<!--", "-->"), *c_blocks), "'\"`", ("`",))
    return _Syntax(("//",), c_blocks, "'\"`", ("`",))  # JavaScript and its C-like kin


@dataclass(frozen=True)
class _Scanned:
    number: int  # 1-based
    line: str  # the line as written (without its line ending)
    raw: str  # the line, stripped
    comment: str  # the comment text on the line (block-comment parts included)
    code: str  # what is left outside comments and strings
    comment_kind: str  # "line", "block" (/* */), "markup" (<!-- -->) or ""


def _scan(code: str, language: str | None) -> Iterator[_Scanned]:
    """Split each line into comment text and code, skipping strings; state spans lines."""
    syntax = _syntax(language)
    special = syntax.special()
    closing: str | None = None  # the end of the block comment or string we are inside
    in_string = False
    for number, raw in enumerate(code.split("\n"), 1):
        line = raw.removesuffix("\r")
        comment: list[str] = []
        outside: list[str] = []
        kind = "" if not closing or in_string else ("markup" if closing == "-->" else "block")
        i = 0
        while i < len(line):
            if closing:
                end = line.find(closing, i)
                stop = len(line) if end < 0 else end
                if not in_string:
                    comment.append(line[i:stop])
                if end < 0:
                    break
                i, closing, in_string = end + len(closing), None, False
                continue
            found = special.search(line, i)
            if not found:
                outside.append(line[i:])
                break
            outside.append(line[i : found.start()])
            i = found.start()
            opened = next((pair for pair in syntax.blocks if line.startswith(pair[0], i)), None)
            if opened:
                closing, kind = opened[1], "markup" if opened[0] == "<!--" else "block"
                i += len(opened[0])
                continue
            marker = next((m for m in syntax.line_comments if line.startswith(m, i)), None)
            if marker:
                comment.append(line[i + len(marker) :])
                kind = kind or "line"
                break
            triple = next((q for q in syntax.multiline_quotes if line.startswith(q, i)), None)
            if triple:
                closing, in_string = triple, True
                i += len(triple)
                continue
            char = line[i]
            if char in syntax.quotes:
                end = _string_end(line, i + 1, char)
                if end < 0:
                    break  # an unclosed quote: the rest of the line is a string
                i = end + 1
                continue
            outside.append(char)
            i += 1
        yield _Scanned(number, line, line.strip(), " ".join(comment).strip(), "".join(outside), kind)


def _string_end(line: str, start: int, quote: str) -> int:
    i = start
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == quote:
            return i
        i += 1
    return -1


# --- what a placeholder says ---------------------------------------------------------------

# A placeholder phrase ends its comment, or is followed by words that say "left out".
_END = (
    r"(?=\s*(?:$|[.…,;:)(\]\-—–*/>]|here\b|goes\b|go\b|remains?\b|stays?\b|is\b|are\b|as\b|"
    r"unchanged\b|same\b|omitted\b|removed\b|would\b|will\b|should\b|continues?\b|follows?\b|"
    r"etc\b|and\s+so\s+on\b|for\s+brevity\b))"
)
# Words that only ever mean "the code": "// rest of the code" is never a section heading.
_GENERIC = r"(?:code|script|file|implementation|program|source|js|javascript|typescript|python)"
_GENERIC_MARKUP = r"(?:markup|html|styles?|css|content)"
# Words a real comment may use as a heading ("// Other functions", "<!-- More buttons -->").
_SPECIFIC = (
    r"(?:functions?|methods?|logic|game(?:\s+logic)?|class(?:es)?|components?|module|functionality|"
    r"features?|helpers?|handlers?|event\s+(?:handlers|listeners)|setup|loop|utilities|utils|"
    r"app|application)"
)
_SPECIFIC_MARKUP = r"(?:elements|sections|fields|inputs|options|items|cards|buttons|tags|rules|rows)"
_ARTICLE = r"(?:the\s+|your\s+|my\s+|this\s+)?"


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    # How sure a match is:
    #   strong  - always a placeholder ("for brevity", "TODO: implement", "(same as before)")
    #   phrase  - sure when it opens the comment or says "left out" ("// rest of the code"),
    #             else only where no code follows ("read the rest of the file" is prose)
    #   weak    - sure only with "..." or "left out" words; else only where no code follows,
    #             since "// Other functions" may head the functions it names
    #   same    - like weak, but only "..." makes it sure ("keys are unchanged" is prose)
    #   enclosed - "// ... piece definitions": sure when it also ends with "..."
    strength: str
    markup_only: bool = False  # only in <!-- --> and /* */ comments


_RULES = [
    _Rule(
        "rest-of-code",
        re.compile(
            r"\bfill\s+in\s+the\s+rest\b|^(?:\.\.\.)?\s*(?:and\s+)?(?:the\s+)?rest\b\W*$"
            r"|\(\s*(?:\.\.\.)?\s*rest\s+of\b[^)]*\)"
        ),
        "strong",
    ),
    _Rule(
        "rest-of-code",
        re.compile(
            rf"\brest\s+of\s+{_ARTICLE}(?:[\w-]+\s+){{0,2}}?{_GENERIC}{_END}"
            rf"|\b(?:remaining|more|other)\s+{_GENERIC}{_END}"
        ),
        "phrase",
    ),
    _Rule(
        "remaining-markup",
        re.compile(rf"\b(?:rest\s+of|remaining)\s+{_ARTICLE}(?:[\w-]+\s+)?{_GENERIC_MARKUP}{_END}"),
        "phrase",
    ),
    _Rule(
        "omitted-for-brevity",
        re.compile(
            r"\bbrevity\b|\bto\s+save\s+space\b|\((?:omitted|removed|snipped|truncated|abbreviated)\)"
            r"|\b(?:omitted|removed|elided|snipped|left\s+out|not\s+shown|skipped)\s+"
            r"for\s+(?:brevity|clarity|simplicity|space|readability)"
        ),
        "strong",
    ),
    _Rule(
        "omitted-for-brevity",
        re.compile(
            r"\b(?:omitted|elided|snipped|left\s+out|not\s+shown|skipped)\s+here\b"
            rf"|\b(?:{_GENERIC}|{_SPECIFIC}|{_GENERIC_MARKUP})\s+(?:\w+\s+)?"
            r"(?:omitted|elided|snipped|not\s+shown)\b"
        ),
        "phrase",
    ),
    _Rule(
        "todo-implement",
        re.compile(
            r"\b(?:todo|fixme|xxx)\b\W*(?:\w+\s+)?(?:implement|fill\s+in|fill\s+this|"
            r"write\s+(?:the|this)|add\s+(?:the\s+|your\s+)?(?:code|logic|implementation)|"
            r"complete\s+(?:this|the)|finish)"
            r"|\b(?:your|add|insert|put|write)\s+(?:[\w-]+\s+){0,2}?(?:code|logic|implementation|"
            r"styles?|markup|content)\s+(?:goes\s+)?here\b"
            r"|\b(?:code|logic|implementation|styles?)\s+goes\s+here\b"
            r"|\bimplement\s+(?:this|me|later)\b|\bimplement\b.*\bhere\b"
            r"|\b(?:needs|has|have|is|are|still|yet)\s+to\s+be\s+implemented\b|^to\s+be\s+implemented\b"
            r"|^(?:todo\W*)?not\s+(?:yet\s+)?implemented(?:\s+yet)?\W*$"
        ),
        "strong",
    ),
    _Rule(
        "same-as-before",
        re.compile(
            r"\((?:unchanged|same\s+as\s+(?:before|above)|no\s+changes?)\)|^(?:\.\.\.)?\s*unchanged\W*$"
        ),
        "strong",
    ),
    _Rule(
        "existing-code",
        re.compile(rf"\b(?:existing|previous|original|prior)\s+(?:{_GENERIC}|{_GENERIC_MARKUP}){_END}"),
        "phrase",
    ),
    _Rule(
        "same-as-before",
        re.compile(
            r"\b(?:same|unchanged|identical)\s+as\s+(?:before|above|previous(?:ly)?|earlier|"
            r"the\s+previous|in\s+the\s+previous|the\s+original|original)\b"
            rf"|\b(?:{_GENERIC}|{_SPECIFIC}|{_GENERIC_MARKUP}|rest|everything(?:\s+else)?|this\s+part)"
            r"\b.{0,30}\b(?:remains?|stays?|is|are|kept)\s+(?:the\s+)?(?:same|unchanged|as[- ]is)\b"
            r"|\b(?:is|are|remains?|stays?)\s+(?:the\s+same|unchanged)\W*$"
        ),
        "same",
    ),
    _Rule(
        "rest-of-code",
        re.compile(
            rf"\b(?:rest\s+of|remaining|other|more|additional)\s+{_ARTICLE}(?:[\w-]+\s+)?{_SPECIFIC}{_END}"
        ),
        "weak",
    ),
    _Rule(
        "remaining-markup",
        re.compile(
            rf"\b(?:rest\s+of|remaining|other|more|additional)\s+{_ARTICLE}(?:[\w-]+\s+)?"
            rf"{_SPECIFIC_MARKUP}{_END}"
        ),
        "weak",
        markup_only=True,
    ),
    _Rule(
        "existing-code",
        re.compile(
            rf"\b(?:existing|previous|original|prior)\s+{_SPECIFIC}{_END}"
            rf"|\bkeep\s+(?:the\s+)?(?:existing|previous|original|other)\s+(?:[\w-]+\s+)?{_SPECIFIC}"
        ),
        "weak",
    ),
    _Rule("ellipsis-body", re.compile(r"^(?:(?:\.{3,}\s*)+|etc\.?|and\s+so\s+on\.?)$"), "strong"),
    _Rule("ellipsis-comment", re.compile(r"^\.{3}\s*[a-z][a-z\s-]*\W*$"), "enclosed"),
]
# Words after a phrase that say the code was left out: "// other methods here".
_LEFT_OUT = re.compile(
    r"\b(?:here|goes|omitted|unchanged|same|etc|not\s+shown|as\s+before|remains?|stays?|"
    r"continues?|follows?)\b"
)
# What may stand before a phrase that opens a placeholder: "// ... and the rest of the code".
_LEAD_IN = re.compile(
    r"(?:\.\.\.\s*|[(\[]\s*|(?:and|the|insert|add|keep|include|put|with|plus|all|then)\s+)*"
)
_BARE_ELLIPSIS = re.compile(r"^(?:\.{3}|…)[;,]?$")


def _comment_kind(comment: str, where: str) -> tuple[str, bool] | None:
    """(kind, sure) when a comment is a placeholder, else None; unsure ones need context."""
    text = re.sub(r"^[\s*#/!-]+", "", comment).strip().lower()  # JSDoc stars, extra slashes
    text = text.replace("…", "...")
    if not text:
        return None
    for rule in _RULES:
        if rule.markup_only and where not in ("markup", "block"):
            continue
        match = rule.pattern.search(text)
        if match:
            return rule.kind, _sure(rule, text, match)
    return None


def _sure(rule: _Rule, text: str, match: re.Match[str]) -> bool:
    after = text[match.end() :]
    if rule.strength == "strong":
        return True
    if rule.strength == "enclosed":
        return bool(re.search(r"\.{3}\W*$", after))
    if rule.strength == "same":
        return "..." in text
    if "..." in text or _LEFT_OUT.search(after):
        return True
    return rule.strength == "phrase" and bool(_LEAD_IN.fullmatch(text[: match.start()]))


def _comment_only(item: _Scanned) -> bool:
    """A line that is all comment (an empty `#` or a line inside /* ... */ too)."""
    return bool(item.comment_kind) and not item.code.strip()


def _nothing_follows(lines: list[_Scanned], index: int) -> bool:
    """True when no code follows the comment on line `index` in its block.

    A placeholder stands where code should be, so what comes next closes the block, is
    outdented, or is another comment; a section heading is followed by its code.
    """
    later = next((item for item in lines[index + 1 :] if item.raw and not _comment_only(item)), None)
    if later is None:
        return True
    closes = bool(re.match(r"[}\])]|</|\?>|end\b", later.raw))
    return closes or _indent(later.line) < _indent(lines[index].line)


# --- Python stubs: `...` as the body of a Protocol or abstract method is not lazy ---------------

_STUB_DECORATORS = re.compile(r"^\s*@(?:\w+\.)*(?:abstract\w*|overload)\b")
_ABSTRACT_CLASS = re.compile(r"^\s*class\s+\w+\s*(?:\[.*\])?\(.*\b(?:Protocol|ABC|ABCMeta|Interface)\b")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _header_above(lines: list[str], index: int) -> int:
    """The line that opens the block line `index` is in (its def, class, if...), or -1."""
    indent = _indent(lines[index])
    header = next(
        (
            j
            for j in range(index - 1, -1, -1)
            if lines[j].strip() and not lines[j].lstrip().startswith("#") and _indent(lines[j]) < indent
        ),
        -1,
    )
    if header >= 0 and lines[header].lstrip().startswith((")", "]")):
        # a signature over several lines ends in "):" at the def's own indent
        header = next(
            (j for j in range(header - 1, -1, -1) if _indent(lines[j]) <= _indent(lines[header])), -1
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


def _is_bare_ellipsis(bare: str, lines: list[str], index: int, language: str | None) -> bool:
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


# --- the API -----------------------------------------------------------------------------------


def find_placeholders(code: str, language: str | None = None) -> list[Placeholder]:
    """Every line of `code` that stands for code left out."""
    if language in _SKIPPED:
        return []
    scanned = list(_scan(code, language))
    lines = [item.line for item in scanned]
    found: list[Placeholder] = []
    for index, item in enumerate(scanned):
        kind = None
        bare = item.code.strip()
        if item.comment:
            kind = _judge_comment(scanned, index)
        if kind is None and _is_bare_ellipsis(bare, lines, index, language):
            kind = "ellipsis-body"
        if kind is None and not item.comment and not re.search(r"[\"'`]", item.raw):
            kind = _bracketed_kind(item.raw)
        if kind:
            found.append(Placeholder(item.number, item.raw, kind))
    if language == "python":
        flagged = {p.line for p in found}
        found += [
            p for p, end in _docstring_only_functions(code, lines) if not flagged & {*range(p.line, end + 1)}
        ]
        found.sort(key=lambda p: p.line)
    return found


def _docstring_only_functions(code: str, lines: list[str]) -> list[tuple[Placeholder, int]]:
    """Functions whose whole body is their docstring (maybe plus `pass`): the signature was
    copied and the code never written. Stubs that are meant to be empty are left alone."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
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


def _judge_comment(scanned: list[_Scanned], index: int) -> str | None:
    """The kind of placeholder the comment on line `index` is, weighing what surrounds it."""
    item = scanned[index]
    judged = _comment_kind(item.comment, item.comment_kind)
    if judged is None:
        return None
    kind, sure = judged
    previous = scanned[index - 1] if index else None
    following = next((later for later in scanned[index + 1 :] if later.raw), None)
    inside_comments = bool(previous and _comment_only(previous) and following and _comment_only(following))
    if kind == "ellipsis-body" and inside_comments:
        return None  # "# ..." in the middle of a commented-out example
    if sure:
        return kind
    # Unsure: a placeholder stands alone where code should be. A comment that goes on from
    # the line above, sits after code on its line, or heads code that follows is prose.
    if (previous and _comment_only(previous)) or not _comment_only(item):
        return None
    return kind if _nothing_follows(scanned, index) else None


_BRACKETED = re.compile(r"^[\[(<{]\s*(?:\.\.\.|…)?\s*(.*?)\s*(?:\.\.\.|…)?\s*[\])>}]$")


def _bracketed_kind(line: str) -> str | None:
    """`[... rest of the code ...]` or `(remaining functions)`: a placeholder outside a comment."""
    match = _BRACKETED.match(line.strip())
    if not match or not match.group(1) or re.search(r"[=;(){}<>]", match.group(1)):
        return None
    judged = _comment_kind(match.group(1), "markup")
    return judged[0] if judged else None


def lazy_verdict(code_or_files: str | Sequence[ExtractedFile]) -> LazyVerdict:
    """Is the code (one text, or the extracted files) complete?"""
    if isinstance(code_or_files, str):
        language = guess_language(code_or_files)
        placeholders = find_placeholders(code_or_files, language if language != "text" else None)
    else:
        placeholders = [
            Placeholder(p.line, p.text, p.kind, file.name)
            for file in code_or_files
            for p in find_placeholders(file.content, file.language or language_of_name(file.name))
        ]
    return LazyVerdict(lazy=bool(placeholders), placeholders=placeholders)
