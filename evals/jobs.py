"""The work of a run: one job per model × suite × mode, all run concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_ai.settings import ModelSettings
from pydantic_evals import Dataset
from rich.console import Console

from evals.interrupts import sigterm_interrupts
from evals.results import CaseResult
from evals.suites import for_mode, load_suite
from evals.tasks import CaseInputs, CaseMeta, CaseNames, CaseOutput, Mode, TaskFactory
from evals.terminal import make_progress

# One greedy sample per task (pass@1); a HumanEval solution fits in well under 1024 tokens, and
# the cap stops a small model that loops from holding a server slot for minutes.
HUMANEVAL_SETTINGS = ModelSettings(temperature=0.0, max_tokens=1024)


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


@dataclass(frozen=True)
class CaseRun:
    """One run of one case: what a durable run enqueues, and what its result is keyed by."""

    model: str
    suite: str
    mode: Mode
    case: str
    sample: int = 0


def case_runs(jobs: Sequence[Job], samples: int = 1) -> list[CaseRun]:
    """Every case run of the jobs, in plan order: job, case, then sample."""
    return [
        CaseRun(job.model, job.suite, job.mode, case.name or "case", sample)
        for job in jobs
        for case in job.dataset.cases
        for sample in range(samples)
    ]


def task_for(
    factory: TaskFactory, job: Job, sample: int = 0
) -> Callable[[CaseInputs], Awaitable[CaseOutput]]:
    """The task that answers the job's cases: the pipeline, or the generator alone."""
    if job.mode == "pipeline":
        return factory.pipeline_task(job.model, suite=job.suite, sample=sample)
    # HumanEval is asked the way its published scores were measured: its own prompt, greedy
    published = job.suite == "humaneval"
    return factory.generator_task(
        job.model,
        suite=job.suite,
        overrides=HUMANEVAL_SETTINGS if published else None,
        with_instructions=not published,
        sample=sample,
    )


def collecting(
    job: Job,
    sample: int,
    run_dir: Path,
    rows: list[CaseResult],
    on_case: Callable[[Job], None] | None = None,
) -> type[CaseNames]:
    """A case lifecycle that appends each judged case's row to `rows` as soon as it ends."""

    class Collect(CaseNames):
        async def teardown(self, result: Any) -> None:
            if result is not None:
                rows.append(
                    CaseResult.from_result(
                        result,
                        suite=job.suite,
                        model=job.model,
                        mode=job.mode,
                        run_dir=run_dir,
                        sample=sample,
                    )
                )
            if on_case:
                on_case(job)

    return Collect


async def evaluate_case(
    factory: TaskFactory, job: Job, case_name: str, sample: int, run_dir: Path
) -> CaseResult:
    """One case of a job, answered and judged: its row (a durable run's unit of work)."""
    [case] = [c for c in job.dataset.cases if c.name == case_name]
    rows: list[CaseResult] = []
    one = Dataset[CaseInputs, Any, CaseMeta](
        name=job.dataset.name, cases=[case], evaluators=job.dataset.evaluators
    )
    await one.evaluate(
        task_for(factory, job, sample),
        name=f"{job.suite}:{job.model}:{job.mode}",
        max_concurrency=1,
        progress=False,
        lifecycle=collecting(job, sample, run_dir, rows),
    )
    return rows[0]


def unplanned(jobs: Sequence[Job], suites: Sequence[str], modes: Sequence[Mode]) -> list[str]:
    """A note for each suite and mode that got no job: the suite has no cases that run so."""
    return [
        f"{s} has no {m} cases"
        for s in suites
        for m in modes
        if not any(j.suite == s and j.mode == m for j in jobs)
    ]


async def run_jobs(
    jobs: list[Job],
    factory: TaskFactory,
    run_dir: Path,
    *,
    concurrency: int,
    on_case: Callable[[Job], None] | None = None,
    collected: list[CaseResult] | None = None,
    samples: int = 1,
) -> list[CaseResult]:
    """Every job concurrently, in this process (no durable state: evals.durable runs the
    same cases resumably); per-model caps live in the factory's gates.

    Each case's row is appended to `collected` as soon as it is judged, so an interrupted
    run still has the cases that finished.
    """
    rows: list[CaseResult] = collected if collected is not None else []

    async def one(job: Job, sample: int) -> None:
        await job.dataset.evaluate(
            task_for(factory, job, sample),
            name=f"{job.suite}:{job.model}:{job.mode}",
            max_concurrency=concurrency,
            progress=False,
            lifecycle=collecting(job, sample, run_dir, rows, on_case),
        )

    await asyncio.gather(*(one(job, sample) for job in jobs for sample in range(samples)))
    order: dict[tuple[Any, ...], int] = {
        (r.model, r.suite, r.mode, r.case, r.sample): i for i, r in enumerate(case_runs(jobs, samples))
    }
    rows.sort(key=lambda r: order.get(r.key, 0))
    return rows


def run_with_progress(
    jobs: list[Job],
    factory: TaskFactory,
    run_dir: Path,
    *,
    concurrency: int,
    console: Console,
    collected: list[CaseResult],
) -> None:
    """`run_jobs` with a progress bar per job; SIGTERM interrupts it like Ctrl-C
    (KeyboardInterrupt), and `collected` holds the cases that finished."""
    progress = make_progress(console)
    bars = {
        id(job): progress.add_task(f"{job.model} {job.suite}/{job.mode}", total=len(job.dataset.cases))
        for job in jobs
    }
    with sigterm_interrupts(), progress:
        asyncio.run(
            run_jobs(
                jobs,
                factory,
                run_dir,
                concurrency=concurrency,
                on_case=lambda job: progress.advance(bars[id(job)]),
                collected=collected,
            )
        )


def stop_local_servers() -> None:
    """Stop the model servers this process started for `local:` models; agents.local is optional."""
    try:
        from agents.local.server import stop_all_servers
    except ImportError:
        return
    stop_all_servers()
