"""Durable eval runs on DBOS: a run survives its process, and several processes share it.

A run is the DBOS workflow `codecrew.eval_run` (workflow ID = the run id, input = the run's
spec). It plans the case runs (model × suite × mode × case × sample) in one step, then
enqueues each as the child workflow `codecrew.eval_case` with the ID
`<run id>|<model>|<suite>|<mode>|<case>|<sample>` on its provider's queue
(`codecrew-evals-<provider>`, partitioned by model). A case workflow answers and judges its
case in one step (evals.jobs.evaluate_case) and returns the row (a CaseResult as a dict):
that output, recorded once per workflow ID, is the case's result. Starting or enqueueing a
workflow whose ID exists is a no-op, so a run enqueued twice still has each case once.

Queues: each provider's queue carries its limits (agents.models.catalog.provider_limits: models.yaml,
CODECREW_PROVIDER_LIMITS, --provider-limit): `rate` cases started per period and
`concurrency` cases at once, across every process sharing the database; per model and
process, at most the run's --concurrency cases. DBOS enforces all three in the database.

Where the state lives: agents.config.DurableSettings (a SQLite file in the cache folder,
or CODECREW_DATABASE_URL=postgresql://...). Every process that opens a `Session` (the
process that started the run, `evals.run --resume`, `evals.worker`) takes cases from the
queues, beats for the workflows it runs (the workflow attribute `heartbeat`), and
supervises: a pending workflow whose process is gone (same host: its pid is dead; another
host: no heartbeat for CODECREW_WORKER_TIMEOUT seconds) goes back on its queue
(DBOS.resume_workflow) and runs again from its last finished step; a case whose worker died
MAX_REQUEUES times is given up (cancelled; reported as a harness error).

The state database does not grow without end: each run started prunes the runs that
finished (SUCCESS) more than KEEP_FINISHED_DAYS ago, with their case workflows. Their
reports and history rows stay; within those days `--resume` of a finished run rewrites its
report from the stored results.

DBOS is imported here, and this module only where a run needs it, so `--help` stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID, WorkflowStatus
from pydantic_evals import Dataset

from agents.config import DurableSettings
from agents.models.catalog import ProviderLimit, limit_provider, provider_limits
from evals.jobs import CaseRun, Job, case_runs, evaluate_case
from evals.results import HARNESS_ERROR, CaseResult
from evals.suites import for_mode, load_suite
from evals.tasks import CaseInputs, CaseMeta, Mode, TaskFactory

APP_NAME = "codecrew"
# Every process sharing a database must run the same version to take each other's cases;
# bump it when a workflow's inputs or steps change.
APP_VERSION = "evals-1"
RUN_WORKFLOW = "codecrew.eval_run"
CASE_WORKFLOW = "codecrew.eval_case"
QUEUE_PREFIX = "codecrew-evals-"
QUEUE_POLL_S = 0.2  # how often a process looks for cases it may start
HEARTBEAT_S = 2.0
SUPERVISE_S = 2.0
MAX_REQUEUES = 3
KEEP_FINISHED_DAYS = 7
TERMINAL = ("SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")


class RunNotFound(LookupError):
    """--resume of a run id the database does not hold."""


class DatabaseUnavailable(RuntimeError):
    """DBOS could not open the state database; the message is one line saying which."""


@dataclass
class RunSpec:
    """What a run is: the workflow's input, and all that --resume and workers need."""

    run_id: str
    started: str
    models: list[str]
    suites: list[str]
    modes: list[Mode]
    limit: int | None = None
    samples: int = 1
    concurrency: int = 2
    case_timeout: float = 900.0
    report_dir: str = "reports"  # absolute, as the starting process saw it
    options: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        return Path(self.report_dir) / self.run_id

    def case_runs(self) -> list[CaseRun]:
        return case_runs(plan_jobs(self), self.samples)


def case_id(run_id: str, run: CaseRun) -> str:
    """The workflow ID of a case run: its result key."""
    return "|".join([run_id, run.model, run.suite, run.mode, run.case, str(run.sample)])


