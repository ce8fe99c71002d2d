"""One run: request -> coordinator -> generator -> extractor -> checked files + manifest.

`run_pipeline` raises only for configuration errors found before any model is asked
(`ConfigError`, e.g. an empty prompt, an unknown model string or an output folder that
cannot be written). Everything that goes wrong later ends in a manifest with status
"error" or "lazy", written to disk with the raw answer, so nothing a run produced is lost;
a cancelled run (a signal: agents.run) ends "interrupted" with the answer streamed so far.
If the output folder stops being writable mid-run, answer and manifest go to the cache
folder instead (`manifest.saved_to` says where).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import warnings
from contextlib import suppress
from pathlib import Path

from pydantic_ai import capture_run_messages
from pydantic_ai.usage import RunUsage, UsageLimits

from agents.config import ROLE_VARS, ConfigError, Settings, cache_dir
from agents.coordinator import LazyOutputError, PipelineState, coordinator_agent
from agents.generator import AnswerSoFar, capture_answer
from agents.manifest import ROLES, AgentUsage, Manifest, RunTotals
from agents.models.build import build_model
from agents.progress import Reporter
from agents.verification import LoopFinished, RepairLoop
from tools.errors import classify_error, describe_error
from tools.history import CallRecord, History, RunRecord
from tools.sandbox import sandbox_status

ANSWER_FILE = "answer.md"  # the generator's raw answer, kept next to the files
EMPTY_PROMPT = 'the prompt is empty: say what to build, e.g. python -m agents.run "build tetris"'


def usage_limits(settings: Settings) -> UsageLimits:
    return UsageLimits(
        request_limit=settings.request_limit,
        cost_limit=settings.cost_limit,  # type: ignore[arg-type]  # float is fine at run time
    )


async def run_pipeline(
    request: str,
    settings: Settings,
    out_dir: Path,
    *,
    force: bool = False,
    reporter: Reporter | None = None,
    task_type: str | None = None,
    route: str | None = None,
    source: str = "run",
) -> Manifest:
    """Run the whole pipeline for `request`; write files and manifest.json into `out_dir`."""
    request = request.strip()
    if not request:
        raise ConfigError(EMPTY_PROMPT)
    ensure_writable(out_dir)
    if not force and out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"{out_dir} is not empty: pass --force to overwrite, or choose another --out")
    models = {role: build_model(settings.model_for(role), settings) for role in ROLE_VARS}
    reporter = reporter or Reporter()
    manifest = Manifest(
        request=request,
        task_type=task_type,
        route=route,
        out_dir=str(out_dir),
        agents={role: AgentUsage(model=settings.model_for(role)) for role in ROLES},
        # the files will run in the sandbox: never on a weaker one without saying so
        sandbox_warning=sandbox_status().warning,
    )
    if manifest.sandbox_warning:
        reporter.note(manifest.sandbox_warning)
    state = PipelineState(
        request=request,
        settings=settings,
        models=models,
        manifest=manifest,
        out_dir=out_dir,
        force=force,
        reporter=reporter,
        usage_limits=usage_limits(settings),
    )
    started = time.perf_counter()
    coordinator = manifest.agents["coordinator"]
    run_usage = RunUsage()  # shared with the sub-agents through ctx.usage
    answer = AnswerSoFar()  # the generator's answer as it streams in (capture_answer)
    try:
        # messages: the coordinator's own turns only
        with capture_answer() as answer, capture_run_messages() as messages:
            try:
                reporter.stage("coordinator", settings.coordinator, "planning")
                # LoopFinished: a repair asked for past the cap, after being told: the run is done
                with suppress(LoopFinished):
                    await coordinator_agent.run(
                        request,
                        model=models["coordinator"],
                        deps=state,
                        model_settings=settings.role_settings["coordinator"],
                        usage=run_usage,
                        usage_limits=state.usage_limits,
                    )
            finally:
                coordinator.add_messages(messages, 0.0)
        manifest.status = "ok"
        if not state.versions.kept:
            raise RuntimeError("the coordinator finished without writing any files")
    except asyncio.CancelledError:  # a signal (agents.run): keep what there is, then stop
        manifest.status = "interrupted"
        manifest.error = f"interrupted while the {state.stage} was working"
        manifest.failed_role = state.stage
        raise
    except Exception as exc:  # every failure is recorded, none is lost
        manifest.status = "lazy" if isinstance(exc, LazyOutputError) else "error"
        manifest.error = describe_error(exc)
        manifest.error_class = classify_error(exc).value
        manifest.failed_role = state.stage
    finally:
        manifest.duration = time.perf_counter() - started
        manifest.totals = RunTotals(
            requests=run_usage.requests,
            tool_calls=run_usage.tool_calls,
            input_tokens=run_usage.input_tokens,
            output_tokens=run_usage.output_tokens,
        )
        # The coordinator's time is what the sub-agents did not spend.
        others = sum(a.duration for role, a in manifest.agents.items() if role != "coordinator")
        others += sum(v.verify_duration for v in manifest.verification.versions)  # the judge's time
        coordinator.duration = max(manifest.duration - others, 0.0)
        conclude(state.versions)
        text = state.generation.text if state.generation is not None else answer.text
        save_partial(out_dir, manifest, text if manifest.status not in ("ok", "not_working") else None)
        record_history(manifest, source=source)
    return manifest


def ensure_writable(out_dir: Path) -> None:
    """Raise ConfigError (before any model is asked) if files cannot be written in `out_dir`."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".codecrew-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot write to {out_dir} ({reason}): choose another --out") from None


