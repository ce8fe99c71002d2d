"""Measure every configured model on the eval suites, judged by running what they write.

    python -m evals.run                           # every suite, the configured models
    python -m evals.run --suite humaneval --limit 10 --models local:qwen2.5-coder-1.5b
    python -m evals.run --suite tetris --mode both --min-pass-rate 0.5
    python -m evals.run --suite humaneval --samples 5     # each case 5 times (seeds)
    python -m evals.run --resume 20260101-120000-abc123   # continue a stopped run

Each model runs as the code generator alone (generate -> extract -> evaluators) and, for
suites whose cases allow it (tetris), through the whole pipeline with that model as the
generator. Cases run concurrently across models, at most --concurrency at a time per model.
A model that fails entirely (missing key, 429, server down) is reported with its error
class and the others carry on. Results: a table here, report.json + report.html (and the
generated files, answers and screenshots) in a timestamped folder under --report-dir, and
one row per case in the history database. Exit code 1 when a model's pass rate is
below --min-pass-rate, 2 for a configuration problem, 130 after Ctrl-C (the finished cases
are still reported), 143 after SIGTERM (likewise).

Runs are durable (evals.durable, on DBOS): every case is a workflow on its provider's queue
and its result is stored as it finishes, in a SQLite file in the cache folder or, with
CODECREW_DATABASE_URL=postgresql://..., in Postgres, where `python -m evals.worker` processes
on any machine take cases from the same queues. A stopped or killed run continues with
--resume RUN_ID: only the cases without a result run again, and one report covers the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from evals.progress import ProgressFile, RunProgress  # stdlib only
from tools.formatting import cli_help
from tools.sandbox import sandbox_status  # stdlib only: --help stays fast

if TYPE_CHECKING:  # pydantic-evals and pydantic-ai load when a run starts: --help stays fast
    from evals.jobs import Job
    from evals.report import RunReport, Summary
    from evals.tasks import Mode, TaskFactory

SUITES = ("tetris", "bench", "humaneval")  # evals.suites.SUITES, without importing the suites
MODES: tuple[Mode, ...] = ("generator", "pipeline")  # evals.tasks.MODES


class SuiteOption(StrEnum):
    tetris = "tetris"
    bench = "bench"
    humaneval = "humaneval"
    all = "all"


class ModeOption(StrEnum):
    generator = "generator"
    pipeline = "pipeline"
    both = "both"


def below(per_model: list[Summary], min_pass_rate: float | None) -> list[Summary]:
    """Models below the bar, among those with cases the harness could judge."""
    if min_pass_rate is None:
        return []
    return [s for s in per_model if s.judged and s.pass_rate < min_pass_rate]


def not_judged_note(run: RunReport) -> str | None:
    """One line on the cases the harness could not judge and what to fix, or None."""
    cases = run.not_judged()
    if not cases:
        return None
    first = cases[0].reason.split("infrastructure: ", 1)[-1]
    return (
        f"{len(cases)} case run(s) not judged: the harness failed, not the model "
        f"(not counted in pass rates): {first[:300]}"
    )


# --- the command ----------------------------------------------------------------------


def _split(models: str | None) -> list[str]:
    return [m.strip() for m in (models or "").split(",") if m.strip()]


def with_loop(settings: Any, *, repairs: int | None, samples: int | None) -> Any:
    """The settings with the pipeline's verify-and-repair loop set from --repairs/--samples."""
    from dataclasses import replace

    changes = {k: v for k, v in {"repairs": repairs, "samples": samples}.items() if v is not None}
    return replace(settings, **changes) if changes else settings


def load_settings() -> tuple[Any, str | None]:
    """The settings `python -m agents.run` would use: with nothing configured and no Ollama
    running, every role on the embedded model (agents.preflight.choose_models)."""
    from agents.config import Settings
    from agents.preflight import choose_models

    return choose_models(Settings.load())


