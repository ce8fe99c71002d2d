"""Rotation: chains from the history, cool-downs, the circuit breaker, HTTP backoff, fallback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from pydantic_ai import Agent
from pydantic_ai.exceptions import FallbackExceptionGroup, ModelHTTPError
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from agents.config import Settings
from agents.manifest import AgentUsage
from agents.models.build import chain_models, resilient_model
from agents.models.retrying import RetryPolicy, retrying_client
from agents.models.rotation import CircuitBreaker
from tools.history import CallRecord, History

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
SETTINGS = Settings(coordinator="test", generator="test", extractor="test")


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path / "h.sqlite")


class Clock:
    """A settable wall clock."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def record(history: History, model: str, outcomes: str, latency: float, role: str = "generator") -> None:
    """One call per character of `outcomes`: "o" ok, "e" error."""
    for i, o in enumerate(outcomes):
        history.record_call(
            CallRecord(
                model=model, role=role, task_type="code_generation", started=T0 + timedelta(seconds=i),
                duration=latency, requests=1, input_tokens=10, output_tokens=10, cost=None,
                outcome="ok" if o == "o" else "error", error_class=None if o == "o" else "rate_limited",
            )
        )  # fmt: skip


# -- chains ----------------------------------------------------------------------------------


def test_auto_orders_by_success_then_latency_local_last(history: History, monkeypatch) -> None:
    for key in ("OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.setenv(key, "sk-test")
    monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
    record(history, "ollama:qwen2.5-coder:14b", "oooo", 30.0)  # perfect but local: last
    record(history, "openai:gpt-4o", "oooe", 5.0)  # 75%
    record(history, "openrouter:anthropic/claude-sonnet-4.5", "oooo", 9.0)  # 100%, slower
    record(history, "openrouter:z-ai/glm-4.7", "oooo", 4.0)  # 100%, fastest
    record(history, "openrouter:qwen/qwen-2.5-coder-32b-instruct", "eeee", 1.0)  # never worked
    record(history, "deepseek:deepseek-chat", "oooo", 1.0)  # no key here
    record(history, "openai:gpt-3.5-turbo", "oooo", 0.5, role="coordinator")  # another role

    chain = chain_models("auto", SETTINGS, history=history, role="generator")
    assert chain == [
        "openrouter:z-ai/glm-4.7",
        "openrouter:anthropic/claude-sonnet-4.5",
        "openai:gpt-4o",
        "ollama:qwen2.5-coder:14b",
    ]
    assert (
        chain.notes[0]
        == "left out deepseek:deepseek-chat: missing API key for 'deepseek:deepseek-chat': set DEEPSEEK_API_KEY in the environment or in .env"
    )
    assert chain.notes[1] == "left out openrouter:qwen/qwen-2.5-coder-32b-instruct: 0 of 4 calls succeeded"


def test_auto_without_role_data_ranks_every_role_and_ends_embedded(history: History, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    record(history, "openai:gpt-4o", "oo", 5.0, role="coordinator")
    chain = chain_models("auto", SETTINGS, history=history, role="extractor")
    assert chain == ["openai:gpt-4o", "local:qwen2.5-coder-1.5b"]
    assert chain.notes == ["no calls recorded for the extractor yet: ranking every role's calls"]
    empty = chain_models("auto", SETTINGS, history=None, role="generator")
    assert (empty, empty.notes) == (
        ["local:qwen2.5-coder-1.5b"],
        ["nothing measured yet: using the embedded local:qwen2.5-coder-1.5b"],
    )


def test_comma_list_keeps_order_and_skips_cooldowns_until_they_expire(history: History) -> None:
    spec = "openai:gpt-4o, google-gla:gemini-2.5-flash,ollama:qwen2.5-coder:14b"
    clock = Clock()
    history.set_cooldown("openai:gpt-4o", until=T0 + timedelta(minutes=10), reason="rate_limited")
    chain = chain_models(spec, SETTINGS, history=history, role="generator", clock=clock)
    assert chain == ["google:gemini-2.5-flash", "ollama:qwen2.5-coder:14b"]
    assert chain.notes == ["skipped openai:gpt-4o: cooling down until 12:10 UTC"]

    clock.now = T0 + timedelta(minutes=11)
    assert chain_models(spec, SETTINGS, history=history, role="generator", clock=clock)[0] == "openai:gpt-4o"


def test_when_every_model_cools_down_the_order_is_kept(history: History) -> None:
    for model in ("openai:gpt-4o", "ollama:qwen2.5-coder:14b"):
        history.set_cooldown(model, until=T0 + timedelta(minutes=5), reason="server_error")
    chain = chain_models(
        "openai:gpt-4o,ollama:qwen2.5-coder:14b", SETTINGS, history=history, role="generator", clock=Clock()
    )
    assert chain == ["openai:gpt-4o", "ollama:qwen2.5-coder:14b"]
    assert chain.notes == ["every model is cooling down: trying them in order anyway"]


# -- circuit breaker -------------------------------------------------------------------------


def test_breaker_opens_after_n_failures_in_window_and_closes_on_success(history: History) -> None:
    clock = Clock()
    breaker = CircuitBreaker(history, threshold=3, window=timedelta(minutes=5), clock=clock)
    assert breaker.failure("m", "rate_limited") is None
    clock.now += timedelta(minutes=6)  # the first failure leaves the window
    assert breaker.failure("m", "rate_limited") is None
    assert breaker.failure("m", "rate_limited") is None
    until = breaker.failure("m", "server_error")
    assert until == clock.now + timedelta(minutes=10)
    assert breaker.open_until("m") == until
    assert history.cooldowns(clock.now) == {"m": until}

    # a new run reads the cool-down from the history; a success there closes it
    later = CircuitBreaker(history, clock=clock)
    assert later.open_until("m") == until
    later.success("m")
    assert later.open_until("m") is None
    assert history.cooldowns(clock.now) == {}


def test_breaker_success_resets_the_count_and_retry_after_extends_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(None, threshold=2, cooldown=timedelta(minutes=1), clock=clock)
    breaker.failure("m", "timeout")
    breaker.success("m")
    assert breaker.failure("m", "timeout") is None  # counting starts again
    assert breaker.failure("m", "rate_limited", retry_after=3600) == T0 + timedelta(hours=1)
    clock.now += timedelta(hours=1)
    assert breaker.open_until("m") is None  # expired: half-open, the next request may go through


# -- HTTP backoff ----------------------------------------------------------------------------


class FakeSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def scripted(*answers: tuple[int, dict[str, str]]) -> tuple[httpx2.MockTransport, list[int]]:
    """A transport answering with `answers` (status, headers) in turn; the last one repeats."""
    seen: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        status, headers = answers[min(len(seen), len(answers) - 1)]
        seen.append(status)
        return httpx2.Response(status, headers=headers, json={"error": {"message": f"answer {len(seen)}"}})

    return httpx2.MockTransport(handler), seen


async def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    for _ in range(20):  # jitter is random: check the bounds many times
        sleep = FakeSleep()
        transport, seen = scripted((503, {}), (503, {}), (200, {}))
        async with retrying_client(RetryPolicy(), sleep=sleep, wrapped=transport) as client:
            response = await client.post("https://api.example/v1/chat")
        assert (response.status_code, seen) == (200, [503, 503, 200])
        first, second = sleep.waits
        assert 1.0 <= first <= 2.0 and 2.0 <= second <= 3.0


async def test_retry_after_is_honoured_and_long_ones_move_on_at_once() -> None:
    sleep = FakeSleep()
    transport, seen = scripted((429, {"Retry-After": "3"}), (429, {"retry-after-ms": "1500"}), (200, {}))
    async with retrying_client(sleep=sleep, wrapped=transport) as client:
        assert (await client.post("https://api.example/v1/chat")).status_code == 200
    assert sleep.waits == [3.0, 1.5]

    sleep = FakeSleep()
    transport, seen = scripted((429, {"Retry-After": "3600"}))
    async with retrying_client(sleep=sleep, wrapped=transport) as client:
        response = await client.post("https://api.example/v1/chat")
    assert (response.status_code, seen, sleep.waits) == (429, [429], [])


async def test_out_of_retries_the_last_error_answer_is_handed_over_readable() -> None:
    sleep = FakeSleep()
    transport, seen = scripted((500, {}), (502, {}), (503, {}), (200, {}))
    async with retrying_client(
        RetryPolicy(attempts=3, max_wait=0.5), sleep=sleep, wrapped=transport
    ) as client:
        response = await client.post("https://api.example/v1/chat")
    assert (response.status_code, seen) == (503, [500, 502, 503])
    assert response.json() == {"error": {"message": "answer 3"}}
    assert all(w <= 0.5 for w in sleep.waits)  # capped waits


def chat_completion(text: str) -> dict:
    return {
        "id": "c1", "object": "chat.completion", "created": 1735732800, "model": "gpt-4o",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }  # fmt: skip


async def test_a_real_provider_retries_once_through_the_transport_and_sdk_retries_stay_off(
    monkeypatch,
) -> None:
    monkeypatch.setattr("pydantic_ai.models.ALLOW_MODEL_REQUESTS", True)  # MockTransport: no network
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    seen: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(len(seen))
        if len(seen) in (1, 3, 4, 5):  # 1: retried, then ok; 3-5: out of retries
            return httpx2.Response(
                429, headers={"Retry-After": "1"}, json={"error": {"message": "slow down"}}
            )
        return httpx2.Response(200, json=chat_completion("hello"))

    client = retrying_client(sleep=FakeSleep(), wrapped=httpx2.MockTransport(handler))
    model = resilient_model(["openai-chat:gpt-4o"], SETTINGS, history=None, http_client=client)
    agent = Agent(model)
    assert (await agent.run("hi")).output == "hello"
    assert len(seen) == 2
    with pytest.raises(FallbackExceptionGroup) as info:
        await agent.run("hi")
    (error,) = info.value.exceptions
    assert isinstance(error, ModelHTTPError) and error.status_code == 429  # not a connection error
    assert len(seen) == 5  # three transport attempts, no SDK retries on top
    await client.aclose()


# -- fallback --------------------------------------------------------------------------------


def rate_limited(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    raise ModelHTTPError(429, "primary", body={"error": "rate limited"})


def answers(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[TextPart("print('hi')")])


async def test_fallback_moves_on_after_429_and_records_the_answering_model(history: History) -> None:
    models = {"openrouter:a": FunctionModel(rate_limited, model_name="primary"),
              "ollama:b": FunctionModel(answers, model_name="backup")}  # fmt: skip
    calls: list[str] = []

    def build(spec: str, settings: Settings) -> FunctionModel:
        calls.append(spec)
        return models[spec]

    clock = Clock()
    breaker = CircuitBreaker(history, threshold=2, clock=clock)
    model = resilient_model(list(models), SETTINGS, history=history, build=build, breaker=breaker)
    agent = Agent(model)

    result = await agent.run("write hello world")
    usage = AgentUsage(model="openrouter:a,ollama:b")
    usage.add_messages(result.all_messages(), 0.1)
    assert usage.answered_by == ["backup"]
    (response,) = [m for m in result.all_messages() if isinstance(m, ModelResponse)]
    assert [a.model_name for a in response.failed_attempts] == ["primary"]

    await agent.run("again")  # second 429: the breaker opens and the history keeps the cool-down
    assert history.cooldowns(clock.now) == {"openrouter:a": clock.now + timedelta(minutes=10)}
    assert json.dumps(calls) == '["openrouter:a", "ollama:b"]'

    result = await agent.run("third time")  # the open circuit skips the primary without a request
    (response,) = [m for m in result.new_messages() if isinstance(m, ModelResponse)]
    assert response.model_name == "backup"
    assert "cooling down until 12:10 UTC" in (response.failed_attempts[0].error or "")


async def test_streamed_requests_fall_back_and_count_too(history: History) -> None:
    async def stream_429(messages: list[ModelMessage], info: AgentInfo):
        raise ModelHTTPError(429, "primary")
        yield ""  # pragma: no cover  (makes this an async generator)

    async def stream_ok(messages: list[ModelMessage], info: AgentInfo):
        yield "print("
        yield "'hi')"

    models = {"openrouter:a": FunctionModel(stream_function=stream_429, model_name="primary"),
              "ollama:b": FunctionModel(stream_function=stream_ok, model_name="backup")}  # fmt: skip
    breaker = CircuitBreaker(history, threshold=1, clock=Clock())
    model = resilient_model(
        list(models), SETTINGS, history=history, build=lambda s, _: models[s], breaker=breaker
    )
    async with Agent(model).run_stream("write hello world") as result:
        chunks = [c async for c in result.stream_text(delta=True, debounce_by=None)]
    assert "".join(chunks) == "print('hi')"
    assert result.response.model_name == "backup"
    assert list(history.cooldowns(T0)) == ["openrouter:a"]
    assert breaker.open_until("ollama:b") is None
