"""What the lazy check reports: the placeholders found, and the verdict on the code."""

from __future__ import annotations

from dataclasses import dataclass


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
