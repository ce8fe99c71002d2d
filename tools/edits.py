"""SEARCH/REPLACE edit blocks (aider's "diff" edit format): parse, apply exactly or reject.

A repair that names only the lines it changes costs what the change costs, not a rewrite
of the whole file. The format, one block per change, the file name on the line before:

    ### main.py
    ```python
    <<<<<<< SEARCH
    print("helo")
    =======
    print("hello")
    >>>>>>> REPLACE
    ```

Blocks apply in order, each to the text the previous ones left. A block's SEARCH text must
occur exactly once (first as written; then line by line ignoring trailing white space);
otherwise the whole set is rejected with the reason and nothing is changed. An empty
SEARCH creates a file that does not exist yet (or fills an empty one).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SEARCH, DIVIDER, REPLACE = "<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"
_NAME = re.compile(r"^[#*`\s]*(?:file:\s*)?`?([\w./-]+\.[A-Za-z0-9]+)`?[*`:\s]*$")


class EditError(ValueError):
    """The edits cannot be applied; the message says which block and why."""


@dataclass(frozen=True)
class Edit:
    """Replace `search` (exact lines of the file) with `replace` in the file `name`."""

    name: str | None  # None: the answer did not say (fine when there is one file)
    search: str
    replace: str


def has_edit_blocks(text: str) -> bool:
    return SEARCH in text and REPLACE in text


def parse_edits(text: str) -> list[Edit]:
    """The edit blocks of an answer, in order; EditError for a block left open."""
    edits: list[Edit] = []
    name: str | None = None
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("<<<<<<<") and "SEARCH" in stripped:
            search, replace, i = _block(lines, i + 1, len(edits) + 1)
            edits.append(Edit(name, search, replace))
            continue
        if match := _NAME.match(stripped):
            name = match.group(1)
        i += 1
    return edits


def _block(lines: list[str], i: int, number: int) -> tuple[str, str, int]:
    search: list[str] = []
    while i < len(lines) and lines[i].rstrip("\r\n") != DIVIDER:
        if lines[i].strip().startswith(">>>>>>>"):
            raise EditError(f"edit block {number} has no ======= line")
        search.append(lines[i])
        i += 1
    if i == len(lines):
        raise EditError(f"edit block {number} is not closed")
    i += 1
    replace: list[str] = []
    while i < len(lines) and not (lines[i].strip().startswith(">>>>>>>") and "REPLACE" in lines[i]):
        replace.append(lines[i])
        i += 1
    if i == len(lines):
        raise EditError(f"edit block {number} has no >>>>>>> REPLACE line")
    return "".join(search), "".join(replace), i + 1


def apply_edits(files: Mapping[str, str], edits: Sequence[Edit]) -> dict[str, str]:
    """The files with every edit applied, or EditError (and `files` untouched)."""
    if not edits:
        raise EditError("the answer has no edit blocks")
    result = dict(files)
    for number, edit in enumerate(edits, 1):
        name = _target(result, edit, number)
        result[name] = _apply_one(result.get(name, ""), edit, number, name)
    return result


def _target(files: Mapping[str, str], edit: Edit, number: int) -> str:
    if edit.name is not None:
        if edit.name in files or not edit.search:
            return edit.name
        matches = [n for n in files if n.rsplit("/", 1)[-1] == edit.name.rsplit("/", 1)[-1]]
        if len(matches) == 1:
            return matches[0]
        raise EditError(f"edit block {number} names {edit.name}, which is not one of the files")
    if len(files) == 1:
        return next(iter(files))
    raise EditError(f"edit block {number} does not say which file it changes")


def _apply_one(text: str, edit: Edit, number: int, name: str) -> str:
    if not edit.search:
        if text.strip():
            raise EditError(f"edit block {number} has an empty SEARCH but {name} is not empty")
        return edit.replace
    count = occurrences(text, edit.search)
    if count == 1:
        return text.replace(edit.search, edit.replace, 1)
    if count > 1:
        raise EditError(f"edit block {number}: its SEARCH lines occur {count} times in {name}")
    return _apply_by_lines(text, edit, number, name)


def _apply_by_lines(text: str, edit: Edit, number: int, name: str) -> str:
    """Match whole lines ignoring trailing white space; the replacement goes in as written."""
    lines = text.splitlines(keepends=True)
    wanted = [line.rstrip() for line in edit.search.splitlines()]
    have = [line.rstrip() for line in lines]
    starts = [i for i in range(len(have) - len(wanted) + 1) if have[i : i + len(wanted)] == wanted]
    if len(starts) != 1:
        found = "not found" if not starts else f"found {len(starts)} times"
        raise EditError(f"edit block {number}: its SEARCH lines are {found} in {name}")
    start, end = starts[0], starts[0] + len(wanted)
    replace = edit.replace
    if replace and not replace.endswith("\n") and end < len(lines):
        replace += "\n"
    return "".join(lines[:start]) + replace + "".join(lines[end:])


def occurrences(text: str, part: str) -> int:
    """How often `part` occurs in `text`, overlaps included (so "once" means one place)."""
    count, start = 0, text.find(part)
    while start != -1:
        count += 1
        start = text.find(part, start + 1)
    return count


def diff_edits(old: str, new: str, name: str | None = None) -> list[Edit]:
    """Edits that turn `old` into `new`: each changed hunk with just enough context lines
    to occur once. Bottom hunks come first, so each applies to the text the previous left."""
    if old == new:
        return []
    if not old:
        return [Edit(name, "", new)]
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    hunks = [
        op for op in difflib.SequenceMatcher(None, old_lines, new_lines).get_opcodes() if op[0] != "equal"
    ]
    current = list(old_lines)
    edits: list[Edit] = []
    for _, i1, i2, j1, j2 in reversed(hunks):
        before, after = 0, 0
        while True:
            lo, hi = i1 - before, i2 + after
            search = "".join(current[lo:hi])
            text = "".join(current)
            if not text or (search and occurrences(text, search) == 1):
                break
            if hi < len(current) and (after <= before or lo == 0):
                after += 1
            else:
                before += 1
        replace = "".join(current[lo:i1]) + "".join(new_lines[j1:j2]) + "".join(current[i2:hi])
        edits.append(Edit(name, search, replace))
        current[lo:hi] = replace.splitlines(keepends=True)
    return edits


def format_edits(edits: Sequence[Edit]) -> str:
    """Edits written in the format `parse_edits` reads (for prompts and tests)."""
    parts = []
    for edit in edits:
        head = f"### {edit.name}\n" if edit.name else ""
        search = edit.search if not edit.search or edit.search.endswith("\n") else edit.search + "\n"
        replace = edit.replace if not edit.replace or edit.replace.endswith("\n") else edit.replace + "\n"
        parts.append(f"{head}```\n{SEARCH}\n{search}{DIVIDER}\n{replace}{REPLACE}\n```\n")
    return "\n".join(parts)
