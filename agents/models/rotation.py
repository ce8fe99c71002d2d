"""Fallback chains that rotate around failing models: backoff, fallback, circuit breaker.

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
`local:` (the embedded server, built by config.build_model) and `test` get none: a local server
that fails is down, and the fallback moves on. Everything gets layers 2 and 3.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from pydantic_ai import RunContext
from pydantic_ai.exceptions import ModelAPIError, ModelUnavailableError
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.fallback import FallbackModel
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings, merge_model_settings

from agents.config import (
    EMBEDDED_DEFAULT,
    ConfigError,
    Settings,
    accepts_http_client,
    build_single,
    normalise_model_string,
)
from agents.models.retrying import RetryPolicy, retrying_client
from tools.errors import classify_error
from tools.history import WORK_SOURCES, History

log = logging.getLogger(__name__)

LOCAL_PREFIXES = ("local:", "ollama:")
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- chains --------------------------------------------------------------------------------


class Chain(list[str]):
    """Model strings to try in order; `notes` says what was left out or kept and why."""

    def __init__(self, models: list[str], notes: list[str]) -> None:
        super().__init__(models)
        self.notes = notes


def chain_models(
    spec: str, settings: Settings, *, history: History | None, role: str, clock: Clock = utcnow
) -> Chain:
    """The models to try for `role`: a comma list in its order, or `auto` from the history.

    `auto` orders the models the history measured for `role` (else for any role) by success
    rate, then median latency; models that never succeeded or cannot be built (no API key)
    are left out, and local models come last, ending with the embedded one as the safe
    fallback. Models cooling down are skipped, unless every one is: then all are kept.
    """
    notes: list[str] = []
    if spec.strip() == "auto":
        models = _auto_chain(settings, history, role, notes)
    else:
        models = list(dict.fromkeys(normalise_model_string(p) for p in spec.split(",") if p.strip()))
    cooling = history.cooldowns(clock()) if history is not None else {}
    kept = [m for m in models if m not in cooling]
    if models and not kept:
        notes.append("every model is cooling down: trying them in order anyway")
        kept = models
    else:
        notes += [f"skipped {m}: cooling down until {cooling[m]:%H:%M} UTC" for m in models if m in cooling]
    for note in notes:
        log.info("%s chain: %s", role, note)
    return Chain(kept, notes)


def _auto_chain(settings: Settings, history: History | None, role: str, notes: list[str]) -> list[str]:
    stats = history.model_stats(role=role, sources=WORK_SOURCES) if history is not None else []
    if not stats and history is not None:
        stats = history.model_stats(sources=WORK_SOURCES)
        if stats:
            notes.append(f"no calls recorded for the {role} yet: ranking every role's calls")
    ranked: list[str] = []
    for s in sorted(stats, key=lambda s: (-s.success_rate, s.median_latency or math.inf, s.model)):
        if "," in s.model:  # a whole chain recorded under one name is not a model to rank
            continue
        if s.successes == 0:
            notes.append(f"left out {s.model}: 0 of {s.calls} calls succeeded")
        elif problem := _unbuildable(s.model, settings):
            notes.append(f"left out {s.model}: {problem}")
        else:
            ranked.append(s.model)
    remote = [m for m in ranked if not m.startswith(LOCAL_PREFIXES)]
    local = [m for m in ranked if m.startswith(LOCAL_PREFIXES)] or [EMBEDDED_DEFAULT]
    if not ranked:
        notes.append(f"nothing measured yet: using the embedded {EMBEDDED_DEFAULT}")
    return remote + local


def _unbuildable(spec: str, settings: Settings) -> str | None:
    """Why `spec` cannot be built here (e.g. no API key), or None; never starts a local server."""
    if spec.startswith("local:"):
        return None
    try:
        build_single(spec, settings)
    except ConfigError as exc:
        return str(exc)
    return None


# -- models with the retrying client -------------------------------------------------------


def build_retrying(spec: str, settings: Settings, http_client: httpx2.AsyncClient) -> Model:
    """One model string built like config.build_model, its provider using `http_client`."""
    return _build_with_client(spec, settings, http_client)[0]


def _build_with_client(spec: str, settings: Settings, client: httpx2.AsyncClient) -> tuple[Model, bool]:
    """(model, whether its provider took the retrying client)."""
    spec = normalise_model_string(spec)
    model = build_single(spec, settings, http_client=client)
    took_client = ":" in spec and not spec.startswith("local:") and accepts_http_client(spec.split(":")[0])
    return model, took_client


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


def resilient_model(
    specs: list[str],
    settings: Settings,
    *,
    history: History | None,
    build: Callable[[str, Settings], Model] | None = None,
    breaker: CircuitBreaker | None = None,
    policy: RetryPolicy = RetryPolicy(),
    http_client: httpx2.AsyncClient | None = None,
) -> Model:
    """The models of `specs` as one FallbackModel with HTTP retries and a circuit breaker.

    `build` None: each model gets the retrying client (`http_client`, else a new one made
    from `policy`). A custom `build(spec, settings)` (e.g. config.build_model, or FunctionModels
    in tests) is used as is. With a history (or a `breaker`) failures count towards cool-downs.
    """
    if not specs:
        raise ConfigError("no model left to run: set a model for the role, or wait for the cool-downs to end")
    if breaker is None and history is not None:
        breaker = CircuitBreaker(history)
    client = http_client or (retrying_client(policy) if build is None else None)
    chain = list(specs)
    models: list[Model] = []
    for spec in chain:
        if build is None:
            model, took_client = _build_with_client(spec, settings, client)  # type: ignore[arg-type]
        else:
            model, took_client = build(spec, settings), False
        models.append(WatchedModel(model, spec, breaker, chain, sdk_retries=0 if took_client else None))
    return FallbackModel(*models, fallback_on=(ModelAPIError,))
