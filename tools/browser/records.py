"""What a page run produces: the report and its checks, samples of the drawing, and the
capped, de-duplicated message tallies behind the report's lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tools.formatting import bounded

MAX_ERRORS = 20
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class PageCheck:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PageReport:
    checks: list[PageCheck]
    js_errors: list[str]  # uncaught errors, then console.error lines; repeats as "... (xN)"
    blocked_requests: list[str]  # requests to non-local URLs, all blocked
    screenshot: Path | None
    duration: float
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt, dismissed; "(xN)"
    error_count: int = 0  # uncaught errors seen, including those past MAX_ERRORS
    error_places: list[str] = field(default_factory=list)  # "<error> @ <file>:<line>:<column>"

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def check(self, name: str) -> PageCheck:
        """The check called `name` ("loads", "draws", "responds_to_keys", "advances")."""
        return next(check for check in self.checks if check.name == name)


@dataclass(frozen=True)
class Sample:
    doc: str  # per-document token: changes when the page navigates or reloads
    state: str  # the fingerprint compared between samples
    drawn: str | None  # what counts as drawn ("canvas 300x600: 2.0% ..."), None if nothing
    blank: str  # what was seen when nothing is drawn


def counted_lines(tally: Iterable[tuple[str, int]]) -> list[str]:
    return [f"{text} (x{count})" if count > 1 else text for text, count in tally]


def tally_error(seen: dict[str, int], text: str) -> None:
    if text in seen or len(seen) < MAX_ERRORS:
        seen[text] = seen.get(text, 0) + 1


def truncate(text: str) -> str:
    return bounded(text, MAX_ERROR_CHARS)


def first_line(text: str) -> str:
    return truncate(text.strip().splitlines()[0] if text.strip() else text)
