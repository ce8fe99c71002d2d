"""What the extractor finds and makes: code blocks, files to write, and the layout."""

from __future__ import annotations

from dataclasses import dataclass


class NoCodeError(ValueError):
    """The answer holds no code that could become a file."""


@dataclass(frozen=True)
class CodeBlock:
    """One piece of code found in an answer."""

    index: int  # 0-based position in the answer
    language: str | None  # normalised: "html", "javascript", "python", ... or None
    code: str  # a verbatim slice of the answer
    name_hint: str | None  # a file name the answer gives for this block
    truncated: bool  # the fence (or the HTML document) was never closed
    line: int = 0  # 1-based line of the answer where the code starts
    name_source: str | None = None  # where name_hint came from: fence, label, comment, prose


@dataclass(frozen=True)
class ExtractedFile:
    """A file to write: a name and one block's code."""

    name: str  # relative name, not yet path-checked (tools/files.py does that)
    language: str | None
    content: str  # == the block's code, verbatim
    block_index: int
    origin: str = ""  # how the name was chosen: answer, reference, default, layout


@dataclass(frozen=True)
class Extraction:
    """The blocks of an answer and the deterministic file layout."""

    blocks: list[CodeBlock]
    files: list[ExtractedFile]
    ambiguous: bool  # the layout had to guess
    reason: str  # one line: why ambiguous, or how the layout was decided
