"""The eval tasks: one model answers one case, as the generator alone or through the pipeline.

A task never raises for a model failure: it returns a `CaseOutput` holding the error and
its class (tools.errors), the usage the model reported (tokens, requests, cost: None when
the provider has no price), the files it produced and where they were written. The
evaluators then decide pass/fail by running those files (evals/evaluators.py).

    factory = TaskFactory(run_dir, concurrency=2, case_timeout=600)
    task = factory.generator_task("openai:gpt-4o", suite="bench")
    report = await dataset.evaluate(task, max_concurrency=2)
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings
from pydantic_evals.lifecycle import CaseLifecycle

from tools.errors import ErrorClass, classify_error

Mode = Literal["generator", "pipeline"]
MODES: tuple[Mode, ...] = ("generator", "pipeline")

# A failure of one of these classes means every further case would fail the same way:
# the remaining cases of that model are skipped with the same class (no 164 timeouts).
FATAL_CLASSES = frozenset(
    {ErrorClass.config, ErrorClass.auth, ErrorClass.not_found, ErrorClass.connection_refused}
)
RATE_LIMIT_STREAK = 3  # consecutive 429s after which a model is given up for this run

# The case being run; set by CaseNames (the lifecycle passed to Dataset.evaluate).
CURRENT_CASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("case", default=None)


class CaseInputs(BaseModel):
    """What the model is asked: the prompt exactly as it is sent."""

    prompt: str


class CaseMeta(BaseModel):
    """What a case is about; evaluators read the rest of what they need from their args."""

    modes: list[Mode] = Field(default_factory=lambda: list[Mode](["generator"]))
    language: str | None = None
    file: str | None = None  # the file name the prompt asks for
    description: str | None = None
    # humaneval only: the task as published, so the check can rebuild the program
    task_id: str | None = None
    entry_point: str | None = None
    original_prompt: str | None = None
    test: str | None = None


class CaseOutput(BaseModel):
    """One model's answer to one case, and what it cost."""

    model: str
    mode: Mode
    text: str = ""
    files: dict[str, str] = Field(default_factory=dict)
    work_dir: str | None = None  # the folder holding the files (a site to open); its parent
    # holds answer.md and screenshot.png
    error: str | None = None
    error_class: str | None = None
    skipped: bool = False  # not asked: the model had already failed for good in this run
    lazy: bool = False
    placeholders: list[str] = Field(default_factory=list)
    rewrites: int = 0
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    duration: float = 0.0
    started: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    agents: dict[str, dict[str, Any]] = Field(default_factory=dict)  # pipeline: per role
    # pipeline: the run's own verdict on its kept files, and how many versions it made
    verdict: str | None = None  # verified / failed / not_verified / infrastructure
    versions: int = 0
    repairs_used: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def slug(text: str, limit: int = 80) -> str:
    """A file-system-safe name for a model string or case name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"
    return cleaned[:limit]


def safe_relpath(name: str, index: int, language: str | None = None) -> str:
    """A relative path inside the work dir for a file name a model chose (tools.files rules);
    a name that would escape becomes `file<index>.<ext>`."""
    from tools.files import UnsafePathError, safe_relative_path

    try:
        return str(safe_relative_path(name))
    except UnsafePathError:
        ext = {"python": "py", "javascript": "js", "typescript": "ts", "html": "html"}
        return f"file{index}.{ext.get(language or '', 'txt')}"


def write_files(work_dir: Path, files: dict[str, str]) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        target = work_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def extracted_files(text: str) -> tuple[dict[str, str], str | None]:
    """The files in an answer (tools.extract) as {safe name: content}, plus a note."""
    from tools.extract import extract_files

    extraction = extract_files(text)
    files: dict[str, str] = {}
    for i, item in enumerate(extraction.files):
        rel = safe_relpath(item.name, i, item.language)
        while rel in files:
            rel = f"{i}_{rel}"
        files[rel] = item.content
    note = extraction.reason if getattr(extraction, "ambiguous", False) else None
    return files, note


@dataclass
class ModelGate:
    """Per-model state shared by all its cases: the concurrency cap and the circuit breaker."""

    spec: str
    semaphore: asyncio.Semaphore
    model: Model | None = None
    build_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    fatal: tuple[str, str] | None = None  # (error class, message) that stopped this model
    rate_limited: int = 0

    def note(self, error_class: str | None, message: str | None) -> None:
        if error_class == ErrorClass.rate_limited:
            self.rate_limited += 1
            if self.rate_limited >= RATE_LIMIT_STREAK:
                self.fatal = (error_class, f"{RATE_LIMIT_STREAK} rate limits in a row: {message}")
            return
        self.rate_limited = 0
        if error_class in FATAL_CLASSES and self.fatal is None:
            self.fatal = (error_class, message or error_class)


Builder = Callable[[str], Model]
Generate = Callable[..., Awaitable[Any]]


def _default_builder(settings: Any) -> Builder:
    from agents.models.build import build_model

    return lambda spec: build_model(spec, settings)


def _error_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


class TaskFactory:
    """Builds the per-model task functions `Dataset.evaluate` runs.

    `settings` is agents.config.Settings (loaded on first use when None); `builder` turns a
    model string into a pydantic-ai Model (tests pass FunctionModels here).
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        concurrency: int = 2,
        case_timeout: float = 900.0,
        settings: Any | None = None,
        builder: Builder | None = None,
        generate_fn: Generate | None = None,
        pipeline_fn: Generate | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.concurrency = concurrency
        self.case_timeout = case_timeout
        self._settings = settings
        self._builder = builder
        self._generate = generate_fn
        self._pipeline = pipeline_fn
        self.gates: dict[str, ModelGate] = {}

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from agents.config import Settings

            self._settings = Settings.load()
        return self._settings

    def gate(self, spec: str, mode: Mode = "generator") -> ModelGate:
        """The model's gate for `mode`. Both modes share the model's concurrency cap, but
        each has its own circuit breaker: a pipeline failing because its coordinator is
        down says nothing about the model as a generator."""
        key = f"{mode}:{spec}"
        if key not in self.gates:
            shared = next((g.semaphore for g in self.gates.values() if g.spec == spec), None)
            self.gates[key] = ModelGate(spec, shared or asyncio.Semaphore(self.concurrency))
        return self.gates[key]

    def work_dir(self, suite: str, spec: str, mode: Mode, case: str, sample: int = 0) -> Path:
        """Where a case's answer and files go; each sample after the first has its own."""
        name = slug(case) if not sample else f"{slug(case)}.s{sample}"
        return self.run_dir / "work" / suite / slug(spec) / mode / name

    def _case_output(self, suite: str, spec: str, mode: Mode, sample: int) -> tuple[CaseOutput, Path]:
        """The output of the case running now, and its work dir (the files go in `files`)."""
        out = CaseOutput(model=spec, mode=mode)
        work = self.work_dir(suite, spec, mode, CURRENT_CASE.get() or "case", sample)
        out.work_dir = str(work / "files")
        return out, work

    async def _model(self, gate: ModelGate) -> Model:
        async with gate.build_lock:
            if gate.model is None:
                builder = self._builder or _default_builder(self.settings)
                # building a local: model may start a server: keep the event loop free
                gate.model = await asyncio.to_thread(builder, gate.spec)
            return gate.model

    def _model_settings(self, overrides: ModelSettings | None, sample: int = 0) -> ModelSettings | None:
        """The generator's settings from the config (max tokens...), with the suite's overrides
        and, for every sample after the first, its own seed."""
        settings = self._settings if self._builder is not None else self.settings
        base: dict[str, Any] = dict((getattr(settings, "role_settings", None) or {}).get("generator", {}))
        base.update(overrides or {})
        if sample:
            base["seed"] = sample_seed(base.get("seed"), sample)
        return ModelSettings(**base) if base else None  # type: ignore[typeddict-item]

    def generator_task(
        self,
        spec: str,
        *,
        suite: str,
        overrides: ModelSettings | None = None,
        with_instructions: bool = True,
        sample: int = 0,
    ) -> Callable[[CaseInputs], Awaitable[CaseOutput]]:
        """The generator alone: generate() -> extract -> files in the work dir.

        `overrides` replace the generator's model settings; `with_instructions=False` sends the
        case's prompt without the generator's instructions (a benchmark's published prompt);
        `sample` > 0 asks with another seed and writes to its own work dir."""
        gate = self.gate(spec)

        async def run_generator(inputs: CaseInputs) -> CaseOutput:
            out, work = self._case_output(suite, spec, "generator", sample)
            if gate.fatal:
                return _skipped(out, gate)
            from agents.manifest import AgentUsage

            record = AgentUsage(model=spec)
            started = time.perf_counter()
            try:
                model = await self._model(gate)
                generate = self._generate or _default_generate()
                async with gate.semaphore:
                    if gate.fatal:
                        return _skipped(out, gate)
                    generation = await asyncio.wait_for(
                        generate(
                            inputs.prompt,
                            model,
                            model_label=spec,
                            model_settings=self._model_settings(overrides, sample),
                            record=record,
                            with_instructions=with_instructions,
                        ),
                        timeout=self.case_timeout,
                    )
                out.text = generation.text
                out.lazy = bool(generation.lazy.lazy)
                found = getattr(generation.lazy, "placeholders", None) or []
                out.placeholders = [getattr(p, "text", str(p)) for p in found]
                out.rewrites = generation.rewrites
                if out.lazy:
                    out.error_class = ErrorClass.lazy_output
                files, _ = extracted_files(generation.text)
                out.files = files
            except Exception as exc:
                _failed(out, exc, f"no answer within {self.case_timeout:g}s")
                gate.note(out.error_class, out.error)
            else:
                gate.note(None, None)
            finally:
                out.duration = time.perf_counter() - started
                _copy_usage(out, record)
            work.mkdir(parents=True, exist_ok=True)
            (work / "answer.md").write_text(out.text or (out.error or ""), encoding="utf-8")
            write_files(work / "files", out.files)
            return out

        run_generator.__name__ = f"generator[{spec}]"
        return run_generator

    def pipeline_task(
        self, spec: str, *, suite: str, sample: int = 0
    ) -> Callable[[CaseInputs], Awaitable[CaseOutput]]:
        """The whole pipeline with `spec` as the generator (coordinator/extractor: settings),
        with the run's verify-and-repair loop (settings.repairs, settings.samples: candidates);
        `sample` > 0 (evals.run --samples) gives every role another seed."""
        gate = self.gate(spec, "pipeline")

        async def run_whole_pipeline(inputs: CaseInputs) -> CaseOutput:
            out, work = self._case_output(suite, spec, "pipeline", sample)
            if gate.fatal:
                return _skipped(out, gate)
            started = time.perf_counter()
            try:
                from dataclasses import replace

                settings = replace(self.settings, generator=spec)
                if sample:
                    settings = replace(settings, role_settings=_reseeded(settings.role_settings, sample))
                pipeline = self._pipeline or _default_pipeline()
                async with gate.semaphore:
                    manifest = await asyncio.wait_for(
                        # its history rows (calls, the run's verdict) say they came from an eval
                        pipeline(inputs.prompt, settings, work / "files", force=True, source="eval"),
                        timeout=self.case_timeout,
                    )
                _copy_manifest(out, manifest, work / "files")
            except Exception as exc:
                _failed(out, exc, f"no result within {self.case_timeout:g}s")
            finally:
                out.duration = time.perf_counter() - started
            gate.note(out.error_class if out.error else None, out.error)
            return out

        run_whole_pipeline.__name__ = f"pipeline[{spec}]"
        return run_whole_pipeline


