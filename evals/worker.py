"""A worker for durable eval runs: takes cases from the runs' queues until stopped.

    CODECREW_DATABASE_URL=postgresql://user@host/codecrew python -m evals.worker

Start as many as you like, on this machine or others sharing the database; the process that
started a run (`python -m evals.run`) or a later `python -m evals.run --resume RUN_ID` writes
the report. Each worker answers with the models, keys and checkers of its own machine
(its .env), honours every provider's limits across all workers, and writes a case's files
under its --report-dir (default: the folder the run was started with, or ./reports when
that folder cannot be made here). Ctrl-C or SIGTERM puts the cases it was running back on
their queues for the others; a worker that dies (SIGKILL, a lost machine) is noticed by the
other processes, which put its cases back (same host: at once; elsewhere: after
CODECREW_WORKER_TIMEOUT seconds without a heartbeat).

Exit code 2 for a configuration problem.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tools.formatting import cli_help

app = typer.Typer(add_completion=False, no_args_is_help=False, help=cli_help(__doc__))


@app.command(help=cli_help(__doc__))
def main(
    report_dir: Annotated[
        Path | None,
        typer.Option(help="Write the cases' files under this (default: the run's report folder)."),
    ] = None,
) -> None:
    from agents.config import ConfigError, DurableSettings
    from evals.evaluators import close_browser
    from evals.interrupts import sigterm_interrupts
    from evals.jobs import stop_local_servers

    console = Console(stderr=True)
    try:
        settings = DurableSettings.load()
    except ConfigError as exc:
        console.print(f"[red]config:[/] {exc}")
        raise typer.Exit(2) from None
    from evals import durable

    stopped = threading.Event()
    try:
        with durable.session("worker", settings, report_dir=report_dir) as session:
            console.print(f"codecrew eval worker {session.executor_id}: taking cases (Ctrl-C to stop)")
            try:
                with sigterm_interrupts():
                    while not stopped.wait(1.0):
                        pass
            except KeyboardInterrupt:
                session.requeue_own()
            finally:
                close_browser()
                stop_local_servers()
    except durable.DatabaseUnavailable as exc:
        console.print(f"[red]config:[/] {exc} (check CODECREW_DATABASE_URL)")
        raise typer.Exit(2) from None
    console.print("worker stopped")


if __name__ == "__main__":
    app()
