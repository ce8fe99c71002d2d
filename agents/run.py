"""The `python -m agents.run "build tetris"` CLI.

Plans with the coordinator, writes the code with the generator, splits it into files,
writes them, runs them (tools.verify) and repairs them from what failed, with a manifest
of what each model did. Models come from COORDINATOR_MODEL, CODE_GENERATOR_MODEL and
CODE_EXTRACTOR_MODEL (env or .env) or the flags below. Exit codes: see EXIT_CODES.
Ctrl-C (130) or SIGTERM (143) keeps what the run has: the answer streamed so far in
answer.md, the manifest with status "interrupted", the history.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from agents.config import OLLAMA_DEFAULTS, ConfigError, Settings, debug_on, routing_on
from tools.formatting import cli_help, fmt_cost

if TYPE_CHECKING:  # pydantic-ai and pydantic load in main(): --help stays fast
    from rich.table import Table

    from agents.manifest import Manifest

console = Console(stderr=True, soft_wrap=True)  # one error = one line, however long
EXIT_FAILED, EXIT_CONFIG, EXIT_LAZY, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 3, 130, 143
EXIT_NOT_WORKING, EXIT_UNVERIFIABLE = 4, 5
EXIT_CODES = """Exit codes:
0    verified: the files ran and worked; or nothing here can run this kind of
     output (the summary says "not verified" and why)
