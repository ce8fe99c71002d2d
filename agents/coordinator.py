"""The coordinator: turns a request into a spec and delegates through tool calls.

Its three tools run the code generator, extract files from the answer, and check and
write them (that last one is the run's output, so no extra turn is spent after it).
Code never passes through the coordinator's context: the tools keep the answer and the
files in the run's state and return a short summary, because on a local model every
token the coordinator reads costs seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic_ai import Agent, ModelRetry, RunContext, ToolOutput
from pydantic_ai.models import Model
from pydantic_ai.usage import UsageLimits

from agents.config import Settings
from agents.extractor import choose_layout
from agents.generator import Generation, generate
from agents.manifest import CheckRecord, FileRecord, LazyRecord, Manifest, Role
from agents.progress import Reporter
from agents.prompts import load_prompt
from tools.checks import check_files
from tools.extract import ExtractedFile
from tools.extract import extract_files as extract_from_answer
from tools.files import write_files as write_safely


class LazyOutputError(RuntimeError):
    """The generator stayed lazy after its rewrites."""

    error_class = "lazy_output"


@dataclass
class PipelineState:
    """Everything one run shares between the coordinator's tools."""

    request: str
    settings: Settings
    models: dict[str, Model]
    manifest: Manifest
    out_dir: Path
    force: bool = False
    reporter: Reporter = field(default_factory=Reporter)
    usage_limits: UsageLimits | None = None
    generation: Generation | None = None
    files: list[ExtractedFile] | None = None

    stage: str = "coordinator"  # the role at work: a failure is charged to it in the history

    def label(self, role: str) -> str:
        return self.settings.model_for(role)

    def begin(self, role: str, action: str) -> None:
        self.stage = role
        self.reporter.stage(role, self.label(role), action)

    def finish(self, role: str, summary: str) -> None:
        self.stage = "coordinator"
        self.reporter.done(role, summary)


async def write_files(ctx: RunContext[PipelineState]) -> str:
    """Check the extracted files and write them to the output folder. Call this last."""
    state = ctx.deps
    if state.files is None:
        raise ModelRetry("There are no extracted files yet: call extract_files first.")
    checks = check_files(state.files)
    written = write_safely(state.out_dir, state.files, force=state.force)
    languages = {f.name: f.language for f in state.files}
    state.manifest.files = [
        FileRecord(name=w.name, bytes=w.bytes, sha256=w.sha256, language=languages.get(w.name))
        for w in written
    ]
    state.manifest.checks = [CheckRecord(name=c.name, passed=c.passed, detail=c.detail) for c in checks]
    failed = [c.name for c in checks if not c.passed]
    summary = f"Wrote {len(written)} files to {state.out_dir}; checks: " + (
        f"{len(failed)} failed ({', '.join(failed)})" if failed else f"all {len(checks)} passed"
    )
    state.finish("coordinator", summary)
    return summary


coordinator_agent = Agent(
    name="coordinator",
    deps_type=PipelineState,
    output_type=ToolOutput(write_files, name="write_files"),
    instructions=load_prompt("coordinator"),
    retries=2,
    defer_model_check=True,
)


@coordinator_agent.tool(sequential=True)
async def generate_code(ctx: RunContext[PipelineState], spec: str) -> str:
    """Have the code generator write the complete program.

    Args:
        spec: One to three sentences: what to build, the language and the files.
    """
    state = ctx.deps
    if state.generation is not None:
        return "The code is already generated and complete. Call extract_files next."
    state.manifest.spec = spec
    role: Role = "generator"
    state.begin(role, "writing code")
    # The user's own words go first: a small coordinator's spec can lose the point.
    prompt = f"{state.request}\n\nPlan: {spec}" if spec.strip() else state.request
    generation = await generate(
        prompt,
        state.models[role],
        model_settings=state.settings.role_settings[role],
        usage=ctx.usage,
        usage_limits=state.usage_limits,
        on_tokens=lambda n: state.reporter.tokens(role, n),
        record=state.manifest.agents[role],
    )
    state.generation = generation
    verdict = generation.lazy
    state.manifest.lazy = LazyRecord(
        lazy=verdict.lazy,
        rewrites=generation.rewrites,
        placeholders=[p.text for p in verdict.placeholders],
    )
    if verdict.lazy:
        raise LazyOutputError(
            f"the generator's code is still incomplete after {generation.rewrites} rewrites: "
            f"{verdict.reason()}"
        )
    rewrites = f" after {generation.rewrites} rewrites" if generation.rewrites else ""
    state.finish(role, f"wrote {len(generation.text):,} characters{rewrites}")
    return (
        f"Generated {len(generation.text):,} characters of complete code{rewrites}. Call extract_files next."
    )


@coordinator_agent.tool(sequential=True)
async def extract_files(ctx: RunContext[PipelineState]) -> str:
    """Split the generated answer into files (names, languages, sizes)."""
    state = ctx.deps
    if state.generation is None:
        raise ModelRetry("There is no code yet: call generate_code first.")
    extraction = extract_from_answer(state.generation.text)
    record = state.manifest.agents["extractor"]
    files = extraction.files
    if extraction.ambiguous:
        role = "extractor"
        state.begin(role, "choosing the file layout")
        files = await choose_layout(
            state.request,
            extraction.blocks,
            state.models[role],
            record=record,
            model_settings=state.settings.role_settings[role],
            usage=ctx.usage,
            usage_limits=state.usage_limits,
        )
        state.manifest.layout = f"chosen by the extractor agent: {extraction.reason}"
    else:
        record.note = "not needed: the layout was unambiguous"
        state.manifest.layout = extraction.reason
    state.files = files
    listing = ", ".join(f"{f.name} ({len(f.content):,} chars)" for f in files)
    state.finish("extractor", listing)
    return f"Files: {listing}. Call write_files next."
