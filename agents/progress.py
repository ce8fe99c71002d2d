"""Progress of a run: the pipeline reports stages; the CLI shows them with rich."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.status import Status


class Reporter:
    """Receives progress events. This base class ignores them (tests, evals, --json)."""

    def stage(self, role: str, model: str, action: str) -> None:
        """An agent starts working."""

    def tokens(self, role: str, count: int) -> None:
        """Streaming: `count` tokens received so far from `role`."""

    def done(self, role: str, summary: str) -> None:
        """An agent finished a step."""

    def note(self, text: str) -> None:
        """A one-line remark (e.g. the embedded model is used)."""


class RichReporter(Reporter):
    """One live status line per stage, then a line of what it did, with elapsed time."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.perf_counter()
        self.stage_started = self.started
        self.status: Status | None = None
        self.label = ""

    def _elapsed(self) -> str:
        return f"{time.perf_counter() - self.stage_started:5.1f}s"

    def stage(self, role: str, model: str, action: str) -> None:
        self.stage_started = time.perf_counter()
        self.label = f"[bold]{role}[/] [dim]{model}[/] {action}"
        if self.status is None:
            self.status = self.console.status(self.label)
            self.status.start()
        self.status.update(self.label)

    def tokens(self, role: str, count: int) -> None:
        if self.status is not None:
            self.status.update(f"{self.label} [cyan]{count} tokens[/] {self._elapsed()}")

    def done(self, role: str, summary: str) -> None:
        self.console.print(f"[green]✓[/] [bold]{role}[/] {escape(summary)} [dim]{self._elapsed()}[/]")

    def note(self, text: str) -> None:
        self.console.print(f"[yellow]•[/] {escape(text)}")

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None
