"""The code editor: the generator's model asked for SEARCH/REPLACE edits of failing files.

The same model and system prompt as the code generator, but a plain answer: no rewrite
loop for "lazy" answers, because an edit names only the lines it changes on purpose.
Whether the edits apply is decided by tools/edits.py; the repair loop falls back to a
whole-file answer when the model wrote whole files instead.
"""

from __future__ import annotations

import time

from pydantic_ai import Agent, capture_run_messages
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RunUsage, UsageLimits

from agents.manifest import AgentUsage
from agents.prompts import load_prompt

editor_agent = Agent(
    name="code_editor",
    output_type=str,
    instructions=load_prompt("generator"),
    defer_model_check=True,
)


async def ask_for_edits(
    prompt: str,
    model: Model | str,
    *,
    record: AgentUsage,
    model_settings: ModelSettings | None = None,
    usage: RunUsage | None = None,
    usage_limits: UsageLimits | None = None,
) -> str:
    """The model's answer to an edit request; `record` gets its usage even when this raises."""
    started = time.perf_counter()
    with capture_run_messages() as messages:
        try:
            result = await editor_agent.run(
                prompt,
                model=model,
                model_settings=model_settings,
                usage=usage,
                usage_limits=usage_limits,
            )
        finally:
            record.add_messages(messages, time.perf_counter() - started)
    return result.output