def save_partial(out_dir: Path, manifest: Manifest, answer: str | None) -> None:
    """Write the manifest (and the raw `answer`, if given) into `out_dir`; if that fails,
    into <cache>/unsaved/<run id>, recorded in `manifest.saved_to`. Never raises for a folder."""
    for folder in (out_dir, cache_dir() / "unsaved" / manifest.run_id):
        try:
            if folder != out_dir:
                manifest.saved_to = str(folder)
            folder.mkdir(parents=True, exist_ok=True)
            if answer is not None:
                (folder / ANSWER_FILE).write_text(answer, encoding="utf-8", newline="")
            manifest.write(folder)
            return
        except OSError as exc:
            warnings.warn(f"could not write to {folder}: {exc}", stacklevel=2)
    manifest.saved_to = None


def conclude(loop: RepairLoop) -> None:
    """The run's final verdict: the kept version's, with "not_working" when it fails."""
    loop.finish()
    loop.close()
    verdict = loop.verdict
    if loop.manifest.status == "ok" and verdict is not None and verdict.status == "failed":
        loop.manifest.status = "not_working"


def record_history(manifest: Manifest, *, source: str = "run") -> None:
    """One history row per agent that worked, and one for the run with its verdict;
    a history that fails never fails the run."""
    try:
        history = History()
        for role, agent in manifest.agents.items():
            if not agent.requests:
                continue
            failed = manifest.status != "ok" and manifest.failed_role == role
            history.record_call(
                CallRecord(
                    model=agent.model,
                    role=role,
                    task_type=manifest.task_type,
                    started=manifest.started,
                    duration=agent.duration,
                    requests=agent.requests,
                    input_tokens=agent.input_tokens,
                    output_tokens=agent.output_tokens,
                    cost=agent.cost,
                    outcome=_outcome(manifest.status) if failed else "ok",
                    error_class=manifest.error_class if failed else None,
                    run_id=manifest.run_id,
                    source=source,
                    answered_by=None if agent.answered_model() == agent.model else agent.answered_model(),
                )
            )
        history.record_run(run_record(manifest, source=source))
    except Exception as exc:  # e.g. a read-only cache folder
        warnings.warn(f"history not recorded: {exc}", stacklevel=2)


def run_record(manifest: Manifest, *, source: str = "run") -> RunRecord:
    """The history's row of a run: its models, how it ended and the judge's final verdict."""
    verification = manifest.verification
    verdict = verification.verdict
    agents = manifest.agents
    return RunRecord(
        run_id=manifest.run_id,
        started=manifest.started,
        task_type=manifest.task_type,
        coordinator_model=agents["coordinator"].model if "coordinator" in agents else None,
        generator_model=agents["generator"].model if "generator" in agents else "unknown",
        extractor_model=agents["extractor"].model if "extractor" in agents else None,
        status=manifest.status,
        verdict=verdict.status if verdict is not None else None,
        judge=verdict.judge if verdict is not None else None,
        score=verdict.score if verdict is not None else None,
        repairs_used=verification.repairs_used,
        samples=verification.samples,
        versions_judged=sum(v.verdict is not None for v in verification.versions),
        duration=manifest.duration,
        input_tokens=sum(a.input_tokens for a in agents.values()),
        output_tokens=sum(a.output_tokens for a in agents.values()),
        cost=manifest.total_cost,
        source=source,
    )


def _outcome(status: str) -> str:
    """The history outcome of the role a run failed in."""
    return status if status in ("lazy", "interrupted") else "error"