1    the run failed (see the manifest)
2    bad input or configuration
3    the generator's code stayed incomplete (placeholders)
4    files were written but do not work (the best version is kept)
5    could not verify: the sandbox or browser did not start (infrastructure)
130  interrupted (Ctrl-C), 143 terminated (SIGTERM): the answer so far is kept"""
T = TypeVar("T")


class Interrupted(KeyboardInterrupt):
    """The run was stopped by SIGINT or SIGTERM (`signum`)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """Outside the event loop (setup), SIGTERM stops the run like Ctrl-C does."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def until_signal(work: Awaitable[T]) -> T:
    """Await `work`; SIGINT or SIGTERM cancel it, so the pipeline saves what it has (its
    `except CancelledError`), then raise Interrupted."""
    import asyncio  # here, not at the top: --help stays fast

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        if not received and task is not None:
            received.append(signum)
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await work
    except asyncio.CancelledError:
        if received:
            raise Interrupted(received[0]) from None
        raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def default_out_dir(request: str, settings: Settings) -> Path:
    """output/<words-of-the-request>-<time>: a new folder per run, nothing overwritten."""
    slug = "-".join(re.findall(r"[a-z0-9]+", request.lower())[:6]) or "run"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return (settings.out_dir or Path("output")) / f"{slug}-{stamp}"


def summary_table(manifest: Manifest) -> Table:
    from rich.table import Table

    table = Table(title=f"codecrew: {manifest.request}", title_justify="left")
    for column in ("agent", "model", "requests", "tokens in", "tokens out", "cost", "time"):
        table.add_column(column, justify="right" if column not in ("agent", "model") else "left")
    for role, agent in manifest.agents.items():
        cost = fmt_cost(agent.cost)
        model = escape(agent.answered_model())
        model += f" [dim]({escape(agent.note)})[/]" if agent.note else ""
        table.add_row(
            role,
            model,
            str(agent.requests),
            f"{agent.input_tokens:,}",
            f"{agent.output_tokens:,}",
            cost,
            f"{agent.duration:.1f}s",
        )
    total_cost = fmt_cost(manifest.total_cost)
    table.add_section()
    tokens_in = sum(a.input_tokens for a in manifest.agents.values())
    tokens_out = sum(a.output_tokens for a in manifest.agents.values())
    table.add_row(
        "total",
        "",
        str(manifest.total_requests),
        f"{tokens_in:,}",
        f"{tokens_out:,}",
        total_cost,
        f"{manifest.duration:.1f}s",
    )
    return table


def print_summary(manifest: Manifest) -> None:
    console.print(summary_table(manifest))
    for file in manifest.files:
        console.print(f"  [bold]{escape(file.name)}[/] {file.bytes:,} bytes")
    static = [c for c in manifest.static_checks if not c.passed]
    if static:  # static checks only hint: nothing was run for them; the verdict below was
        console.print(
            "  static checks: " + "; ".join(f"{escape(c.name)}: {escape(c.detail)}" for c in static),
            highlight=False,
        )
    if manifest.status == "error":
        console.print(f"  code: not judged: the run failed; layout: {manifest.layout or '-'}")
    else:
        lazy = "incomplete (placeholders)" if manifest.lazy.lazy else "complete"
        rewrites = f" after {manifest.lazy.rewrites} rewrites" if manifest.lazy.rewrites else ""
        console.print(f"  code: {lazy}{rewrites}; layout: {manifest.layout or '-'}")
    for line in rounds_lines(manifest):
        console.print(f"  {escape(line)}", highlight=False)
    console.print(f"  manifest: {Path(manifest.saved_to or manifest.out_dir) / 'manifest.json'}")
    for line in output_lines(manifest):
        console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    if hint := bigger_model_hint(manifest):
        console.print(f"  [yellow]{escape(hint)}[/]", highlight=False)
    if last := verdict_line(manifest):
        colour = (
            "green"
            if manifest.verification.verdict and manifest.verification.verdict.status == "verified"
            else "red"
        )
        console.print(f"[{colour}]{escape(last)}[/]", highlight=False)


def rounds_lines(manifest: Manifest) -> list[str]:
    """One line per version when there was more than one: what each round got."""
    record = manifest.verification
    if len(record.versions) < 2:
        return []
    lines = []
    for version in record.versions:
        outcome = version.verdict.summary if version.verdict else (version.error or "-")
        if version.no_change:
            outcome = "the same files again"
        mark = " (kept)" if version.index == record.kept else ""
        cost = f"[{version.output_tokens:,} tokens, {version.duration:.0f}s]"
        lines.append(f"{version.kind} {version.index}{mark}: {outcome} {cost}")
    return lines


def output_lines(manifest: Manifest) -> list[str]:
    """The first lines the kept version printed when it ran. The judge checks that a program
    runs, not that its output is right, so the user is shown it to judge."""
    verdict = manifest.verification.verdict
    output = next((c.output for c in verdict.checks if c.output), None) if verdict else None
    if not output:
        return []
    return ["it printed (not checked against the request):", *(f"  {line}" for line in output.splitlines())]


def bigger_model_hint(manifest: Manifest) -> str | None:
    """After the embedded model's files fail: what else to try. Measured on the 1.5B, more
    repairs or samples did not get Tetris working (README, Verified results); a bigger
    generator is the step that can."""
    verdict = manifest.verification.verdict
    generator = manifest.agents.get("generator")
    if verdict is None or verdict.status != "failed" or generator is None:
        return None
    if not generator.model.startswith("local:"):
        return None
    return (
        "hint: the embedded model is small and often cannot get a program like this working; "
        f"a bigger generator may (--generator {OLLAMA_DEFAULTS['generator']}, or any model string)"
    )


def verdict_line(manifest: Manifest) -> str | None:
    """The summary's last line: the kept version's verdict, and where its files are when it fails."""
    verdict = manifest.verification.verdict
    if verdict is None:
        return None
    summary = " ".join(verdict.summary.split())  # one line, whatever the judge wrote
    if verdict.status == "verified":
        return summary
    where = f" (files kept in {manifest.out_dir})"
    if verdict.status == "infrastructure":
        return f"could not verify: {' '.join(verdict.reason.split())}{where}"
    return summary + (where if verdict.status == "failed" else "")


def exit_code(manifest: Manifest) -> int:
    """0 only when the files run or nothing here can run them; see EXIT_CODES."""
    if manifest.status == "lazy":
        return EXIT_LAZY
    if manifest.status not in ("ok", "not_working"):
        return EXIT_FAILED
    verdict = manifest.verification.verdict
    if verdict is None or verdict.status in ("verified", "not_verified"):
        return 0
    return EXIT_UNVERIFIABLE if verdict.status == "infrastructure" else EXIT_NOT_WORKING


def main(
    prompt: str = typer.Argument(..., help='What to build, e.g. "build tetris".'),
    coordinator: str | None = typer.Option(None, help="Coordinator model (COORDINATOR_MODEL)."),
    generator: str | None = typer.Option(None, help="Code generator model (CODE_GENERATOR_MODEL)."),
    extractor: str | None = typer.Option(None, help="Code extractor model (CODE_EXTRACTOR_MODEL)."),
    out: Path | None = typer.Option(None, help="Output folder (default: output/<request>-<time>)."),
    force: bool = typer.Option(False, help="Overwrite files in a non-empty output folder."),
    json_output: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    route: bool = typer.Option(False, help="Pick the generator by task type and complexity (ROUTING=on)."),
    budget: str = typer.Option("normal", help="Routing budget: low, normal or high."),
    max_cost: float | None = typer.Option(None, help="Routing: max estimated USD per run."),
    ab: str | None = typer.Option(None, help="A/B test: 'MODEL_A,MODEL_B', one picked at random per run."),
    repairs: int | None = typer.Option(
        None, help="Repair rounds after a failed verification (CODECREW_REPAIRS, default 2; 0 = off)."
    ),
    samples: int | None = typer.Option(
        None, help="Candidates generated at once, the best verified one kept (CODECREW_SAMPLES, default 1)."
    ),
    repair_format: str | None = typer.Option(
        None, help="How repairs are written: whole (the files again) or edit (SEARCH/REPLACE blocks)."
    ),
    checklist: bool | None = typer.Option(
        None,
        "--checklist/--no-checklist",
        help="Tell the generator how its answer will be checked (CODECREW_CHECKLIST, default off).",
    ),
) -> None:
    """Build what PROMPT asks for with a coordinator, a code generator and a code extractor,
    run what was written, and repair it from what failed."""
    import asyncio

    from agents.local.server import stop_all_servers
    from agents.models.routing import pick_generator
    from agents.pipeline import EMPTY_PROMPT, run_pipeline
    from agents.preflight import check_ollama, choose_models
    from agents.progress import RichReporter
    from agents.tracing import configure_tracing
    from tools.errors import describe_error

    configure_tracing()
    reporter = RichReporter(console)
    out_dir: Path | None = None
    try:
        if not prompt.strip():
            raise ConfigError(EMPTY_PROMPT)
        loop: dict[str, Any] = {
            "repairs": repairs,
            "samples": samples,
            "repair_format": repair_format,
            "checklist": checklist,
        }
        settings = Settings.load(
            coordinator=coordinator,
            generator=generator,
            extractor=extractor,
            **{name: value for name, value in loop.items() if value is not None},
        )
        settings, note = choose_models(settings)
        if note:
            reporter.note(note)
        routing = pick_generator(
            prompt,
            settings,
            use_routing=route or routing_on(),
            budget=budget,
            max_cost=max_cost,
            ab=ab,
        )
        settings = routing.settings
        if routing.reason:
            reporter.note(routing.reason)
        check_ollama(settings)
        out_dir = out or default_out_dir(prompt, settings)
        pipeline = run_pipeline(
            prompt,
            settings,
            out_dir,
            force=force,
            reporter=reporter,
            task_type=routing.task_type,
            route=routing.reason,
            source=routing.source,
        )
        manifest = asyncio.run(until_signal(pipeline))
    except KeyboardInterrupt as exc:
        reporter.close()
        terminated = getattr(exc, "signum", None) == signal.SIGTERM
        where = f" in {out_dir}" if out_dir is not None else ""
        console.print(
            f"{'terminated' if terminated else 'interrupted'}: the answer so far, the manifest "
            f'(status "interrupted") and the files written stay on disk{where}'
        )
        raise typer.Exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED) from None
    except Exception as exc:  # configuration and setup errors: one line, no traceback
        reporter.close()
        if debug_on():
            raise
        console.print(f"[red]error:[/] {escape(describe_error(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    finally:
        stop_all_servers()
    reporter.close()
    if manifest.saved_to:
        console.print(
            f"[yellow]warning:[/] {manifest.out_dir} could not be written: answer and manifest "
            f"saved in {manifest.saved_to}",
            highlight=False,
        )
    if json_output:
        typer.echo(manifest.model_dump_json(indent=2))
    else:
        print_summary(manifest)
    if manifest.status not in ("ok", "not_working"):
        console.print(f"[red]error:[/] {escape(str(manifest.error))}", highlight=False)
    code = exit_code(manifest)
    if code:
        raise typer.Exit(code)


RUN_HELP = f"{cli_help(main.__doc__)}\n\n{EXIT_CODES}"
app = typer.Typer(add_completion=False)
app.command(help=RUN_HELP)(main)

if __name__ == "__main__":
    with signals_interrupt():
        app()
