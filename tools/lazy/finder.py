"""The API: find the placeholders in one text, or give the verdict on code or extracted files."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tools.extract import ExtractedFile, guess_language, language_of_name
from tools.lazy.context import bracketed_kind, judge_comment
from tools.lazy.python_stubs import docstring_only_functions, is_bare_ellipsis
from tools.lazy.records import LazyVerdict, Placeholder
from tools.lazy.scanner import SKIPPED_LANGUAGES, scan_code


def find_placeholders(code: str, language: str | None = None) -> list[Placeholder]:
    """Every line of `code` that stands for code left out."""
    if language in SKIPPED_LANGUAGES:
        return []
    scanned = list(scan_code(code, language))
    lines = [item.line for item in scanned]
    found: list[Placeholder] = []
    for index, item in enumerate(scanned):
        kind = None
        bare = item.code.strip()
        if item.comment:
            kind = judge_comment(scanned, index)
        if kind is None and is_bare_ellipsis(bare, lines, index, language):
            kind = "ellipsis-body"
        if kind is None and not item.comment and not re.search(r"[\"'`]", item.raw):
            kind = bracketed_kind(item.raw)
        if kind:
            found.append(Placeholder(item.number, item.raw, kind))
    if language == "python":
        flagged = {p.line for p in found}
        found += [p for p, end in docstring_only_functions(lines) if not flagged & {*range(p.line, end + 1)}]
        found.sort(key=lambda p: p.line)
    return found


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
