"""Benchmark runs started from the dashboard: the same eval runs `python -m evals.run` makes.

`start_benchmark` is the one place the dashboard calls into the eval runner: it runs
`evals.run.run_eval` in a background thread with a task factory that counts answered
cases (live progress) and learns the run's id and report folder as soon as the runner
picks them. Everything else here is bookkeeping: the jobs this process started, one at a
time (a second eval run on the same machine would share its browser and its cores).
"""

from __future__ import annotations

import inspect
import io
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.serve.schemas import BenchmarkRequest
from evals.tasks import TaskFactory

RunEval = Callable[..., int]
Builder = Callable[[str], Any]


class BenchmarkRefused(Exception):
    """The request cannot start a run; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class BenchmarkJob:
    """A benchmark this process started; `eval_run_id` is the eval run's own id."""

    id: str
    request: BenchmarkRequest
    suites: list[str]
    modes: list[str]
    total: int
    status: str = "queued"  # queued | running | done | failed | interrupted
    done: int = 0
    eval_run_id: str | None = None
    run_dir: Path | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished: datetime | None = None
    error: str | None = None
    exit_code: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answered(self) -> None:
        with self.lock:
            self.done = min(self.done + 1, self.total)


def validate_model(spec: str) -> str | None:
    """Why `spec` is not one model string evals.run can run, or None when it is.

    One entry of the request's list: no spaces, commas (fallback lists) or junk longer than
    200 characters, then agents.models.build.model_string_problem (the form and provider; a
    missing API key is found by the run itself and reported per model, class `config`).
    """
    from agents.models.build import model_string_problem, normalise_model_string

    spec = normalise_model_string(spec)
    if not spec or len(spec) > 200 or any(c.isspace() or c == "," for c in spec):
        return f"model {spec!r}: one model string per entry, no spaces or commas, at most 200 characters"
    return model_string_problem(spec)


class CountingFactory(TaskFactory):
    """evals.tasks.TaskFactory that tells the job each answered case and the run folder."""

    def __init__(self, job: BenchmarkJob, run_dir: Path, **kwargs: Any) -> None:
        self.job = job
        super().__init__(run_dir, **kwargs)

    @property
    def run_dir(self) -> Path:
        return self._run_dir

    @run_dir.setter
    def run_dir(self, value: Path) -> None:
        # run_eval sets the run's own folder (named by its run id) before any case runs
        self._run_dir = value
        if value.name and value.name != "pending":
            self.job.run_dir = value
            self.job.eval_run_id = value.name

    def _counted(self, task: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(inputs: Any) -> Any:
            try:
                return await task(inputs)
            finally:
                self.job.answered()

        return counted

    def generator_task(self, spec: str, **kwargs: Any) -> Any:
        return self._counted(super().generator_task(spec, **kwargs))

    def pipeline_task(self, spec: str, **kwargs: Any) -> Any:
        return self._counted(super().pipeline_task(spec, **kwargs))


def _default_run_eval() -> RunEval:
    from evals.run import run_eval

    return run_eval


def start_benchmark(
    job: BenchmarkJob,
    *,
    reports_dir: Path,
    builder: Builder | None = None,
    run_eval: RunEval | None = None,
) -> threading.Thread:
    """Run `job` as an eval run in a background thread (evals.run.run_eval); returns the thread.

    The run writes its report under `reports_dir` and its cases into the history, as
    `python -m evals.run` does. `builder` (tests) turns model strings into scripted models.
    """
    runner = run_eval or _default_run_eval()

    def work() -> None:
        from rich.console import Console

        job.status = "running"
        try:
            settings = None
            if builder is None:
                from evals.run import load_settings

                settings, _ = load_settings()
            factory = CountingFactory(job, reports_dir / "pending", settings=settings, builder=builder)
            kwargs: dict[str, Any] = {}
            if job.request.samples > 1:
                kwargs["samples"] = job.request.samples
            job.exit_code = runner(
                list(job.request.models),
                job.suites,
                job.modes,
                limit=job.request.limit,
                report_dir=reports_dir,
                console=Console(file=io.StringIO(), width=150),
                factory=factory,
                settings=settings,
                **kwargs,
            )
            job.status = "interrupted" if job.exit_code in (130, 143) else "done"
        except Exception as exc:  # the job says why; the server carries on
            job.status = "failed"
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            job.error = f"{type(exc).__name__}: {first_line}"
        finally:
            job.finished = datetime.now(UTC)

    thread = threading.Thread(target=work, name=f"benchmark-{job.id}", daemon=True)
    thread.start()
    return thread


def supports_samples(run_eval: RunEval) -> bool:
    """Whether this codecrew's runner takes `samples` (evals.run --samples N)."""
    try:
        return "samples" in inspect.signature(run_eval).parameters
    except (TypeError, ValueError):
        return False


class Benchmarks:
    """The benchmark jobs of this server process; one runs at a time."""

    def __init__(
        self,
        reports_dir: Path,
        *,
        builder: Builder | None = None,
        run_eval: RunEval | None = None,
        check_setup: bool = True,
    ) -> None:
        self.reports_dir = reports_dir
        self.builder = builder
        self.run_eval = run_eval
        self.check_setup = check_setup
        self.jobs: dict[str, BenchmarkJob] = {}
        self.threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> BenchmarkJob | None:
        """A job by its id or by its eval run's id."""
        if job := self.jobs.get(job_id):
            return job
        return next((j for j in self.jobs.values() if j.eval_run_id == job_id), None)

    def start(self, request: BenchmarkRequest) -> BenchmarkJob:
        """Check the request, plan it, and start it; BenchmarkRefused says why not."""
        from evals.jobs import plan
        from evals.suites import SUITES, SetupProblem, preflight

        problems = [p for m in request.models if (p := validate_model(m))]
        if problems:
            raise BenchmarkRefused(422, "; ".join(problems))
        if len(set(request.models)) != len(request.models):
            raise BenchmarkRefused(422, "each model may be listed once")
        runner = self.run_eval or _default_run_eval()
        if request.samples > 1 and not supports_samples(runner):
            raise BenchmarkRefused(422, "this codecrew's evals.run has no --samples yet: send samples=1")
        suites: list[str] = list(SUITES) if request.suite == "all" else [request.suite]
        modes: list[str] = ["generator", "pipeline"] if request.mode == "both" else [request.mode]
        if self.check_setup:
            try:
                preflight(suites)
            except SetupProblem as exc:
                raise BenchmarkRefused(503, f"setup: {exc}") from None
        jobs = plan(request.models, suites, modes, request.limit)  # type: ignore[arg-type]
        total = sum(len(j.dataset.cases) for j in jobs) * request.samples
        with self._lock:
            running = [j for j in self.jobs.values() if j.status in ("queued", "running")]
            if running:
                busy = running[0].id
                raise BenchmarkRefused(409, f"benchmark {busy} is still running: wait for it to end")
            job = BenchmarkJob(
                id=f"bench-{secrets.token_hex(4)}", request=request, suites=suites, modes=modes, total=total
            )
            self.jobs[job.id] = job
        self.threads[job.id] = start_benchmark(
            job, reports_dir=self.reports_dir, builder=self.builder, run_eval=self.run_eval
        )
        return job