class CaseNames(CaseLifecycle):
    """Tells the task which case it runs (pydantic-evals passes it the inputs only)."""

    async def setup(self) -> None:
        CURRENT_CASE.set(self.case.name)


def sample_seed(seed: Any, sample: int) -> int:
    """The seed of sample `sample` (0 keeps the configured seed)."""
    return (seed if isinstance(seed, int) else 0) + sample


def _reseeded(role_settings: dict[str, ModelSettings], sample: int) -> dict[str, ModelSettings]:
    reseeded = {}
    for role, settings in role_settings.items():
        reseeded[role] = ModelSettings(**settings)
        reseeded[role]["seed"] = sample_seed(settings.get("seed"), sample)
    return reseeded


def _default_generate() -> Generate:
    from agents.generator import generate

    return generate


def _default_pipeline() -> Generate:
    from agents.pipeline import run_pipeline

    return run_pipeline


def _failed(out: CaseOutput, exc: Exception, timed_out: str) -> None:
    """Every model failure becomes data, never a crash: its class and one line (`timed_out`
    when the case ran out of time)."""
    out.error_class = str(classify_error(exc))
    out.error = timed_out if isinstance(exc, TimeoutError) else _error_message(exc)


def _skipped(out: CaseOutput, gate: ModelGate) -> CaseOutput:
    assert gate.fatal is not None
    out.error_class, message = gate.fatal
    out.error = f"skipped: the model already failed with {message}"
    out.skipped = True
    return out


