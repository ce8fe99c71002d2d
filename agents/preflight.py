"""Checks made before a run spends any time: is Ollama up, are its models pulled?

Also picks the embedded default: with no model configured and no Ollama running, every
role runs on the embedded local model, so a fresh machine works with no setup.
"""

from __future__ import annotations

import httpx

from agents.config import EMBEDDED_DEFAULT, OLLAMA_DEFAULTS, ROLE_VARS, ConfigError, Settings

OLLAMA_TIMEOUT = 3.0


def ollama_models(host: str) -> list[str] | None:
    """Names of the models Ollama has pulled, or None when Ollama is not reachable."""
    import ollama

    try:
        listing = ollama.Client(host=host, timeout=OLLAMA_TIMEOUT).list()
    except (ConnectionError, httpx.HTTPError, ollama.ResponseError):
        return None
    return [m.model for m in listing.models if m.model]


def ollama_names(settings: Settings) -> list[str]:
    """The Ollama model names the configured roles use (fallback chains included)."""
    names = []
    for role in ROLE_VARS:
        for part in settings.model_for(role).split(","):
            if part.strip().startswith("ollama:"):
                names.append(part.strip().removeprefix("ollama:"))
    return list(dict.fromkeys(names))


def _pulled(name: str, available: list[str]) -> bool:
    return name in available or f"{name}:latest" in available


def check_ollama(settings: Settings) -> None:
    """Raise ConfigError when a role needs Ollama and it is down or lacks the model."""
    needed = ollama_names(settings)
    if not needed:
        return
    available = ollama_models(settings.ollama_host)
    pulls = " && ".join(f"ollama pull {name}" for name in needed)
    if available is None:
        raise ConfigError(
            f"Ollama is not reachable at {settings.ollama_host}: start it with `ollama serve`, "
            f"then `{pulls}` (or set OLLAMA_BASE_URL)"
        )
    missing = [name for name in needed if not _pulled(name, available)]
    if missing:
        raise ConfigError(
            f"Ollama has not pulled {', '.join(missing)}: run "
            + " && ".join(f"`ollama pull {name}`" for name in missing)
        )


def choose_models(settings: Settings) -> tuple[Settings, str | None]:
    """The settings to run with, and a one-line note when the embedded default was chosen."""
    if settings.explicit_roles:
        return settings, None
    defaults_are_ollama = all(settings.model_for(r) == OLLAMA_DEFAULTS[r] for r in ROLE_VARS)
    if defaults_are_ollama and ollama_models(settings.ollama_host) is None:
        note = (
            f"Ollama is not reachable at {settings.ollama_host} and no model is configured: "
            f"running every role on the embedded {EMBEDDED_DEFAULT}"
        )
        return settings.with_models(EMBEDDED_DEFAULT), note
    return settings, None
