"""The code generator: writes the code as plain text (no tools, no structured output).

Plain text keeps models without tool support usable in this role. An output validator
sends lazy answers ("// ... rest of the code") and answers without code back with the
reason; when the model is still lazy after its rewrites, the last answer is kept and the
verdict goes into the manifest instead of being lost in an exception.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field

from pydantic_ai import Agent, ModelRetry, RunContext, capture_run_messages
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.messages import AgentStreamEvent, PartDeltaEvent, PartStartEvent, TextPart, TextPartDelta
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RunUsage, UsageLimits

from agents.manifest import AgentUsage
from agents.prompts import load_prompt
from tools.extract import NoCodeError, extract_files
from tools.lazy import LazyVerdict, lazy_verdict

REWRITES = 2  # how often a lazy answer is sent back before we give up


class InvalidAnswerError(RuntimeError):
    """The model never answered with text: a malformed response or a tool call instead."""

    error_class = "invalid_output"


@dataclass
class AnswerSoFar:
    """The generator's latest answer: as streamed so far, or whole once it arrived."""

    text: str = ""


_ANSWER_SO_FAR: ContextVar[AnswerSoFar | None] = ContextVar("codecrew_answer_so_far", default=None)


@contextmanager
def capture_answer() -> Iterator[AnswerSoFar]:
    """Inside, every generator run records its latest answer (streamed text included) in the
    yielded object, so a run stopped mid-answer (a signal, an error) can keep it."""
    holder = AnswerSoFar()
    token = _ANSWER_SO_FAR.set(holder)
    try:
        yield holder
    finally:
        _ANSWER_SO_FAR.reset(token)


def _note_answer(text: str, *, append: bool = False) -> None:
    holder = _ANSWER_SO_FAR.get()
    if holder is not None:
        holder.text = holder.text + text if append else text


@dataclass
class GeneratorDeps:
    attempts: int = 0
    coded: list[tuple[str, LazyVerdict]] = field(default_factory=list)  # answers that had code
    on_tokens: Callable[[int], None] | None = None  # streaming progress: tokens so far
    tokens: int = 0


@dataclass
class Generation:
    text: str
    lazy: LazyVerdict
    rewrites: int
    usage: AgentUsage
    duration: float


generator_agent = Agent(
    name="code_generator",
    deps_type=GeneratorDeps,
    output_type=str,
    instructions=load_prompt("generator"),
    retries={"output": REWRITES},
    defer_model_check=True,
)


@generator_agent.output_validator
def complete_code(ctx: RunContext[GeneratorDeps], answer: str) -> str:
    """Accept only answers with complete code; otherwise say what to fix."""
    if ctx.partial_output:
        return answer
    _note_answer(answer)
    ctx.deps.attempts += 1
    try:
        files = extract_files(answer).files
    except NoCodeError:
        raise ModelRetry(
            "Your answer has no code. Write the complete code in fenced code blocks, "
            "with the file name on the line before each block."
        ) from None
    verdict = lazy_verdict(files)  # per file, so each is read in its own language
    ctx.deps.coded.append((answer, verdict))
    if verdict.lazy:
        raise ModelRetry(f"Your code is incomplete: {verdict.reason()}. Rewrite ALL of it in full.")
    return answer


async def _count_tokens(ctx: RunContext[GeneratorDeps], events: AsyncIterable[AgentStreamEvent]) -> None:
    """Streaming progress: one text delta is about one token on every server we use."""
    async for event in events:
        if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
            _note_answer(event.part.content)  # a new answer (a rewrite) starts
        if isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
            _note_answer(event.delta.content_delta, append=True)
            ctx.deps.tokens += 1
            if ctx.deps.on_tokens:
                ctx.deps.on_tokens(ctx.deps.tokens)


async def generate(
    prompt: str,
    model: Model | str,
    *,
    model_label: str | None = None,
    model_settings: ModelSettings | None = None,
    usage: RunUsage | None = None,
    usage_limits: UsageLimits | None = None,
    on_tokens: Callable[[int], None] | None = None,
    record: AgentUsage | None = None,
    with_instructions: bool = True,
) -> Generation:
    """Ask the generator for code; rewrite lazy answers; raise NoCodeError if none came.

    `record` (if given) is filled with the generator's usage even when this raises.
    `with_instructions=False` sends the prompt alone, for benchmarks whose published scores
    come from their own prompt (our instructions, written for apps, change small models' answers).
    """
    deps = GeneratorDeps(on_tokens=on_tokens)
    record = record or AgentUsage(model=model_label or str(model))
    started = time.perf_counter()
    bare = generator_agent.override(instructions=None) if not with_instructions else nullcontext()
    with capture_run_messages() as messages, bare:  # usage counts even when the run fails
        try:
            await generator_agent.run(
                prompt,
                model=model,
                deps=deps,
                model_settings=model_settings,
                usage=usage,
                usage_limits=usage_limits,
                event_stream_handler=_count_tokens if on_tokens else None,
            )
        except UnexpectedModelBehavior as exc:
            # Out of rewrites: keep the last answer with code and its verdict.
            if not deps.attempts:  # not one text answer: a broken response or a tool call
                raise InvalidAnswerError(f"{record.model} gave no usable text answer: {exc}") from exc
            if not deps.coded:
                raise NoCodeError(
                    f"no code in the answer of {record.model} after {deps.attempts} tries"
                ) from exc
        finally:
            record.add_messages(messages, time.perf_counter() - started)
    text, verdict = deps.coded[-1]
    return Generation(
        text=text,
        lazy=verdict,
        rewrites=max(deps.attempts - 1, 0),
        usage=record,
        duration=time.perf_counter() - started,
    )