def _copy_usage(out: CaseOutput, usage: Any) -> None:
    out.requests = usage.requests
    out.input_tokens = usage.input_tokens
    out.output_tokens = usage.output_tokens
    out.cost = usage.cost


def _copy_manifest(out: CaseOutput, manifest: Any, files_dir: Path) -> None:
    """Usage summed over the agents; files read back from where the pipeline wrote them."""
    out.agents = {role: usage.model_dump() for role, usage in manifest.agents.items()}
    out.requests = sum(a.requests for a in manifest.agents.values())
    out.input_tokens = sum(a.input_tokens for a in manifest.agents.values())
    out.output_tokens = sum(a.output_tokens for a in manifest.agents.values())
    out.cost = manifest.total_cost
    out.lazy = bool(manifest.lazy.lazy)
    out.placeholders = list(manifest.lazy.placeholders)
    out.rewrites = manifest.lazy.rewrites
    verification = getattr(manifest, "verification", None)
    if verification is not None:
        out.verdict = verification.verdict.status if verification.verdict else None
        out.versions = len(verification.versions)
        out.repairs_used = verification.repairs_used
    for record in manifest.files:
        path = files_dir / record.name
        if path.is_file():
            out.files[record.name] = path.read_text(encoding="utf-8", errors="replace")
    if manifest.status == "error":
        out.error = manifest.error or "the pipeline failed"
        out.error_class = manifest.error_class or str(ErrorClass.unknown)
    elif out.lazy or manifest.status == "lazy":
        out.lazy = True
        out.error_class = ErrorClass.lazy_output
