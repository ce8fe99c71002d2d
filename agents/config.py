"""Settings from env vars and `.env`: the one module that reads configuration.

Every environment variable codecrew reads is read here (`VARIABLES` lists them, and
`.env.example` documents each one; a test keeps the three in step). `.env` is looked for in
the current directory, then in each parent up to the project root (the first folder with a
pyproject.toml or .git); real environment variables win over it. Caches live in the
platform's user cache folder (platformdirs), `CODECREW_CACHE_DIR` overriding it.

Every role takes a model string; agents/models/build.py turns it into a pydantic-ai model.
Bad configuration ends in a `ConfigError` whose message is one line that says what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
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
REPAIR_FORMATS = ("whole", "edit")
EMBEDDED_DEFAULT = "local:qwen2.5-coder-1.5b"
LOCAL_MODELS = {  # the embedded llama.cpp server's models (agents/local/): model string -> size
    "local:qwen2.5-coder-1.5b": "1.5b",
    "local:qwen2.5-coder-0.5b": "0.5b",
}
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


# Every variable codecrew itself reads (the providers' API keys are read by pydantic-ai from
# the environment, which `.env` fills in). `.env.example` documents each one.
VARIABLES = (
    *ROLE_VARS.values(),
    "EVAL_MODELS",
    "OLLAMA_BASE_URL",
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "OPENROUTER_API_KEY",
    "OPENROUTER_BASE_URL",
    "COORDINATOR_TEMPERATURE",
    "COORDINATOR_MAX_TOKENS",
    "CODE_GENERATOR_TEMPERATURE",
    "CODE_GENERATOR_MAX_TOKENS",
    "CODE_EXTRACTOR_TEMPERATURE",
    "CODE_EXTRACTOR_MAX_TOKENS",
    "CODECREW_OUT_DIR",
    "CODECREW_REQUEST_LIMIT",
    "CODECREW_COST_LIMIT",
    "ROUTING",
    "CODECREW_DEBUG",
    "CODECREW_CACHE_DIR",
    "CODECREW_HISTORY",
    "CODECREW_LOCAL_PORT",
    "CODECREW_LOCAL_THREADS",
    "CODECREW_INDEX_URL",
    "CODECREW_CHROMIUM",
    "CODECREW_NODE_DIR",
    "CODECREW_SERVE_TOKEN",
    "CODECREW_REPAIRS",
    "CODECREW_SAMPLES",
    "CODECREW_REPAIR_FORMAT",
    "CODECREW_CHECKLIST",
    "CODECREW_DATABASE_URL",
    "CODECREW_PROVIDER_LIMITS",
    "CODECREW_WORKER_TIMEOUT",
)
PROJECT_MARKERS = ("pyproject.toml", ".git")


def find_env_file(start: Path | None = None) -> Path | None:
    """`.env` in `start` (default: the current directory) or the nearest parent that has one,
    looking no higher than the project root (the first folder with a pyproject.toml or .git)."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".env").is_file():
            return candidate / ".env"
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return None
    return None


def project_root(start: Path | None = None) -> Path | None:
    """The project the command runs in: the first folder from `start` (default: the current
    directory) up with a pyproject.toml or .git; None outside any project."""
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return None


@cache
def _load_env_file() -> Path | None:
    """Fill os.environ from `.env` once per process: pydantic-ai's providers read their API
    keys there. Variables already set win."""
    path = find_env_file()
    if path is not None:
        load_dotenv(path, override=False)
    return path


def load_env() -> dict[str, str]:
    """The environment, with `.env` filling in what the real environment does not set."""
    _load_env_file()
    return dict(os.environ)


def env_value(name: str, default: str = "") -> str:
    """One configuration variable (environment, else `.env`), stripped; `default` when unset."""
    _load_env_file()
    return os.environ.get(name, default).strip() or default


