"""The coordinator: turns a request into a spec and drives the team through tool calls.

Its tools run the code generator, extract files from the answer, write and verify them
(the result is the judge's one-line verdict), repair them from the judge's findings, and
finish. Code never passes through the coordinator's context: the tools keep the answer,
the files and every version in the run's state (agents/verification.py) and return short
summaries, because on a local model every token the coordinator reads costs seconds. The
number of repairs is capped by the settings, whatever the coordinator asks for.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai import Agent, ModelRetry, RunContext, ToolOutput

from agents.generator import Generation, generate
from agents.manifest import AgentUsage, LazyRecord, Role
from agents.prompts import load_prompt
from agents.verification import LazyOutputError, RepairLoop, RunSetup, generation_prompt
from tools.extract import ExtractedFile
from tools.lazy import LazyVerdict

__all__ = ["LazyOutputError", "PipelineState", "coordinator_agent"]


@dataclass
class PipelineState(RunSetup):
    """Everything one run shares between the coordinator's tools."""

    generation: Generation | None = None
    files: list[ExtractedFile] | None = None
    loop: RepairLoop | None = None  # the versions of the files and their verdicts

    stage: str = "coordinator"  # the role at work: a failure is charged to it in the history

    def __post_init__(self) -> None:
        if self.loop is None:
            self.loop = RepairLoop(**self.setup())

    @property
    def versions(self) -> RepairLoop:
        assert self.loop is not None
        return self.loop

    def label(self, role: str) -> str:
        return self.settings.model_for(role)

    def begin(self, role: str, action: str) -> None:
        self.stage = role
        self.reporter.stage(role, self.label(role), action)

    def finish(self, role: str, summary: str) -> None:
        self.stage = "coordinator"
        self.reporter.done(role, summary)


def next_step(loop: RepairLoop) -> str:
    """What the coordinator should do after a verdict (a 1.5B needs it said)."""
    verdict = loop.verdict
    if verdict is not None and verdict.status == "failed" and loop.repairs_left:
        left = loop.repairs_left
        return f"Call repair with one short sentence on what to fix ({left} repairs left), or finish."
    return "Call finish."


async def write_files(ctx: RunContext[PipelineState]) -> str:
    """Write the extracted files to the output folder and run them; returns the verdict."""
    state = ctx.deps
    loop = state.versions
    if loop.versions and loop.kept is not None:
        assert loop.verdict is not None
        return loop.refuse(f"Already written and checked: {loop.verdict.summary()}. {next_step(loop)}")
    if state.files is None:
        raise ModelRetry("There are no extracted files yet: call extract_files first.")
    assert state.generation is not None
    version = loop.new_version("generate")
    version.record.duration = state.generation.duration
    part = state.generation.usage
    version.record.requests = part.requests
    version.record.input_tokens, version.record.output_tokens = part.input_tokens, part.output_tokens
    await loop.accept(version, state.generation.text, state.files)
    assert version.verdict is not None
    summary = f"Wrote {len(loop.owned)} files to {state.out_dir}; {version.verdict.summary()}"
    state.finish("coordinator", summary)
    return f"{summary}. {next_step(loop)}"


async def finish(ctx: RunContext[PipelineState]) -> str:
    """End the run: the best version of the files stays in the output folder."""
    state = ctx.deps
    loop = state.versions
    if loop.kept is None:
        if state.files is None:
            raise ModelRetry(
                "Nothing is written yet: call generate_code, extract_files and write_files first."
            )
        await write_files(ctx)
    assert loop.verdict is not None
    return loop.verdict.summary()


coordinator_agent = Agent(
    name="coordinator",
    deps_type=PipelineState,
    output_type=ToolOutput(finish, name="finish"),
    instructions=load_prompt("coordinator"),
    retries=2,
    defer_model_check=True,
)
coordinator_agent.tool(sequential=True)(write_files)


@coordinator_agent.tool(sequential=True)
async def generate_code(ctx: RunContext[PipelineState], spec: str) -> str:
    """Have the code generator write the complete program.

    Args:
        spec: One to three sentences: what to build, the language and the files.
    """
    state = ctx.deps
    if state.generation is not None or state.versions.versions:
        return "The code is already generated. Call extract_files next."
    state.manifest.spec = spec
    role: Role = "generator"
    prompt, state.manifest.verification.checklist = generation_prompt(
        state.request, spec, checklist=state.settings.checklist
    )
    if state.settings.samples > 1:
        state.begin(role, f"writing {state.settings.samples} candidates")
        best = await state.versions.sample(prompt, ctx.usage)
        state.generation = Generation(
            text=best.text, lazy=_complete(), rewrites=0, usage=state.manifest.agents[role], duration=0.0
        )
        state.files = best.files
        assert best.verdict is not None
        summary = f"kept candidate {best.record.index} of {state.settings.samples}: {best.verdict.summary()}"
        state.finish(role, summary)
        return f"Generated {state.settings.samples} candidates and {summary}. Call write_files next."
    state.begin(role, "writing code")
    part = AgentUsage(model=state.settings.generator)
    try:
        generation = await generate(
            prompt,
            state.models[role],
            model_settings=state.settings.role_settings[role],
            usage=ctx.usage,
            usage_limits=state.usage_limits,
            on_tokens=lambda n: state.reporter.tokens(role, n),
            record=part,
        )
    finally:
        state.manifest.agents[role].merge(part)
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


def _complete() -> LazyVerdict:
    return LazyVerdict(lazy=False, placeholders=[])


@coordinator_agent.tool(sequential=True)
async def extract_files(ctx: RunContext[PipelineState]) -> str:
    """Split the generated answer into files (names, languages, sizes)."""
    state = ctx.deps
    if state.generation is None:
        raise ModelRetry("There is no code yet: call generate_code first.")
    if state.files is None:
        state.begin("extractor", "splitting the answer into files")
        state.files = await state.versions.extract(state.generation.text, ctx.usage)
    listing = ", ".join(f"{f.name} ({len(f.content):,} chars)" for f in state.files)
    state.finish("extractor", listing)
    return f"Files: {listing}. Call write_files next."


@coordinator_agent.tool(sequential=True)
async def repair(ctx: RunContext[PipelineState], notes: str) -> str:
    """Have the generator fix the files from what the run showed; returns the new verdict.

    Args:
        notes: One short sentence: what to fix first.
    """
    loop = ctx.deps.versions
    refusal = loop.refuse_repair()
    if refusal is not None:
        return refusal
    ctx.deps.stage = "generator"
    version = await loop.repair(notes, ctx.usage)
    ctx.deps.stage = "coordinator"
    assert loop.kept is not None and loop.verdict is not None
    kept = (
        "" if loop.kept is version else f" Kept version {loop.kept.record.index}: {loop.verdict.summary()}."
    )
    done = f"Repair {loop.repairs_used} of {loop.settings.repairs}"
    return f"{done}: {loop.describe(version)}.{kept} {next_step(loop)}"