def _default_models(settings: Any) -> list[str]:
    from agents.config import configured_models

    return configured_models(settings)


app = typer.Typer(add_completion=False, no_args_is_help=False, help=cli_help(__doc__))


@app.command(help=cli_help(__doc__))
def main(
    suite: Annotated[SuiteOption, typer.Option(help="Which suite to run.")] = SuiteOption.all,
    models: Annotated[
        str | None,
        typer.Option(help="Comma-separated model strings (default: the configured models)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases of each suite.")] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Cases at a time per model, in each process running the run.")
    ] = 2,
    mode: Annotated[
        ModeOption, typer.Option(help="The generator alone, the whole pipeline, or both.")
    ] = ModeOption.both,
    samples: Annotated[
        int, typer.Option(min=1, help="Run each case N times, each with its own seed (for pass@k).")
    ] = 1,
    min_pass_rate: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Exit 1 when a model's pass rate is below this."),
    ] = None,
    report_dir: Annotated[Path, typer.Option(help="Reports go into a timestamped folder under this.")] = Path(
        "reports"
    ),
    case_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds a model may take for one case.")
    ] = 900.0,
    history: Annotated[bool, typer.Option(help="Record every case in the history database.")] = True,
    resume: Annotated[
        str | None,
        typer.Option(
            metavar="RUN_ID",
            help="Continue a stopped or killed run: only cases without a result run again, "
            "and the report covers the whole run (its models, suites and options are the run's).",
        ),
    ] = None,
    provider_limit: Annotated[
        list[str] | None,
        typer.Option(
            metavar="'PROVIDER: rate=N/SECONDS concurrency=N'",
            help="Override a provider's limits (models.yaml providers:), across all workers; repeatable.",
        ),
    ] = None,
    repairs: Annotated[
        int | None,
        typer.Option(min=0, help="Pipeline mode: repair rounds after a failed verification (default 2)."),
    ] = None,
    candidates: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Pipeline mode: candidates per case, the best verified one kept (agents.run --samples; "
            "default 1).",
        ),
    ] = None,
) -> None:
    from agents.models import build
    from evals.suites import SetupProblem, preflight

    console = Console()
    if not console.is_terminal:  # CI logs: room for the tables
        console = Console(width=max(console.width, 150))
    suites = list(SUITES) if suite is SuiteOption.all else [suite.value]
    modes: list[Mode] = list(MODES) if mode is ModeOption.both else [mode.value]  # type: ignore[list-item]
    try:
        settings, note = load_settings()
        settings = with_loop(settings, repairs=repairs, samples=candidates)
        model_list = [] if resume else _split(models) or _default_models(settings)
        for spec in model_list:
            if problem := build.model_string_problem(spec):
                console.print(f"[red]config:[/] {escape(problem)}", soft_wrap=True)
                raise typer.Exit(2)
        if not resume:
            preflight(suites)
        limits = "; ".join(provider_limit or [])
        if limits:
            from agents.models.catalog import parse_limits

            parse_limits(limits)  # bad syntax: one line now, not after the run started
    except SetupProblem as exc:
        console.print(f"[red]setup:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except typer.Exit:
        raise
    except Exception as exc:  # ConfigError and friends: one line
        console.print(f"[red]config:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    code = run_eval(
        model_list,
        suites,
        modes,
        limit=limit,
        concurrency=concurrency,
        min_pass_rate=min_pass_rate,
        report_dir=report_dir,
        case_timeout=case_timeout,
        history=history,
        console=console,
        settings=settings,
        notes=[note] if note else [],
        samples=samples,
        resume=resume,
        provider_limits=limits,
    )
    raise typer.Exit(code)


def run_eval(
    models: list[str],
    suites: list[str],
    modes: list[Mode],
    *,
    limit: int | None = None,
    concurrency: int = 2,
    min_pass_rate: float | None = None,
    report_dir: Path = Path("reports"),
    case_timeout: float = 900.0,
    history: bool = True,
    console: Console | None = None,
    factory: TaskFactory | None = None,
    settings: Any | None = None,
    notes: list[str] | None = None,
    samples: int = 1,
    resume: str | None = None,
    provider_limits: str = "",
    durable_settings: Any | None = None,
) -> int:
    """Run (or with `resume`, continue) a durable eval run, report, record; return the exit
    code. `factory` lets tests script the models; `durable_settings` (agents.config.
    DurableSettings) says where the run's state lives (default: from the environment)."""
    console = console or Console()
    try:
        from agents.tracing import configure_tracing

        configure_tracing()
    except ImportError:  # tracing is optional
        pass
    from agents.config import ConfigError, DurableSettings
    from evals.evaluators import close_browser
    from evals.history import record_history
    from evals.interrupts import Terminated
    from evals.jobs import HUMANEVAL_SETTINGS, stop_local_servers, unplanned
    from evals.report import RunReport
    from evals.report_html import write_reports
    from evals.tasks import TaskFactory
    from evals.terminal import print_results
    from tools.errors import describe_error

    try:
        durable_settings = durable_settings or DurableSettings.load()
    except ConfigError as exc:
        console.print(f"[red]config:[/] {escape(str(exc))}", soft_wrap=True)
        return 2
    from evals import durable

    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        try:
            session = stack.enter_context(durable.session("run", durable_settings))
        except durable.DatabaseUnavailable as exc:
            console.print(f"[red]config:[/] {exc} (check CODECREW_DATABASE_URL)")
            return 2
        if resume:
            try:
                spec = session.load_spec(resume)
            except durable.RunNotFound:
                where = durable.safe_url(durable_settings.database_url)
                console.print(
                    f"[red]config:[/] no eval run {resume} in {where}: "
                    "check the id (the report folder's name) and CODECREW_DATABASE_URL"
                )
                return 2
        else:
            loop_settings = None
            if "pipeline" in modes:
                loop_settings = factory.settings if factory is not None else settings
            started = datetime.now(UTC)
            run_id = f"{started.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
            spec = durable.RunSpec(
                run_id=run_id,
                started=started.isoformat(timespec="seconds"),
                models=models,
                suites=suites,
                modes=list(modes),
                limit=limit,
                samples=samples,
                concurrency=concurrency,
                case_timeout=case_timeout,
                report_dir=str(report_dir.resolve()),
                options={
                    "limit": limit,
                    "samples": samples,
                    "concurrency": concurrency,
                    "case_timeout": case_timeout,
                    "min_pass_rate": min_pass_rate,
                    "humaneval_settings": dict(HUMANEVAL_SETTINGS),
                    "humaneval_instructions": None,  # the EvalPlus prompt alone, as published
                    # pipeline mode: the verify-and-repair loop (--repairs, --candidates)
                    "repairs": getattr(loop_settings, "repairs", None),
                    "candidates": getattr(loop_settings, "samples", None),
                },
            )
            spec.notes = [*(notes or []), *unplanned(durable.plan_jobs(spec), suites, modes)]
        run_dir = spec.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        factory = factory or TaskFactory(
            run_dir, concurrency=spec.concurrency, case_timeout=spec.case_timeout, settings=settings
        )
        factory.run_dir = run_dir
        session.factories[spec.run_id] = factory
        run = RunReport(
            run_id=spec.run_id,
            started=spec.started,
            finished=None,
            suites=spec.suites,
            models=spec.models,
            modes=list(spec.modes),
            options=spec.options,
            notes=list(spec.notes),
        )
        for note in notes or []:
            console.print(f"[dim]{escape(note)}[/]")
        sandbox = sandbox_status()
        run.sandbox = sandbox.as_dict()
        if sandbox.warning:  # never fall back to a weaker sandbox silently
            run.notes.append(sandbox.warning)
            console.print(f"[bold red]{escape(sandbox.warning)}[/]", highlight=False)
        jobs = durable.plan_jobs(spec)
        total = len(spec.case_runs())
        console.print(
            f"[bold]codecrew eval[/] {spec.run_id}{' (resumed)' if resume else ''}: "
            f"{len(spec.models)} model(s) × {', '.join(spec.suites)} ({', '.join(spec.modes)}), "
            f"{total} case run(s) → {run_dir}"
        )
        interrupted: int | None = None  # exit code after Ctrl-C (130) or SIGTERM (143)
        progress = ProgressFile(
            run_dir,
            RunProgress(
                run_id=spec.run_id, started=spec.started, models=spec.models, suites=spec.suites, total=total
            ),
        )
        try:
            session.register_queues(spec, provider_limits)
            if resume:
                session.resume(spec)
            else:
                try:
                    session.prune()
                except Exception as exc:  # housekeeping: old runs left behind must not stop a new one
                    message = f"old runs were not pruned from the state database: {describe_error(exc)}"
                    run.notes.append(message)
                    console.print(f"[yellow]{escape(message)}[/]", highlight=False)
                session.start(spec)
            _wait_with_progress(session, spec, jobs, console, progress)
        except KeyboardInterrupt as exc:
            interrupted = 143 if isinstance(exc, Terminated) else 130
            session.cancel(spec)
        finally:
            close_browser()
            stop_local_servers()
        run.cases = session.results(spec)
    if interrupted:
        run.notes.append(f"interrupted: {len(run.cases)} of {total} case runs finished")
        console.print(
            f"[yellow]interrupted[/]: reporting the {len(run.cases)} finished case runs; "
            f"continue with: python -m evals.run --resume {spec.run_id}"
        )
    run.finished = datetime.now(UTC).isoformat(timespec="seconds")
    if unjudged := not_judged_note(run):
        run.notes.append(unjudged)
    json_path, html_path = write_reports(run, run_dir)
    progress.remove()  # the report says it all now
    if history:
        try:
            record_history(run)
        except Exception as exc:  # the report is written; say why the history is not
            console.print(f"[yellow]history not recorded:[/] {escape(str(exc))}")
    per_model = run.per_model()
    print_results(console, run, per_model, (json_path, html_path), t0)
    failing = below(per_model, min_pass_rate)
    for s in failing:
        console.print(
            f"[red]{s.model}: pass rate {s.pass_rate:.0%} is below --min-pass-rate {min_pass_rate:.0%}[/]"
        )
    if unjudged:
        console.print(f"[bold red]{unjudged}[/]", highlight=False)
    if interrupted:
        return interrupted
    if run.cases and not any(r.judged for r in run.cases):
        return 2  # nothing could be judged: a setup problem, whatever the models did
    return 1 if failing else 0


def _wait_with_progress(
    session: Any, spec: Any, jobs: list[Job], console: Console, progress_file: ProgressFile
) -> None:
    """Wait for the run with a progress bar per job (and its progress.json, for the
    dashboard); SIGTERM interrupts like Ctrl-C."""
    from evals import durable
    from evals.interrupts import sigterm_interrupts
    from evals.terminal import make_progress

    progress = make_progress(console)
    bars = [
        progress.add_task(f"{j.model} {j.suite}/{j.mode}", total=len(j.dataset.cases) * spec.samples)
        for j in jobs
    ]
    bar_of = {
        durable.case_id(spec.run_id, r): bars[i]
        for i, job in enumerate(jobs)
        for r in durable.case_runs([job], spec.samples)
    }

    def show(done: dict[str, str]) -> None:
        counts = dict.fromkeys(bars, 0)
        for wid in done:
            if wid in bar_of:
                counts[bar_of[wid]] += 1
        for bar, count in counts.items():
            progress.update(bar, completed=count)
        progress_file.update(sum(counts.values()))

    with sigterm_interrupts(), progress:
        asyncio.run(session.wait(spec, show))


if __name__ == "__main__":
    app()
