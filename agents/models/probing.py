"""Probing: a tiny chat request and a tiny tool-call request per model, through pydantic-ai.

Each request is recorded in the history as a "probe" call, and each result as a probe.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from agents.config import api_key
from agents.models.discovery import DiscoveredModel, ProbeResult
from tools.errors import ErrorClass, classify_error
from tools.history import CallRecord, History, ProbeRecord

CHAT_PROMPT = "Reply with the single word: pong"
TOOL_PROMPT = "Use the add tool to add 2 and 3, then reply with the sum."


def _pydantic_model(m: DiscoveredModel, timeout: float) -> tuple[Any, Any]:
    """A pydantic-ai chat model for `m` (and its client), no client retries, short timeout."""
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.ollama import OllamaProvider
    from pydantic_ai.providers.openai import OpenAIProvider
    from pydantic_ai.providers.openrouter import OpenRouterProvider

    if m.provider == "openrouter":
        key = api_key("OPENROUTER_API_KEY") or "no-key-set"
    else:
        key = api_key("OLLAMA_API_KEY") or "api-key-not-set"
    client = AsyncOpenAI(base_url=m.base_url, api_key=key, max_retries=0, timeout=timeout)
    provider_cls = {"openrouter": OpenRouterProvider, "ollama": OllamaProvider}.get(
        m.provider, OpenAIProvider
    )
    return OpenAIChatModel(m.name, provider=provider_cls(openai_client=client)), client


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


@dataclass
class _Attempt:
    ok: bool
    duration: float
    usage: Any = None
    error: BaseException | None = None


async def _attempt(agent: Any, prompt: str, timeout: float, **kwargs: Any) -> _Attempt:
    from pydantic_ai.usage import UsageLimits

    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(
            agent.run(prompt, usage_limits=UsageLimits(request_limit=3), **kwargs), timeout + 1
        )
    except Exception as exc:
        return _Attempt(False, time.perf_counter() - started, error=exc)
    return _Attempt(True, time.perf_counter() - started, usage=result.usage)


def _record_call(history: History, model: str, attempt: _Attempt, started: datetime) -> None:
    usage = attempt.usage
    cost = getattr(usage, "cost", None)
    history.record_call(
        CallRecord(
            model=model,
            role="probe",
            task_type=None,
            started=started,
            duration=attempt.duration,
            requests=getattr(usage, "requests", 1) if usage else 1,
            input_tokens=getattr(usage, "input_tokens", 0) if usage else 0,
            output_tokens=getattr(usage, "output_tokens", 0) if usage else 0,
            cost=float(cost) if cost is not None else None,
            outcome="ok" if attempt.ok else "error",
            error_class=None if attempt.error is None else classify_error(attempt.error).value,
            source="probe",
        )
    )


async def probe_one(
    m: DiscoveredModel, *, timeout: float = 30, history: History | None = None
) -> ProbeResult:
    """Chat once and ask for one tool call; classify what went wrong."""
    from pydantic_ai import Agent

    model, client = _pydantic_model(m, timeout)
    settings = {"max_tokens": 64, "temperature": 0.0, "timeout": timeout}
    started = datetime.now(UTC)
    chat = await _attempt(Agent(model, output_type=str), CHAT_PROMPT, timeout, model_settings=settings)
    if history is not None:
        _record_call(history, m.model, chat, started)
    if not chat.ok:
        assert chat.error is not None
        result = ProbeResult(
            m.model,
            reachable=False,
            latency=None,
            supports_tools=None,
            error_class=classify_error(chat.error).value,
            detail=_one_line(chat.error),
            retry_after=getattr(chat.error, "retry_after", None),
            base_url=m.base_url,
        )
    else:
        called: list[tuple[int, int]] = []

        def add(a: int, b: int) -> int:
            """Add two integers."""
            called.append((a, b))
            return a + b

        tool_started = datetime.now(UTC)
        tools = await _attempt(
            Agent(model, output_type=str, tools=[add]), TOOL_PROMPT, timeout, model_settings=settings
        )
        if history is not None:
            _record_call(history, m.model, tools, tool_started)
        error_class = classify_error(tools.error) if tools.error else None
        if called:
            supports, detail = True, f"called add{called[0]}"
            error_class = None  # e.g. a small model looping on the tool: it still calls tools
        elif tools.ok:
            supports, detail = False, "answered without calling the tool"
        elif error_class is ErrorClass.no_tool_support and tools.error is not None:
            supports, detail = False, _one_line(tools.error)
        else:
            supports, detail = None, f"tool probe failed: {_one_line(tools.error or RuntimeError())}"
        result = ProbeResult(
            m.model,
            reachable=True,
            latency=round(chat.duration, 3),
            supports_tools=supports,
            error_class=error_class.value if error_class else None,
            detail=detail,
            retry_after=getattr(tools.error, "retry_after", None),
            base_url=m.base_url,
        )
    await client.close()
    if history is not None:
        history.record_probe(ProbeRecord(started=started, **asdict(result)))
    return result


async def probe(
    models: list[DiscoveredModel],
    *,
    concurrency: int = 4,
    timeout: float = 30,
    history: History | None = None,
) -> list[ProbeResult]:
    """Probe every model, at most `concurrency` at a time; results in the input order."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def guarded(m: DiscoveredModel) -> ProbeResult:
        async with gate:
            return await probe_one(m, timeout=timeout, history=history)

    return list(await asyncio.gather(*(guarded(m) for m in models)))
