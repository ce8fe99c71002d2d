"""Fallback chains that rotate around failing models: backoff, fallback, circuit breaker.

The chains are built in agents/models/build.py; this module holds what runs under them.

Three layers, innermost first:

1. HTTP retries (`retrying_client`, agents/models/retrying.py): backoff with jitter, Retry-After
   honoured up to a limit, 408/429/5xx/529 and connect/pool timeouts retried a few times.
2. `FallbackModel`: on any `ModelAPIError` (429, 5xx, connection errors, timeouts) the next model.
3. `CircuitBreaker`: N failures of a model within a window put it in a cool-down kept in the
   history (`History.set_cooldown`); this process skips it without a request, and the next run's
   `chain_models` leaves it out. A success closes it again.

What covers which provider: every provider whose class takes `http_client=` gets the retrying
client, and its SDK's own retries are switched off per request (`ModelSettings(max_retries=0)`,
pydantic-ai's advice when something else owns retrying), so one policy applies: openai,
openai-chat, openrouter, ollama, anthropic, google, deepseek, cerebras, together, fireworks,
moonshotai, zai. Providers without `http_client` (bedrock's boto3, ...) keep their SDK's retries;
`local:` (the embedded server, built by build.build_model) and `test` get none: a local server
that fails is down, and the fallback moves on. Everything gets layers 2 and 3.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.exceptions import ModelAPIError, ModelUnavailableError
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings, merge_model_settings

from tools.errors import classify_error
from tools.history import History

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- circuit breaker -----------------------------------------------------------------------


class CircuitBreaker:
    """Opens a model's circuit after `threshold` failures within `window`; a success closes it.

    Open means cooling down until now + `cooldown` (or the provider's Retry-After, if longer),
    recorded in the history, so the next run's `chain_models` skips the model too. Counts live
    in this process; the cool-downs the history already holds are loaded at construction.
    """

    def __init__(
        self,
        history: History | None,
        *,
        threshold: int = 3,
        window: timedelta = timedelta(minutes=5),
        cooldown: timedelta = timedelta(minutes=10),
        clock: Clock = utcnow,
    ) -> None:
        self.history, self.threshold, self.window, self.cooldown, self.clock = (
            history, threshold, window, cooldown, clock,
        )  # fmt: skip
        self._failures: dict[str, list[datetime]] = {}
        self._open: dict[str, datetime] = history.cooldowns(clock()) if history is not None else {}

    def failure(self, model: str, error_class: str, *, retry_after: float | None = None) -> datetime | None:
        """Count one failure; returns the end of the cool-down when this one opened the circuit."""
        now = self.clock()
        recent = [t for t in self._failures.get(model, []) if now - t < self.window] + [now]
        if len(recent) < self.threshold:
            self._failures[model] = recent
            return None
        self._failures.pop(model, None)
        until = now + max(self.cooldown, timedelta(seconds=retry_after or 0))
        self._open[model] = until
        if self.history is not None:
            self.history.set_cooldown(model, until=until, reason=error_class)
        log.warning("%s failed %d times (%s): cooling down until %s", model, len(recent), error_class, until)
        return until

    def record_error(self, model: str, exc: BaseException) -> datetime | None:
        """`failure` for an exception: its error class and the provider's Retry-After."""
        return self.failure(model, classify_error(exc).value, retry_after=getattr(exc, "retry_after", None))

    def success(self, model: str) -> None:
        """A model answered: forget its failures and end any cool-down."""
        self._failures.pop(model, None)
        if self._open.pop(model, None) is not None and self.history is not None:
            self.history.clear_cooldown(model)

    def open_until(self, model: str) -> datetime | None:
        """When `model`'s cool-down ends, or None when its circuit is closed."""
        until = self._open.get(model)
        return until if until is not None and until > self.clock() else None


class WatchedModel(WrapperModel):
    """A model that reports its outcomes to a breaker and is skipped while its circuit is open
    (unless every model of its chain is open: then it is tried anyway)."""

    def __init__(
        self,
        wrapped: Model,
        spec: str,
        breaker: CircuitBreaker | None,
        chain: list[str],
        *,
        sdk_retries: int | None = None,
    ) -> None:
        super().__init__(wrapped)
        self.spec, self.breaker, self.chain = spec, breaker, chain
        self.defaults = ModelSettings(max_retries=sdk_retries) if sdk_retries is not None else None

    def _before(self, model_settings: ModelSettings | None) -> ModelSettings | None:
        b = self.breaker
        until = b.open_until(self.spec) if b is not None else None
        if b is not None and until is not None and not all(b.open_until(m) for m in self.chain):
            raise ModelUnavailableError(self.model_name, f"{self.spec} cooling down until {until:%H:%M} UTC")
        return merge_model_settings(self.defaults, model_settings)

    def _after(self, exc: BaseException | None) -> None:
        if self.breaker is None:
            return
        if exc is None:
            self.breaker.success(self.spec)
        else:
            self.breaker.record_error(self.spec, exc)

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        params: ModelRequestParameters,
    ) -> ModelResponse:
        model_settings = self._before(model_settings)
        try:
            response = await self.wrapped.request(messages, model_settings, params)
        except ModelAPIError as exc:
            self._after(exc)
            raise
        self._after(None)
        return response

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        params: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        model_settings = self._before(model_settings)
        try:
            async with self.wrapped.request_stream(messages, model_settings, params, run_context) as stream:
                yield stream
        except ModelAPIError as exc:  # also errors inside an open stream
            self._after(exc)
            raise
        self._after(None)
