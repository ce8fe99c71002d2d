"""Settings from env vars and `.env`: the one module that reads configuration.

Every role takes a model string; agents/models/build.py turns it into a pydantic-ai model.
Bad configuration ends in a `ConfigError` whose message is one line that says what to do.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dotenv import load_dotenv

if TYPE_CHECKING:
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
    "coordinator": {"temperature": 0.0, "max_tokens": 768, "seed": 7},
    "generator": {"temperature": 0.2, "max_tokens": 6144, "seed": 7},
    "extractor": {"temperature": 0.0, "max_tokens": 512, "seed": 7},
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
        merged = defaults.copy()
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
