"""Judging a comment in its context: an unsure phrase is a placeholder only where it stands
alone in place of code, not where it heads the code that follows."""

from __future__ import annotations

import re

from tools.lazy.rules import comment_kind
from tools.lazy.scanner import Scanned, indent_of


def _comment_only(item: Scanned) -> bool:
    """A line that is all comment (an empty `#` or a line inside /* ... */ too)."""
    return bool(item.comment_kind) and not item.code.strip()


def _nothing_follows(lines: list[Scanned], index: int) -> bool:
    """True when no code follows the comment on line `index` in its block.

    A placeholder stands where code should be, so what comes next closes the block, is
    outdented, or is another comment; a section heading is followed by its code.
    """
    later = next((item for item in lines[index + 1 :] if item.raw and not _comment_only(item)), None)
    if later is None:
        return True
    closes = bool(re.match(r"[}\])]|</|\?>|end\b", later.raw))
    return closes or indent_of(later.line) < indent_of(lines[index].line)


def judge_comment(scanned: list[Scanned], index: int) -> str | None:
    """The kind of placeholder the comment on line `index` is, weighing what surrounds it."""
    item = scanned[index]
    judged = comment_kind(item.comment, item.comment_kind)
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


def bracketed_kind(line: str) -> str | None:
    """`[... rest of the code ...]` or `(remaining functions)`: a placeholder outside a comment."""
    match = _BRACKETED.match(line.strip())
    if not match or not match.group(1) or re.search(r"[=;(){}<>]", match.group(1)):
        return None
    judged = comment_kind(match.group(1), "markup")
    return judged[0] if judged else None
