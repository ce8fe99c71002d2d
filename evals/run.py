"""Measure every configured model on the eval suites, judged by running what they write.

    python -m evals.run                                  # all suites, configured models
    python -m evals.run --suite humaneval --limit 10 --models local:qwen2.5-coder-1.5b
    python -m evals.run --suite tetris --mode both --min-pass-rate 0.5

Each model runs as the code generator alone (generate -> extract -> evaluators) and, for
suites whose cases allow it (tetris), through the whole pipeline with that model as the
generator. Cases run concurrently across models, at most --concurrency at a time per model.
A model that fails entirely (missing key, 429, server down) is reported with its error
class and the others carry on. Results: a table here, report.json + report.html (and the
generated files, answers and screenshots) in a timestamped folder under --report-dir, and
one row per case in the history (tools.history). Exit code 1 when a model's pass rate is
below --min-pass-rate, 2 for a configuration problem, 130 after Ctrl-C (the finished cases
are still reported), 143 after SIGTERM (likewise).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic_ai.settings import ModelSettings
from pydantic_evals import Dataset
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evals import bench
from evals.evaluators import ALL_EVALUATORS, close_browser
from evals.report import CaseResult, RunReport, Summary, fmt_cost, fmt_seconds, fmt_tokens
from evals.tasks import MODES, CaseInputs, CaseMeta, CaseNames, Mode, TaskFactory

DATASETS = Path(__file__).resolve().parent / "datasets"
SUITES = ("tetris", "bench", "humaneval")
# One greedy sample per task (pass@1); a HumanEval solution fits in well under 1024 tokens, and
# the cap stops a small model that loops from holding a server slot for minutes.
HUMANEVAL_SETTINGS = ModelSettings(temperature=0.0, max_tokens=1024)


class SuiteOption(StrEnum):
    tetris = "tetris"
    bench = "bench"
    humaneval = "humaneval"
    all = "all"


class ModeOption(StrEnum):
    generator = "generator"
    pipeline = "pipeline"
    both = "both"


class SetupProblem(Exception):
    """Something the eval itself needs is missing (not the models' fault)."""


def load_suite(suite: str, limit: int | None = None) -> Dataset[CaseInputs, Any, CaseMeta]:
    """A suite as a pydantic-evals Dataset: YAML under evals/datasets/, or HumanEval's data."""
    if suite == "humaneval":
        from evals import humaneval

        return humaneval.dataset(limit)
    dataset = Dataset[CaseInputs, Any, CaseMeta].from_file(
        DATASETS / f"{suite}.yaml", custom_evaluator_types=ALL_EVALUATORS
    )
    if limit:
        dataset = Dataset[CaseInputs, Any, CaseMeta](
            name=dataset.name, cases=dataset.cases[:limit], evaluators=dataset.evaluators
        )
    return dataset


def schema_text() -> str:
    """The JSON schema of our datasets, evaluators included (what Dataset.to_file writes)."""
    from pydantic_core import to_json

    schema = Dataset[CaseInputs, Any, CaseMeta].model_json_schema_with_evaluators(ALL_EVALUATORS)
    return to_json(schema, indent=2).decode() + "\n"


def write_schemas() -> list[Path]:
    """Refresh evals/datasets/<suite>_schema.json, which the YAML files point editors at."""
    paths = [DATASETS / f"{suite}_schema.json" for suite in ("tetris", "bench")]
    for path in paths:
        path.write_text(schema_text(), encoding="utf-8")
    return paths


def for_mode(dataset: Dataset[CaseInputs, Any, CaseMeta], mode: Mode) -> Dataset | None:
    """The cases of `dataset` that run in `mode` (case metadata `modes`), or None."""
    cases = [c for c in dataset.cases if mode in (c.metadata.modes if c.metadata else ["generator"])]
    if not cases:
        return None
    return Dataset[CaseInputs, Any, CaseMeta](name=dataset.name, cases=cases, evaluators=dataset.evaluators)


def preflight(suites: Sequence[str]) -> None:
    """Fail early, with the fix, when a checker the suites need is not installed."""
    if "tetris" in suites:
        from tools.browser import browser_available

        if browser_available() is None:
            raise SetupProblem(
                "the tetris suite plays the page in chromium, which is missing: "
                "apt-get install -y chromium (or set CODECREW_CHROMIUM)"
            )
    if "bench" in suites and (problem := bench.node_problem()):
        raise SetupProblem(f"the bench suite runs JS/TS under Node: {problem}")


@dataclass
class Job:
    model: str
    suite: str
    mode: Mode
    dataset: Dataset[CaseInputs, Any, CaseMeta]


def plan(models: Sequence[str], suites: Sequence[str], modes: Sequence[Mode], limit: int | None) -> list[Job]:
    datasets = {suite: load_suite(suite, limit) for suite in suites}
    jobs = []
    for model in models:
        for suite in suites:
            for mode in modes:
                subset = for_mode(datasets[suite], mode)
                if subset is not None:
                    jobs.append(Job(model, suite, mode, subset))
    return jobs


async def run_jobs(
    jobs: list[Job],
    factory: TaskFactory,
    run_dir: Path,
    *,
    concurrency: int,
    on_case: Callable[[Job], None] | None = None,
    collected: list[CaseResult] | None = None,
) -> list[CaseResult]:
    """Every job concurrently; per-model caps live in the factory's gates.

    Each case's row is appended to `collected` as soon as it is judged, so an interrupted
    run still has the cases that finished.
    """
    rows: list[CaseResult] = collected if collected is not None else []

    async def one(job: Job) -> None:
        if job.mode == "pipeline":
            task = factory.pipeline_task(job.model, suite=job.suite)
        else:
            # HumanEval is asked the way its published scores were measured: its own prompt, greedy
            published = job.suite == "humaneval"
            task = factory.generator_task(
                job.model,
                suite=job.suite,
                overrides=HUMANEVAL_SETTINGS if published else None,
                with_instructions=not published,
            )

        class Hooks(CaseNames):
            async def teardown(self, result: Any) -> None:
                if result is not None:
                    rows.append(
                        CaseResult.from_result(
                            result, suite=job.suite, model=job.model, mode=job.mode, run_dir=run_dir
                        )
                    )
                if on_case:
                    on_case(job)

        await job.dataset.evaluate(
            task,
            name=f"{job.suite}:{job.model}:{job.mode}",
            max_concurrency=concurrency,
            progress=False,
            lifecycle=Hooks,
        )

    await asyncio.gather(*(one(job) for job in jobs))
    order = {(j.model, j.suite, j.mode, c.name): i for i, j in enumerate(jobs) for c in j.dataset.cases}
    rows.sort(key=lambda r: order.get((r.model, r.suite, r.mode, r.case), 0))
    return rows


def record_history(run: RunReport) -> None:
    """One eval row per case, and the model work as calls (source "eval") for the catalog."""
    from tools.history import CallRecord, EvalRecord, History

    history = History()
    for r in run.cases:
        started = datetime.fromisoformat(r.started)
        history.record_eval(
            EvalRecord(
                run_id=run.run_id,
                suite=r.suite,
                model=r.model,
                mode=r.mode,
                case=r.case,
                passed=r.passed,
                reason=r.reason,
                duration=r.duration,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                cost=r.cost,
                lazy=r.lazy,
                error_class=r.error_class,
                started=started,
            )
        )
        if r.skipped or (r.requests == 0 and r.error_class is None):
            continue  # nothing was asked of the model
        bad = r.error_class and r.error_class != "lazy_output"
        outcome = "error" if bad else "lazy" if r.lazy else "ok"
        # pipeline: one call per agent, each under its own model; generator: the model itself
        parts = [
            (role, usage["model"], usage)
            for role, usage in r.agents.items()
            if usage.get("requests") or role == "generator"
        ] or [("generator", r.model, asdict_usage(r))]
        for role, model, usage in parts:
            history.record_call(
                CallRecord(
                    model=model,
                    role=role,
                    task_type=r.suite,
                    started=started,
                    duration=usage.get("duration") or r.duration,
                    requests=usage.get("requests", 0),
                    input_tokens=usage.get("input_tokens", 0),
                    output_tokens=usage.get("output_tokens", 0),
                    cost=usage.get("cost"),
                    outcome=outcome,
                    error_class=r.error_class,
                    run_id=run.run_id,
                    source="eval",
                )
            )


def asdict_usage(r: CaseResult) -> dict[str, Any]:
    return {
        "duration": r.duration,
        "requests": r.requests,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "cost": r.cost,
    }


# --- terminal output --------------------------------------------------------------------


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


def below(per_model: list[Summary], min_pass_rate: float | None) -> list[Summary]:
    if min_pass_rate is None:
        return []
    return [s for s in per_model if s.pass_rate < min_pass_rate]


# --- the command ----------------------------------------------------------------------


def _split(models: str | None) -> list[str]:
    return [m.strip() for m in (models or "").split(",") if m.strip()]


def load_settings() -> tuple[Any, str | None]:
    """The settings `python -m agents.run` would use: with nothing configured and no Ollama
    running, every role on the embedded model (agents.preflight.choose_models)."""
    from agents.config import Settings
    from agents.preflight import choose_models

    return choose_models(Settings.load())


def _default_models(settings: Any) -> list[str]:
    from agents.config import configured_models

    return configured_models(settings)


app = typer.Typer(add_completion=False, no_args_is_help=False, help=__doc__)


@app.command(help=__doc__)
def main(
    suite: Annotated[SuiteOption, typer.Option(help="Which suite to run.")] = SuiteOption.all,
    models: Annotated[
        str | None,
        typer.Option(help="Comma-separated model strings (default: the configured models)."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases of each suite.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Cases at a time per model.")] = 2,
    mode: Annotated[
        ModeOption, typer.Option(help="The generator alone, the whole pipeline, or both.")
    ] = ModeOption.both,
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
) -> None:
    console = Console()
    if not console.is_terminal:  # CI logs: room for the tables
        console = Console(width=max(console.width, 150))
    suites = list(SUITES) if suite is SuiteOption.all else [suite.value]
    modes: list[Mode] = list(MODES) if mode is ModeOption.both else [mode.value]  # type: ignore[list-item]
    try:
        settings, note = load_settings()
        model_list = _split(models) or _default_models(settings)
        preflight(suites)
    except SetupProblem as exc:
        console.print(f"[red]setup:[/] {exc}")
        raise typer.Exit(2) from None
    except Exception as exc:  # ConfigError and friends: one line
        console.print(f"[red]config:[/] {exc}")
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
) -> int:
    """Run, report, record; return the exit code. `factory` lets tests script the models."""
    console = console or Console()
    try:
        from agents.tracing import configure_tracing

        configure_tracing()
    except ImportError:  # tracing is optional
        pass
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp}-{secrets.token_hex(3)}"
    run_dir = report_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    factory = factory or TaskFactory(
        run_dir, concurrency=concurrency, case_timeout=case_timeout, settings=settings
    )
    factory.run_dir = run_dir
    jobs = plan(models, suites, modes, limit)
    run = RunReport(
        run_id=run_id,
        started=started.isoformat(timespec="seconds"),
        finished=None,
        suites=suites,
        models=models,
        modes=list(modes),
        options={
            "limit": limit,
            "concurrency": concurrency,
            "case_timeout": case_timeout,
            "min_pass_rate": min_pass_rate,
            "humaneval_settings": dict(HUMANEVAL_SETTINGS),
            "humaneval_instructions": None,  # the EvalPlus prompt alone, as published
        },
    )
    skipped = [
        f"{s} has no {m} cases"
        for s in suites
        for m in modes
        if not any(j.suite == s and j.mode == m for j in jobs)
    ]
    run.notes += [*(notes or []), *skipped]
    for note in notes or []:
        console.print(f"[dim]{note}[/]")
    total = sum(len(j.dataset.cases) for j in jobs)
    console.print(
        f"[bold]codecrew eval[/] {run_id}: {len(models)} model(s) × {', '.join(suites)} "
        f"({', '.join(modes)}), {total} case run(s) → {run_dir}"
    )
    t0 = time.perf_counter()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    bars = {
        id(job): progress.add_task(f"{job.model} {job.suite}/{job.mode}", total=len(job.dataset.cases))
        for job in jobs
    }
    interrupted: int | None = None  # exit code after Ctrl-C (130) or SIGTERM (143)
    try:
        with _sigterm_interrupts(), progress:
            asyncio.run(
                run_jobs(
                    jobs,
                    factory,
                    run_dir,
                    concurrency=concurrency,
                    on_case=lambda job: progress.advance(bars[id(job)]),
                    collected=run.cases,
                )
            )
    except KeyboardInterrupt as exc:
        interrupted = 143 if isinstance(exc, Terminated) else 130
        run.notes.append(f"interrupted: {len(run.cases)} of {total} case runs finished")
        console.print(f"[yellow]interrupted[/]: reporting the {len(run.cases)} finished case runs")
    finally:
        close_browser()
        _stop_local_servers()
    run.finished = datetime.now(UTC).isoformat(timespec="seconds")
    json_path, html_path = run.write(run_dir)
    if history:
        try:
            record_history(run)
        except Exception as exc:  # the report is written; say why the history is not
            console.print(f"[yellow]history not recorded:[/] {exc}")
    per_model = run.per_model()
    console.print(summary_table(run.groups(), "Per model, suite and mode"))
    if len(run.groups()) > len(per_model):
        console.print(summary_table(per_model, "Per model"))
    table, more = cases_table(run.cases)
    if table.row_count:
        console.print(table)
    if more:
        console.print(f"… {more} more rows in {html_path}")
    console.print(f"reports: {json_path}  {html_path}  ({time.perf_counter() - t0:.0f}s)")
    failing = below(per_model, min_pass_rate)
    for s in failing:
        console.print(
            f"[red]{s.model}: pass rate {s.pass_rate:.0%} is below --min-pass-rate {min_pass_rate:.0%}[/]"
        )
    if interrupted:
        return interrupted
    return 1 if failing else 0


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI timeout, `kill`): stop like Ctrl-C, so the finished cases are reported."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop_local_servers() -> None:
    try:
        from agents.local import stop_all_servers
    except ImportError:
        return
    stop_all_servers()


if __name__ == "__main__":
    app()