def child_environment() -> dict[str, str]:
    """The environment for a child process of ours (the embedded model server)."""
    return load_env()


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where codecrew keeps weights, logs and the history: `CODECREW_CACHE_DIR` (from `env`,
    default the environment and .env), else the platform's user cache folder
    (~/.cache/codecrew on Linux, honouring XDG_CACHE_HOME)."""
    explicit = env_value("CODECREW_CACHE_DIR") if env is None else env.get("CODECREW_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("codecrew", appauthor=False))


def history_path() -> Path:
    """Where the history database lives (`CODECREW_HISTORY` overrides)."""
    if explicit := env_value("CODECREW_HISTORY"):
        return Path(explicit).expanduser()
    return cache_dir() / "history.sqlite"


def node_dir() -> Path:
    """Where the Node packages of the bench eval's checks live: `CODECREW_NODE_DIR`, else the
    project's `.codecrew/node` (setup.sh installs it there), else `<cache dir>/node`."""
    if explicit := env_value("CODECREW_NODE_DIR"):
        return Path(explicit).expanduser()
    root = project_root()
    if root is not None and (root / ".codecrew" / "node").is_dir():
        return root / ".codecrew" / "node"
    return cache_dir() / "node"


def chromium_path(default: str) -> str:
    """The chromium executable: `CODECREW_CHROMIUM`, else `default`."""
    return env_value("CODECREW_CHROMIUM") or default


def weights_index_url(default: str) -> str:
    """The package index the embedded model's weights come from (`CODECREW_INDEX_URL`)."""
    return env_value("CODECREW_INDEX_URL", default).rstrip("/")


def local_server_port() -> str:
    """`CODECREW_LOCAL_PORT` as written ("" when unset); agents.local.server checks it."""
    return env_value("CODECREW_LOCAL_PORT")


def local_server_threads() -> str:
    """`CODECREW_LOCAL_THREADS` as written ("" when unset); agents.local.server checks it."""
    return env_value("CODECREW_LOCAL_THREADS")


def openrouter_base_url(default: str) -> str:
    return env_value("OPENROUTER_BASE_URL", default).rstrip("/")


def api_key(name: str) -> str | None:
    """An API key the user set (`OPENROUTER_API_KEY`, `OLLAMA_API_KEY`), or None."""
    return env_value(name) or None


def search_path() -> str:
    """The PATH children of ours search (the sandbox passes only this, never the rest)."""
    return os.environ.get("PATH", "/usr/bin:/bin")


def ollama_host() -> str:
    """The Ollama host for the `ollama` client (no /v1): OLLAMA_HOST, else OLLAMA_BASE_URL."""
    return ollama_urls(env_value("OLLAMA_HOST") or env_value("OLLAMA_BASE_URL"))[1]


def routing_on() -> bool:
    """ROUTING=on: pick the generator by task type and complexity, as `--route` does."""
    return env_value("ROUTING").lower() == "on"


def debug_on() -> bool:
    """CODECREW_DEBUG set: show tracebacks instead of one-line errors."""
    return bool(env_value("CODECREW_DEBUG"))


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
    repairs: int = 2  # verify-and-repair rounds after the first version (0 = off)
    samples: int = 1  # candidates generated concurrently, the best kept
    repair_format: str = "whole"  # "whole": rewrite the files; "edit": SEARCH/REPLACE blocks
    checklist: bool = False  # tell the generator how it will be checked (off: worse on the 1.5B)
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
        repairs, samples = _count(env, "CODECREW_REPAIRS", 2), _count(env, "CODECREW_SAMPLES", 1, low=1)
        repair_format = env.get("CODECREW_REPAIR_FORMAT", "whole").strip() or "whole"
        checklist = _switch(env, "CODECREW_CHECKLIST", False)
        settings = cls(
            **models,
            out_dir=Path(out) if out else None,
            ollama_base_url=base_url,
            ollama_host=host,
            request_limit=int(env.get("CODECREW_REQUEST_LIMIT", 40)),
            cost_limit=float(cost) if cost else None,
            explicit_roles=frozenset(explicit),
            role_settings=_role_settings(env),
            repairs=repairs,
            samples=samples,
            repair_format=repair_format,
            checklist=checklist,
        )
        settings = replace(settings, **overrides) if overrides else settings
        settings.check_loop()
        return settings

    def check_loop(self) -> None:
        """Raise ConfigError for a repair/sample setting that cannot work."""
        if self.repairs < 0:
            raise ConfigError(f"--repairs must be 0 or more, not {self.repairs}")
        if self.samples < 1:
            raise ConfigError(f"--samples must be 1 or more, not {self.samples}")
        if self.repair_format not in REPAIR_FORMATS:
            raise ConfigError(
                f"unknown repair format {self.repair_format!r}: use one of {', '.join(REPAIR_FORMATS)}"
            )

    def model_for(self, role: str) -> str:
        return getattr(self, role)

    def with_models(self, spec: str) -> Settings:
        """The same settings with every role on one model string."""
        return replace(self, coordinator=spec, generator=spec, extractor=spec)


