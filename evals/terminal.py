"""What a run shows in the terminal: a progress bar per job, then the summary and case tables."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evals.report import RunReport, Summary
from evals.results import CaseResult
from tools.formatting import fmt_cost, fmt_seconds, fmt_tokens


def make_progress(console: Console) -> Progress:
    """Bars that vanish when done, and stay off in CI logs (no terminal)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def summary_table(summaries: list[Summary], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name, justify in [
        ("model", "left"),
        ("suite", "left"),
        ("mode", "left"),
        ("passed", "right"),
        ("rate", "right"),
        ("median", "right"),
        ("req", "right"),
        ("tok in", "right"),
        ("tok out", "right"),
        ("cost", "right"),
        ("failures", "left"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in summaries:
        color = "green" if s.pass_rate >= 0.8 else "yellow" if s.pass_rate >= 0.5 else "red"
        table.add_row(
            s.model,
            s.suite,
            s.mode,
            f"{s.passed}/{s.cases}",
            f"[{color}]{s.pass_rate:.0%}[/]",
            fmt_seconds(s.median_latency),
            str(s.requests),
            fmt_tokens(s.input_tokens),
            fmt_tokens(s.output_tokens),
            fmt_cost(s.cost),
            ", ".join(f"{k} {v}" for k, v in s.failures.items()) or "-",
        )
    return table


def cases_table(cases: list[CaseResult], limit: int = 40) -> tuple[Table, int]:
    """Every case of the small suites; for HumanEval only the failures. Capped at `limit`."""
    shown = [r for r in cases if r.suite != "humaneval" or not r.passed]
    shown.sort(key=lambda r: (r.suite, r.case, r.model, r.mode))
    table = Table(title="Cases", title_justify="left")
    for name in ("suite", "case", "model", "mode", "result", "time", "reason"):
        table.add_column(name, overflow="fold")
    for r in shown[:limit]:
        verdict = "[green]pass[/]" if r.passed else f"[red]{r.failure}[/]"
        table.add_row(r.suite, r.case, r.model, r.mode, verdict, f"{r.duration:.1f}s", r.reason[:160])
    return table, max(0, len(shown) - limit)


def print_results(
    console: Console,
    run: RunReport,
    per_model: list[Summary],
    paths: tuple[Path, Path],
    t0: float,
) -> None:
    """The summary tables, the cases worth a look, and where the reports are (`t0`: the
    run's start on time.perf_counter)."""
    json_path, html_path = paths
    console.print(summary_table(run.groups(), "Per model, suite and mode"))
    if len(run.groups()) > len(per_model):
        console.print(summary_table(per_model, "Per model"))
    table, more = cases_table(run.cases)
    if table.row_count:
        console.print(table)
    if more:
        console.print(f"… {more} more rows in {html_path}")
    console.print(f"reports: {json_path}  {html_path}  ({time.perf_counter() - t0:.0f}s)")
