"""Settings from env vars and `.env`, and model strings turned into pydantic-ai models.

Every role takes a pydantic-ai model string (`ollama:...`, `openrouter:...`, `openai:...`,
`google:...`, `anthropic:...`, `test`), our own `local:qwen2.5-coder-1.5b` (the embedded
llama.cpp server), or a comma-separated chain of them (tried in order on failure).
Every way this can go wrong ends in a `ConfigError` whose message is one line that says
what to do.
"""

from __future__ import annotations

import inspect
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from pydantic_ai.exceptions import UserError
from pydantic_ai.models import Model, infer_model
from pydantic_ai.providers import infer_provider
from pydantic_ai.settings import ModelSettings

ROLE_VARS = {
    "coordinator": "COORDINATOR_MODEL",
    "generator": "CODE_GENERATOR_MODEL",
    "extractor": "CODE_EXTRACTOR_MODEL",
}
OLLAMA_DEFAULTS = {
    "coordinator": "ollama:llama3.1:8b-instruct-q8_0",
    "generator": "ollama:qwen2.5-coder:14b",
    "extractor": "ollama:llama3.1:8b-instruct-q8_0",
}
EMBEDDED_DEFAULT = "local:qwen2.5-coder-1.5b"
DEFAULT_OLLAMA_URL = "http://localhost:11434"

# Code wants low temperature; the coordinator and extractor only pick tools and names,
# so they get short answers (every token a local coordinator writes costs time). A fixed
# seed makes runs on servers that honour it (llama.cpp, Ollama) repeatable.
ROLE_SETTINGS: dict[str, ModelSettings] = {
    "coordinator": ModelSettings(temperature=0.0, max_tokens=768, seed=7),
    "generator": ModelSettings(temperature=0.2, max_tokens=6144, seed=7),
    "extractor": ModelSettings(temperature=0.0, max_tokens=512, seed=7),
}


class ConfigError(ValueError):
    """Bad configuration; the message is one line telling the user what to do."""

    error_class = "config"


def load_env(path: Path = Path(".env")) -> dict[str, str]:
    """The environment, with `.env` filling in what the real environment does not set.

    `.env` goes into os.environ too: pydantic-ai's providers read their API keys there.
    """
    load_dotenv(path, override=False)
    return dict(os.environ)


def ollama_urls(raw: str | None) -> tuple[str, str]:
    """(`OLLAMA_BASE_URL` for pydantic-ai, ending in /v1; `OLLAMA_HOST` for the ollama client)."""
    host = (raw or DEFAULT_OLLAMA_URL).strip().rstrip("/")
    host = re.sub(r"/v1$", "", host)
    if "://" not in host:
        host = f"http://{host}"
    return f"{host}/v1", host


@dataclass(frozen=True)
class Settings:
    coordinator: str
    generator: str
    extractor: str
    out_dir: Path | None = None
    ollama_base_url: str = f"{DEFAULT_OLLAMA_URL}/v1"
    ollama_host: str = DEFAULT_OLLAMA_URL
    request_limit: int = 40
    cost_limit: float | None = None
    explicit_roles: frozenset[str] = frozenset()  # roles the user set (env, .env or flag)
    role_settings: dict[str, ModelSettings] = field(default_factory=lambda: dict(ROLE_SETTINGS))

    @classmethod
    def load(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read settings from `env` (default: environment + .env); keyword overrides win."""
        env = load_env() if env is None else env
        base_url, host = ollama_urls(env.get("OLLAMA_BASE_URL") or env.get("OLLAMA_HOST"))
        models: dict[str, str] = {}
        explicit: set[str] = set()
        for role, var in ROLE_VARS.items():
            value = overrides.pop(role, None) or env.get(var, "").strip()
            if value:
                explicit.add(role)
            models[role] = value or OLLAMA_DEFAULTS[role]
        out = overrides.pop("out_dir", None) or env.get("CODECREW_OUT_DIR")
        cost = env.get("CODECREW_COST_LIMIT")
        settings = cls(
            **models,
            out_dir=Path(out) if out else None,
            ollama_base_url=base_url,
            ollama_host=host,
            request_limit=int(env.get("CODECREW_REQUEST_LIMIT", 40)),
            cost_limit=float(cost) if cost else None,
            explicit_roles=frozenset(explicit),
            role_settings=_role_settings(env),
        )
        return replace(settings, **overrides) if overrides else settings

    def model_for(self, role: str) -> str:
        return getattr(self, role)

    def with_models(self, spec: str) -> Settings:
        """The same settings with every role on one model string."""
        return replace(self, coordinator=spec, generator=spec, extractor=spec)


def _role_settings(env: dict[str, str]) -> dict[str, ModelSettings]:
    """Per-role generation settings, overridable by e.g. CODE_GENERATOR_MAX_TOKENS."""
    result: dict[str, ModelSettings] = {}
    for role, defaults in ROLE_SETTINGS.items():
        prefix = ROLE_VARS[role].removesuffix("_MODEL")
        merged = ModelSettings(**defaults)
        if value := env.get(f"{prefix}_TEMPERATURE"):
            merged["temperature"] = float(value)
        if value := env.get(f"{prefix}_MAX_TOKENS"):
            merged["max_tokens"] = int(value)
        result[role] = merged
    return result


def local_models() -> list[str]:
    """The embedded models: usable anywhere, with no key and no server to install."""
    from agents.local.server import LOCAL_MODELS

    return list(LOCAL_MODELS)


def configured_models(settings: Settings | None = None, env: dict[str, str] | None = None) -> list[str]:
    """Every model string the user configured: the three roles, then EVAL_MODELS."""
    env = load_env() if env is None else env
    settings = settings or Settings.load(env)
    extra = [m.strip() for m in env.get("EVAL_MODELS", "").split(",") if m.strip()]
    roles = [settings.model_for(r) for r in ROLE_VARS]
    return list(dict.fromkeys([*roles, *extra]))


def normalise_model_string(spec: str) -> str:
    """Map spellings people still use onto pydantic-ai's current prefixes."""
    spec = spec.strip()
    if spec.startswith("google-gla:"):  # the old Gemini prefix, gone from pydantic-ai
        return "google:" + spec.removeprefix("google-gla:")
    return spec


def build_model(spec: str, settings: Settings, *, role: str = "generator") -> Model:
    """A pydantic-ai model for a model string; a comma list or `auto` becomes a fallback chain.

    Chains get HTTP retries with backoff, a circuit breaker and the history's cool-downs
    (agents/models/rotation.py); `auto` takes the chain from the measured history.
    """
    parts = [normalise_model_string(p) for p in spec.split(",") if p.strip()]
    if not parts:
        raise ConfigError("empty model string: set e.g. CODE_GENERATOR_MODEL=ollama:qwen2.5-coder:14b")
    if len(parts) > 1 or parts == ["auto"]:
        from agents.models.rotation import chain_models, resilient_model
        from tools.history import History

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