def _switch(env: dict[str, str], var: str, default: bool) -> bool:
    raw = env.get(var, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "on", "true", "yes"):
        return True
    if raw in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{var} must be on or off, not {raw!r}")


def _count(env: dict[str, str], var: str, default: int, *, low: int = 0) -> int:
    raw = env.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a whole number, not {raw!r}") from None
    if value < low:
        raise ConfigError(f"{var} must be {low} or more, not {value}")
    return value


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
    return list(LOCAL_MODELS)


def configured_models(settings: Settings | None = None, env: dict[str, str] | None = None) -> list[str]:
    """Every model string the user configured: the three roles, then EVAL_MODELS."""
    env = load_env() if env is None else env
    settings = settings or Settings.load(env)
    extra = [m.strip() for m in env.get("EVAL_MODELS", "").split(",") if m.strip()]
    roles = [settings.model_for(r) for r in ROLE_VARS]
    return list(dict.fromkeys([*roles, *extra]))


SERVE_TOKEN_VAR = "CODECREW_SERVE_TOKEN"


def serve_token(env: dict[str, str] | None = None) -> str | None:
    """The dashboard's access token (`CODECREW_SERVE_TOKEN`, env or .env), None when unset."""
    env = load_env() if env is None else env
    return env.get(SERVE_TOKEN_VAR, "").strip() or None


# --- durable eval runs (evals/durable.py) ------------------------------------------------

DATABASE_FILE = "evals.sqlite"  # the embedded DBOS state, in the cache folder
WORKER_TIMEOUT_S = 30.0  # a case whose worker gave no sign of life this long is run again


@dataclass(frozen=True)
class DurableSettings:
    """Where durable eval runs keep their state, and how they treat workers.

    `CODECREW_DATABASE_URL`: `postgresql://user@host/db` for runs shared by several workers
    (and machines); unset, a SQLite file in the cache folder (one machine, no server).
    `CODECREW_PROVIDER_LIMITS` overrides models.yaml's per-provider limits, e.g.
    `openrouter-free: rate=20/60 concurrency=4; openai: rate=500/60`.
    `CODECREW_WORKER_TIMEOUT`: seconds without a heartbeat after which a worker's cases go
    back on their queue.
    """

    database_url: str
    provider_limits: str = ""
    worker_timeout: float = WORKER_TIMEOUT_S

    @classmethod
    def load(cls, env: dict[str, str] | None = None) -> DurableSettings:
        env = load_env() if env is None else env
        url = env.get("CODECREW_DATABASE_URL", "").strip()
        if not url:
            url = f"sqlite:///{(cache_dir(env) / DATABASE_FILE).resolve()}"
        elif not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://", "sqlite:///")):
            raise ConfigError(
                "CODECREW_DATABASE_URL must be postgresql://user@host/db or sqlite:///path,"
                f" not {url.split(':')[0]}:..."
            )
        timeout = env.get("CODECREW_WORKER_TIMEOUT", "").strip()
        try:
            worker_timeout = float(timeout) if timeout else WORKER_TIMEOUT_S
        except ValueError:
            raise ConfigError(
                f"CODECREW_WORKER_TIMEOUT must be a number of seconds, not {timeout!r}"
            ) from None
        return cls(
            database_url=url,
            provider_limits=env.get("CODECREW_PROVIDER_LIMITS", "").strip(),
            worker_timeout=worker_timeout,
        )
