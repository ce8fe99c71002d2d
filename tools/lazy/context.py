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
    # Indexes, not a slice: a slice copies the rest of the code for every comment (quadratic).
    later = next(
        (lines[k] for k in range(index + 1, len(lines)) if lines[k].raw and not _comment_only(lines[k])), None
    )
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
    following = next((scanned[k] for k in range(index + 1, len(scanned)) if scanned[k].raw), None)
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


_ELLIPSES = ("...", "…")


def bracketed_kind(line: str) -> str | None:
    """`[... rest of the code ...]` or `(remaining functions)`: a placeholder outside a comment.

    Plain string operations: the regex this was (`\\s*(.*?)\\s*` between brackets) took
    minutes on one line of "[" and a few hundred spaces."""
    text = line.strip()
    if len(text) < 2 or text[0] not in "[(<{" or text[-1] not in "])>}":
        return None
    inner = text[1:-1].strip()
    lead = next((mark for mark in _ELLIPSES if inner.startswith(mark)), "")
    inner = inner[len(lead) :].lstrip()
    tail = next((mark for mark in _ELLIPSES if inner.endswith(mark)), "")
    inner = inner[: len(inner) - len(tail)].rstrip()
    if not inner or re.search(r"[=;(){}<>]", inner):
        return None
    judged = comment_kind(inner, "markup")
    return judged[0] if judged else None
