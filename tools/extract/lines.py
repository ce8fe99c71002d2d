"""An answer as lines, a block's place among them, and where the answer proper starts."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    start: int  # offset of the line in the answer
    end: int  # offset just after its newline (or the end of the answer)
    text: str  # the line without "\n" or "\r\n"


def split_lines(text: str) -> list[Line]:
    """Split on "\n" only: str.splitlines also splits on characters code may contain."""
    lines: list[Line] = []
    start = 0
    while start < len(text):
        newline = text.find("\n", start)
        end = len(text) if newline < 0 else newline + 1
        body = text[start : newline if newline >= 0 else end]
        lines.append(Line(start, end, body.removesuffix("\r")))
        start = end
    return lines


THINK_OPEN = re.compile(r"\s*<(think|thinking|reasoning)>", re.IGNORECASE)


def first_answer_line(answer: str, lines: list[Line]) -> int:
    """Skip a reasoning model's <think>...</think> preamble: its code is drafts."""
    opened = THINK_OPEN.match(answer)
    if not opened:
        return 0
    closing = re.compile(rf"</{opened.group(1)}>", re.IGNORECASE).search(answer)
    if not closing:
        return len(lines)  # cut off while thinking: no answer yet
    return next((i for i, line in enumerate(lines) if line.end > closing.end()), len(lines))


@dataclass(frozen=True)
class RawLine:
    """A block before it is named: line numbers into the answer's lines."""

    first: int  # index of the first line that may hold hints (the fence line, or code)
    code_start: int
    code_end: int
    info: str | None  # fence info string; None when unfenced
    truncated: bool
    gap_start: int  # first line after the previous block: hints are looked for from here
