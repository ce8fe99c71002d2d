"""A model from a model string: one provider's model, the embedded server, or a fallback chain.

Every role takes a pydantic-ai model string (`ollama:...`, `openrouter:...`, `openai:...`,
`google:...`, `anthropic:...`, `test`), our own `local:qwen2.5-coder-1.5b` (the embedded
llama.cpp server), or a comma-separated chain of them (tried in order on failure), or `auto`
(the chain ranked from the history). Chains get HTTP retries (agents/models/retrying.py) and
a circuit breaker (agents/models/rotation.py). Every way this can go wrong ends in a
`ConfigError` whose message is one line that says what to do.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
from collections.abc import Callable
from typing import Any

import httpx2
from pydantic_ai.exceptions import ModelAPIError, UserError
from pydantic_ai.models import Model, infer_model
from pydantic_ai.models.fallback import FallbackModel
from pydantic_ai.providers import infer_provider

from agents.config import EMBEDDED_DEFAULT, ConfigError, Settings
from agents.models.retrying import RetryPolicy, retrying_client
from agents.models.rotation import CircuitBreaker, Clock, WatchedModel, utcnow
from tools.history import WORK_SOURCES, History

log = logging.getLogger(__name__)

LOCAL_PREFIXES = ("local:", "ollama:")


def normalise_model_string(spec: str) -> str:
    """Map spellings people still use onto pydantic-ai's current prefixes."""
    spec = spec.strip()
    if spec.startswith("google-gla:"):  # the old Gemini prefix, gone from pydantic-ai
        return "google:" + spec.removeprefix("google-gla:")
    return spec


def model_string_problem(spec: str) -> str | None:
    """Why `spec` is not a model string this install can use, in one line; None when it is.

    Unknown providers, malformed strings, unknown `local:` names and missing optional packages
    are problems; a missing API key is not (the model fails when asked, with that message).
    Builds nothing that starts a server or sends a request.
    """
    from agents.local.server import LocalServerError, parse_local_model

    parts = [normalise_model_string(p) for p in spec.split(",") if p.strip()]
    if not parts:
        return "empty model string: use provider:model, e.g. ollama:qwen2.5-coder:14b"
    for part in parts:
        if part == "auto" and len(parts) == 1:
            continue
        if part.startswith("local:"):
            try:
                parse_local_model(part)
            except LocalServerError as exc:
                return str(exc)
            continue
        try:
            build_single(part, Settings.load({}))
        except ConfigError as exc:
            if not str(exc).startswith("missing API key"):
                return str(exc)
    return None


def build_model(spec: str, settings: Settings, *, role: str = "generator") -> Model:
    """A pydantic-ai model for a model string; a comma list or `auto` becomes a fallback chain.

    Chains get HTTP retries with backoff, a circuit breaker and the history's cool-downs
    (agents/models/rotation.py); `auto` takes the chain from the measured history.
    """
    parts = [normalise_model_string(p) for p in spec.split(",") if p.strip()]
    if not parts:
        raise ConfigError("empty model string: set e.g. CODE_GENERATOR_MODEL=ollama:qwen2.5-coder:14b")
    if len(parts) > 1 or parts == ["auto"]:
        history = History()
        chain = chain_models(",".join(parts), settings, history=history, role=role)
        return resilient_model(list(chain), settings, history=history)
    return build_single(parts[0], settings)


def accepts_http_client(provider: str) -> bool:
    """Whether pydantic-ai's provider class for `provider` takes our own HTTP client."""
    from pydantic_ai.providers import infer_provider_class

    try:
        return "http_client" in inspect.signature(infer_provider_class(provider)).parameters
    except (ValueError, ImportError):
        return False


def build_single(spec: str, settings: Settings, *, http_client: Any = None) -> Model:
    """One model string as a pydantic-ai model; `http_client` (e.g. one that retries) if it fits."""
    if spec.startswith("local:"):
        return _local_model(spec)

    def provider_factory(name: str) -> Any:
        from pydantic_ai.providers import infer_provider_class

        kwargs: dict[str, Any] = {}
        if name == "ollama":  # one setting serves pydantic-ai (/v1) and the ollama client
            kwargs["base_url"] = settings.ollama_base_url
        if http_client is not None and accepts_http_client(name):
            kwargs["http_client"] = http_client
        return infer_provider_class(name)(**kwargs) if kwargs else infer_provider(name)

    try:
        return infer_model(spec, provider_factory=provider_factory)
    except (UserError, ValueError) as exc:
        raise ConfigError(explain_user_error(spec, str(exc))) from None
    except ImportError as exc:
        extra = spec.split(":", 1)[0]
        raise ConfigError(
            f"model '{spec}' needs an optional package ({exc.name or extra}): "
            f"run `uv sync --extra {extra}` (or pip install 'codecrew[{extra}]')"
        ) from None


def explain_user_error(spec: str, message: str) -> str:
    """Turn pydantic-ai's configuration errors into one actionable line."""
    if key := re.search(r"`?([A-Z][A-Z0-9_]*_(?:API_KEY|KEY|TOKEN))`?", message):
        return f"missing API key for '{spec}': set {key.group(1)} in the environment or in .env"
    if "Unknown model" in message or "Unknown provider" in message or ":" not in spec:
        return (
            f"unknown model string '{spec}': use provider:model, e.g. ollama:qwen2.5-coder:14b, "
            "openai:gpt-4o, openrouter:deepseek/deepseek-chat, local:qwen2.5-coder-1.5b"
        )
    return f"cannot use model '{spec}': {message.splitlines()[0]}"


def _local_model(spec: str) -> Model:
    """`local:<name>`: the embedded llama.cpp server, reached like Ollama through /v1."""
    from pydantic_ai.models.ollama import OllamaModel
    from pydantic_ai.providers.ollama import OllamaProvider

    from agents.local.server import LocalServerError, parse_local_model, shared_server

    try:
        size = parse_local_model(spec)
    except LocalServerError as exc:
        raise ConfigError(str(exc)) from None
    server = shared_server(size)  # one server per size, shared by every role of the run
    return OllamaModel(spec.removeprefix("local:"), provider=OllamaProvider(base_url=server.base_url))


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
    """One model string built like build_model, its provider using `http_client`."""
    return _build_with_client(spec, settings, http_client)[0]


def _build_with_client(spec: str, settings: Settings, client: httpx2.AsyncClient) -> tuple[Model, bool]:
    """(model, whether its provider took the retrying client)."""
    spec = normalise_model_string(spec)
    model = build_single(spec, settings, http_client=client)
    took_client = ":" in spec and not spec.startswith("local:") and accepts_http_client(spec.split(":")[0])
    return model, took_client


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
    from `policy`). A custom `build(spec, settings)` (e.g. build_model, or FunctionModels
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