def queue_name(model: str) -> str:
    return QUEUE_PREFIX + limit_provider(model)


# --- planning (cached: a worker looks up the case of every case run it takes) ----------


@functools.lru_cache(maxsize=16)
def _dataset(suite: str, limit: int | None) -> Dataset[CaseInputs, Any, CaseMeta]:
    return load_suite(suite, limit)


def plan_jobs(spec: RunSpec) -> list[Job]:
    """evals.jobs.plan with the datasets cached."""
    jobs = []
    for model in spec.models:
        for suite in spec.suites:
            for mode in spec.modes:
                subset = for_mode(_dataset(suite, spec.limit), mode)
                if subset is not None:
                    jobs.append(Job(model, suite, mode, subset))
    return jobs


def job_for(spec: RunSpec, run: CaseRun) -> Job:
    subset = for_mode(_dataset(run.suite, spec.limit), run.mode)
    if subset is None:
        raise LookupError(f"{run.suite} has no {run.mode} cases")
    return Job(run.model, run.suite, run.mode, subset)


# --- the workflows ------------------------------------------------------------------------


@DBOS.step(name="codecrew.plan_cases")
async def plan_cases(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's case runs, checkpointed: a resumed run enqueues exactly these."""
    return [asdict(run) for run in RunSpec(**spec).case_runs()]


@DBOS.workflow(name=RUN_WORKFLOW)
async def eval_run(spec: dict[str, Any]) -> list[str]:
    """Enqueue every case run of the run on its provider's queue; returns their IDs."""
    with current().running(DBOS.workflow_id, None):
        ids = []
        for run in map(lambda r: CaseRun(**r), await plan_cases(spec)):
            wid = case_id(spec["run_id"], run)
            with SetWorkflowID(wid), SetEnqueueOptions(queue_partition_key=run.model):
                await DBOS.enqueue_workflow_async(queue_name(run.model), eval_case, spec, asdict(run))
            ids.append(wid)
        return ids


@DBOS.step(name="codecrew.judge_case")
async def judge_case(spec: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """Answer and judge one case; every failure becomes a row, never an exception."""
    run_spec, case_run = RunSpec(**spec), CaseRun(**run)
    try:
        factory = current().factory(run_spec)
        job = job_for(run_spec, case_run)
        row = await evaluate_case(factory, job, case_run.case, case_run.sample, factory.run_dir)
    except Exception as exc:  # a bug of ours or a broken checker: reported, the run goes on
        row = harness_row(case_run, f"the eval harness failed: {type(exc).__name__}: {exc}")
    return asdict(row)


@DBOS.workflow(name=CASE_WORKFLOW)
async def eval_case(spec: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """One case run; its output is its result."""
    with current().running(DBOS.workflow_id, queue_name(run["model"])):
        return await judge_case(spec, run)


def harness_row(run: CaseRun, reason: str) -> CaseResult:
    return CaseResult(
        suite=run.suite,
        model=run.model,
        mode=run.mode,
        case=run.case,
        passed=False,
        reason=reason[:1000],
        error_class="unknown",
        failure=HARNESS_ERROR,
        duration=0.0,
        sample=run.sample,
    )


# --- liveness -----------------------------------------------------------------------------


def executor_id(role: str) -> str:
    """`role:host:pid`: unique per process, and says where to look whether it still runs."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def is_lost(
    status: WorkflowStatus,
    now_ms: float,
    timeout_s: float,
    *,
    host: str,
    alive: Callable[[int], bool] = pid_alive,
) -> bool:
    """Whether a PENDING workflow's process is gone: on this host, its pid is not running;
    anywhere, nothing (heartbeat, dequeue, status change) was heard of it for `timeout_s`."""
    parts = (status.executor_id or "").split(":")
    if len(parts) == 3 and parts[1] == host and parts[2].isdigit() and not alive(int(parts[2])):
        return True
    attributes = status.attributes or {}
    heard = [attributes.get("heartbeat"), status.dequeued_at, status.updated_at, status.created_at]
    last = max((float(t) for t in heard if isinstance(t, int | float)), default=0.0)
    return now_ms - last > timeout_s * 1000


def warm_up() -> None:
    """Load what answering a case needs before taking any (imports, and what pydantic-evals
    and logfire load on their first case), so that a process's first case asks its model
    as soon after it starts as the others: provider limits count case starts."""
    import importlib

    from pydantic_evals import Case

    for name in ("agents.generator", "agents.pipeline", "evals.evaluators", "pydantic_ai.models.openai"):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)

    async def echo(inputs: str) -> str:
        return inputs

    dataset = Dataset[str, str, None](name="warm-up", cases=[Case(name="warm-up", inputs="x")])
    with contextlib.suppress(Exception):
        asyncio.run(dataset.evaluate(echo, progress=False))


# --- a process's session --------------------------------------------------------------------


class Session:
    """This process as a DBOS executor: launched on a database, taking cases from the queues,
    beating for its workflows and requeueing the workflows of processes that died."""

    def __init__(self, settings: DurableSettings, role: str, report_dir: Path | None = None) -> None:
        self.settings = settings
        self.executor_id = executor_id(role)
        self.report_dir = report_dir  # a worker's own --report-dir; None: the run's
        self.factories: dict[str, TaskFactory] = {}  # run id -> factory (scripted in tests)
        self.active: dict[str, str | None] = {}  # workflow id -> its queue, while it runs here
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    # -- life cycle

    def launch(self) -> None:
        warm_up()
        url = self.settings.database_url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": url,
            "application_version": APP_VERSION,
            "executor_id": self.executor_id,
            "log_level": "ERROR",
        }
        DBOS(config=config)
        dbos_log = logging.getLogger("dbos")
        level, dbos_log.level = dbos_log.level, logging.CRITICAL  # a failed launch: our one line
        try:
            DBOS.launch()
        finally:
            dbos_log.setLevel(level)
        for target in (self._beat, self._supervise):
            thread = threading.Thread(target=target, name=f"codecrew-{target.__name__}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        DBOS.destroy(workflow_completion_timeout_sec=0)

    @contextlib.contextmanager
    def running(self, workflow_id: str | None, queue: str | None) -> Iterator[None]:
        """Marks a workflow as running here (heartbeats) while the block runs."""
        if workflow_id is None:
            yield
            return
        with self.lock:
            self.active[workflow_id] = queue
        try:
            yield
        finally:
            with self.lock:
                self.active.pop(workflow_id, None)

    def factory(self, spec: RunSpec) -> TaskFactory:
        """The run's TaskFactory in this process: its per-model gates live as long as we do."""
        with self.lock:
            if spec.run_id not in self.factories:
                base = self.report_dir or Path(spec.report_dir)
                try:  # the starter's folder may not exist on this machine
                    (base / spec.run_id).mkdir(parents=True, exist_ok=True)
                except OSError:
                    base = Path("reports").resolve()
                self.factories[spec.run_id] = TaskFactory(
                    base / spec.run_id, concurrency=spec.concurrency, case_timeout=spec.case_timeout
                )
            return self.factories[spec.run_id]

    # -- heartbeats and supervision (threads: no workflow context, plain DBOS calls)

    def _beat(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            with self.lock:
                ids = list(self.active)
            for wid in ids:
                with contextlib.suppress(Exception):  # a missed beat is not fatal
                    DBOS.update_workflow_attributes(wid, {"heartbeat": time.time() * 1000}, merge=True)

    def _supervise(self) -> None:
        while not self.stop.wait(SUPERVISE_S):
            with contextlib.suppress(Exception):
                self.requeue_lost()

    def requeue_lost(self) -> list[str]:
        """Put the pending workflows of dead processes back on their queues; returns their IDs."""
        pending = DBOS.list_workflows(
            status="PENDING", name=[RUN_WORKFLOW, CASE_WORKFLOW], load_input=False, load_output=False
        )
        host, now_ms, moved = socket.gethostname(), time.time() * 1000, []
        for status in pending:
            if status.executor_id == self.executor_id:
                continue
            if not is_lost(status, now_ms, self.settings.worker_timeout, host=host):
                continue
            requeued = int((status.attributes or {}).get("requeued", 0))
            if status.name == CASE_WORKFLOW and requeued >= MAX_REQUEUES:
                reason = f"its worker died {requeued + 1} times (last: {status.executor_id})"
                DBOS.update_workflow_attributes(status.workflow_id, {"gave_up": reason}, merge=True)
                DBOS.cancel_workflow(status.workflow_id)
                continue
            DBOS.update_workflow_attributes(
                status.workflow_id, {"requeued": requeued + 1, "heartbeat": None}, merge=True
            )
            DBOS.resume_workflow(status.workflow_id, queue_name=status.queue_name)
            moved.append(status.workflow_id)
        return moved

    def requeue_own(self) -> None:
        """On a clean stop: our running workflows go back on their queues for others."""
        with self.lock:
            active = dict(self.active)
        for wid, queue in active.items():
            with contextlib.suppress(Exception):
                DBOS.resume_workflow(wid, queue_name=queue)

    # -- runs

    def register_queues(self, spec: RunSpec, overrides: str = "") -> None:
        """One queue per provider of the run's models, with the provider's limits; the
        run's --concurrency caps each model in each process (a partition per model)."""
        limits = provider_limits(overrides or self.settings.provider_limits)
        for provider in dict.fromkeys(limit_provider(m) for m in spec.models):
            limit = limits.get(provider, ProviderLimit())
            per_model = (
                spec.concurrency if limit.concurrency is None else min(spec.concurrency, limit.concurrency)
            )
            DBOS.register_queue(
                QUEUE_PREFIX + provider,
                global_concurrency=limit.concurrency,
                limiter={"limit": limit.rate, "period": limit.period} if limit.rate else None,
                partition_worker_concurrency=per_model,
                polling_interval_sec=QUEUE_POLL_S,
                on_conflict="always_update",
            )

    def start(self, spec: RunSpec) -> None:
        """Start the run's workflow (a no-op for a run that exists)."""
        with SetWorkflowID(spec.run_id):
            DBOS.start_workflow(eval_run, asdict(spec))

    def load_spec(self, run_id: str) -> RunSpec:
        found = DBOS.list_workflows(workflow_ids=[run_id], name=RUN_WORKFLOW, load_output=False)
        if not found or not found[0].input:
            raise RunNotFound(run_id)
        args = found[0].input.get("args") if isinstance(found[0].input, dict) else None
        spec = args[0] if args else found[0].input["kwargs"]["spec"]
        return RunSpec(**spec)

    def resume(self, spec: RunSpec) -> None:
        """Continue a run: its workflow and every case without a result, wherever they stopped."""
        statuses = self.statuses(spec)
        run = DBOS.list_workflows(workflow_ids=[spec.run_id], load_input=False, load_output=False)
        if run and run[0].status not in ("SUCCESS", "PENDING", "ENQUEUED"):
            DBOS.resume_workflow(spec.run_id)
        for status in statuses.values():
            if status.status in ("CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"):
                DBOS.update_workflow_attributes(
                    status.workflow_id, {"requeued": 0, "gave_up": None}, merge=True
                )
                DBOS.resume_workflow(status.workflow_id, queue_name=status.queue_name)
        self.requeue_lost()

    def prune(self, days: float = KEEP_FINISHED_DAYS) -> int:
        """Delete the runs that finished more than `days` ago, with their case workflows;
        returns how many runs."""
        from datetime import UTC, datetime, timedelta

        cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat()
        finished = DBOS.list_workflows(
            name=RUN_WORKFLOW, status="SUCCESS", completed_before=cutoff, load_input=False, load_output=False
        )
        ids = [status.workflow_id for status in finished]
        if ids:
            DBOS.delete_workflows(ids, delete_children=True)
        return len(ids)

    def cancel(self, spec: RunSpec) -> int:
        """Stop a run everywhere (Ctrl-C): cases not finished are cancelled; --resume
        continues them. Returns how many were cancelled."""
        open_ids = [wid for wid, s in self.statuses(spec).items() if s.status not in TERMINAL]
        run = DBOS.list_workflows(workflow_ids=[spec.run_id], load_input=False, load_output=False)
        if run and run[0].status not in TERMINAL:
            open_ids.append(spec.run_id)
        if open_ids:
            DBOS.cancel_workflows(open_ids)
        return len(open_ids)

    def statuses(self, spec: RunSpec, *, outputs: bool = False) -> dict[str, WorkflowStatus]:
        found = DBOS.list_workflows(
            workflow_id_prefix=spec.run_id + "|", name=CASE_WORKFLOW, load_input=False, load_output=outputs
        )
        return {s.workflow_id: s for s in found}

    async def wait(
        self, spec: RunSpec, on_progress: Callable[[dict[str, str]], None] | None = None, poll: float = 0.25
    ) -> None:
        """Until the run's workflow has enqueued everything and every case run is done;
        `on_progress` gets {case id: status} of the finished ones as they come."""
        expected = {case_id(spec.run_id, r) for r in spec.case_runs()}
        while True:
            run = await DBOS.list_workflows_async(
                workflow_ids=[spec.run_id], load_input=False, load_output=False
            )
            found = await DBOS.list_workflows_async(
                workflow_id_prefix=spec.run_id + "|", name=CASE_WORKFLOW, load_input=False, load_output=False
            )
            done: dict[str, str] = {
                s.workflow_id: s.status for s in found if s.status in TERMINAL and s.workflow_id in expected
            }
            if on_progress:
                on_progress(done)
            if run and run[0].status == "ERROR":
                raise RuntimeError(f"the run's workflow failed: {run[0].error}")
            if run and run[0].status == "CANCELLED":
                raise KeyboardInterrupt  # cancelled elsewhere: report what finished
            if run and run[0].status == "SUCCESS" and len(done) == len(expected):
                return
            await asyncio.sleep(poll)

    def results(self, spec: RunSpec) -> list[CaseResult]:
        """Each finished case run's row, once, in plan order; a case given up after its
        workers died, or whose workflow failed, is a harness error."""
        runs = spec.case_runs()
        statuses = self.statuses(spec, outputs=True)
        rows = []
        for run in runs:
            status = statuses.get(case_id(spec.run_id, run))
            if status is None:
                continue
            if status.status == "SUCCESS" and isinstance(status.output, dict):
                rows.append(CaseResult(**status.output))
            elif gave_up := (status.attributes or {}).get("gave_up"):
                rows.append(harness_row(run, f"not judged: {gave_up}"))
            elif status.status in ("ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"):
                rows.append(harness_row(run, f"the case workflow failed: {status.error or status.status}"))
        return rows


def safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


_current: Session | None = None


def current() -> Session:
    if _current is None:
        raise RuntimeError("no durable session in this process: open one with evals.durable.session()")
    return _current


@contextlib.contextmanager
def session(
    role: str, settings: DurableSettings | None = None, *, report_dir: Path | None = None
) -> Iterator[Session]:
    """This process as a DBOS executor for the block (one at a time per process)."""
    global _current
    if _current is not None:
        raise RuntimeError("a durable session is already open in this process")
    opened = Session(settings or DurableSettings.load(), role, report_dir)
    try:
        opened.launch()
    except Exception as exc:
        with contextlib.suppress(Exception):
            DBOS.destroy(workflow_completion_timeout_sec=0)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot open the eval state database {safe_url(opened.settings.database_url)}: {first}"
        ) from exc
    _current = opened
    try:
        yield opened
    finally:
        _current = None
        opened.close()
