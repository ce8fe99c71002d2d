"""HTTP retries for model providers: one client that backs off, honours Retry-After, and gives up.

`retrying_client` returns an `httpx2.AsyncClient` whose transport is pydantic-ai's
`AsyncHTTPX2TenacityTransport` (the httpx2 successor of `AsyncTenacityTransport`, which 2.62
deprecates) with `wait_retry_after`. It retries 408/429/5xx/529 answers and connect/pool
timeouts, at most `RetryPolicy.attempts` times, with exponential backoff plus jitter, honouring
Retry-After (and retry-after-ms) up to `max_retry_after`. A longer Retry-After ends the retries
at once: the next model is better than a long wait. Read timeouts are not retried (a model that
took the whole read timeout is replaced, not asked again). The last failed answer reaches the
provider SDK unchanged, so pydantic-ai still raises its usual `ModelHTTPError(429)`.

agents/models/rotation.py puts this client under its fallback chains and circuit breaker.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from pydantic_ai.retries import AsyncHTTPX2TenacityTransport, RetryConfig, wait_retry_after
from tenacity import (
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})  # 529: Anthropic "overloaded"
RETRY_EXCEPTIONS = (httpx2.HTTPStatusError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the HTTP layer tries one model before the fallback moves on."""

    attempts: int = 3  # including the first request
    initial: float = 1.0  # first backoff wait (s), doubled on each retry
    max_wait: float = 8.0  # cap of one backoff wait (s), jitter included
    jitter: float = 1.0  # up to this many seconds added at random, so clients spread out
    max_retry_after: float = 20.0  # honour Retry-After up to this; longer: give up on this model now


_header_wait = wait_retry_after(lambda _state: 0.0, max_wait=math.inf)  # Retry-After alone, uncapped


class StopWhenRetryAfterExceeds(stop_base):
    """Stop when the server asks to wait longer than `limit` seconds (Retry-After)."""

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def __call__(self, retry_state: RetryCallState) -> bool:
        return _header_wait(retry_state) > self.limit


def retry_config(
    policy: RetryPolicy = RetryPolicy(), *, sleep: Callable[[float], Any] = asyncio.sleep
) -> RetryConfig:
    """Tenacity settings for the retrying transport; `sleep` is swappable so tests never wait."""
    backoff = wait_exponential_jitter(initial=policy.initial, max=policy.max_wait, jitter=policy.jitter)

    return RetryConfig(
        retry=retry_if_exception_type(RETRY_EXCEPTIONS),
        wait=wait_retry_after(backoff, max_wait=policy.max_retry_after),
        stop=stop_after_attempt(policy.attempts) | StopWhenRetryAfterExceeds(policy.max_retry_after),
        sleep=sleep,
        retry_error_callback=_last_answer,
    )


def _last_answer(state: RetryCallState) -> httpx2.Response:
    """Out of retries: hand the SDK the last error answer itself, so it raises its usual error."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, httpx2.HTTPStatusError):
        return exc.response
    raise exc or RuntimeError("retry stopped without an outcome")


def _raise_if_retryable(response: httpx2.Response) -> None:
    if response.status_code in RETRY_STATUSES:
        raise httpx2.HTTPStatusError(str(response.status_code), request=response.request, response=response)


class _ReadRetryableBodies(httpx2.AsyncBaseTransport):
    """Reads the (small) body of an answer that may be retried: the retrying transport closes
    it, and the last one is handed to the SDK afterwards, which must still read its error."""

    def __init__(self, wrapped: httpx2.AsyncBaseTransport) -> None:
        self.wrapped = wrapped

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.wrapped.handle_async_request(request)
        if response.status_code in RETRY_STATUSES:
            await response.aread()
        return response

    async def aclose(self) -> None:
        await self.wrapped.aclose()


def retrying_client(
    policy: RetryPolicy = RetryPolicy(),
    *,
    sleep: Callable[[float], Any] = asyncio.sleep,
    wrapped: httpx2.AsyncBaseTransport | None = None,
) -> httpx2.AsyncClient:
    """An HTTP client for providers that retries like `policy` says (see the module docstring)."""
    from pydantic_ai.models import create_async_httpx2_client

    transport = AsyncHTTPX2TenacityTransport(
        retry_config(policy, sleep=sleep),
        _ReadRetryableBodies(wrapped or httpx2.AsyncHTTPTransport()),
        validate_response=_raise_if_retryable,
    )
    return create_async_httpx2_client(transport=transport)
