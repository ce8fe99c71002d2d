"""The code-extractor micro-agent: picks the file layout when the answer is ambiguous.

The deterministic extractor in `tools/extract/` does the work; this agent is asked
only when that extractor had to guess. It answers with the layout (block index -> file
name), never by retyping code, so the files stay byte-identical to what the generator
wrote and the agent reads and writes a few hundred tokens at most.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import BaseModel, Field
from pydantic_ai import Agent, ModelRetry, RunContext, capture_run_messages
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RunUsage, UsageLimits

from agents.manifest import AgentUsage
from agents.prompts import load_prompt
from tools.extract import CodeBlock, ExtractedFile, apply_layout, describe_blocks
from tools.files import UnsafePathError, safe_relative_path


class BlockFile(BaseModel):
    block: int = Field(description="index of the code block")
    name: str = Field(description="relative file name, e.g. index.html")


class Layout(BaseModel):
    """Which code block goes into which file."""

    files: list[BlockFile]


@dataclass
class ExtractorDeps:
    blocks: list[CodeBlock]


extractor_agent = Agent(
    name="code_extractor",
    deps_type=ExtractorDeps,
    output_type=Layout,
    instructions=load_prompt("extractor"),
    retries=2,
    defer_model_check=True,
)


@extractor_agent.output_validator
def valid_layout(ctx: RunContext[ExtractorDeps], layout: Layout) -> Layout:
    """Every index must exist, every name must be safe, without spaces, and used once."""
    known = {block.index for block in ctx.deps.blocks}
    names: set[str] = set()
    for item in layout.files:
        if item.block not in known:
            raise ModelRetry(f"There is no block {item.block}; the blocks are {sorted(known)}.")
        try:
            safe_relative_path(item.name)
        except UnsafePathError as exc:
            raise ModelRetry(f"{exc}. Use a plain relative file name.") from None
        if any(c.isspace() for c in item.name):  # "hint index.html": a label read as a name
            raise ModelRetry(f"{item.name!r} has a space in it: give the plain file name, e.g. index.html.")
        if item.name in names:
            raise ModelRetry(f"The name {item.name} is used twice; give each file its own name.")
        names.add(item.name)
    if not layout.files:
        raise ModelRetry("Name at least one block: the program's main file.")
    return layout


async def choose_layout(
    request: str,
    blocks: list[CodeBlock],
    model: Model | str,
    *,
    record: AgentUsage,
    model_settings: ModelSettings | None = None,
    usage: RunUsage | None = None,
    usage_limits: UsageLimits | None = None,
) -> list[ExtractedFile]:
    """Ask the micro-agent for the layout of `blocks`; `record` gets its usage."""
    prompt = f"User request: {request}\n\nCode blocks:\n{describe_blocks(blocks)}"
    started = time.perf_counter()
    with capture_run_messages() as messages:
        try:
            result = await extractor_agent.run(
                prompt,
                model=model,
                deps=ExtractorDeps(blocks),
                model_settings=model_settings,
                usage=usage,
                usage_limits=usage_limits,
            )
        finally:
            record.add_messages(messages, time.perf_counter() - started)
    return apply_layout(blocks, {item.block: item.name for item in result.output.files})
