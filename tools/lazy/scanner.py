"""Reading comments: split each line into comment text and code, skipping strings.

Only comments and bare `...` lines are judged, so the scanner must know, per language,
which markers open a comment and which quotes open a string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_HASH = {"python", "shell", "yaml", "toml", "ruby", "r", "dockerfile", "makefile", "dotenv", "ini"}
_MARKUP = {"html", "xml", "svg", "vue", "svelte", "markdown", "php"}
SKIPPED_LANGUAGES = {"markdown", "text", "diff"}  # prose and patches: "..." there is not code


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
class Scanned:
    number: int  # 1-based
    line: str  # the line as written (without its line ending)
    raw: str  # the line, stripped
    comment: str  # the comment text on the line (block-comment parts included)
    code: str  # what is left outside comments and strings
    comment_kind: str  # "line", "block" (/* */), "markup" (<!-- -->) or ""


def scan_code(code: str, language: str | None) -> Iterator[Scanned]:
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
        yield Scanned(number, line, line.strip(), " ".join(comment).strip(), "".join(outside), kind)


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


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())
