"""`discover()`: pick the listing for a provider name or URL, filter and sort what it finds."""

from __future__ import annotations

from agents.models.discovery.ollama_listing import _discover_ollama, ollama_host
from agents.models.discovery.openai_listing import _discover_openai_compatible
from agents.models.discovery.openrouter_listing import _discover_openrouter
from agents.models.discovery.records import DiscoveredModel, DiscoveryError
from tools.errors import ErrorClass


async def discover(provider: str, *, free_only: bool = False) -> list[DiscoveredModel]:
    """The models `provider` ("ollama", "openrouter" or a server URL) serves, sorted.

    Raises DiscoveryError (one line, with an error class) when the provider cannot be listed.
    """
    if provider == "ollama":
        host = ollama_host()
        models = await _discover_ollama(host, "Ollama", "start it with `ollama serve` (or set OLLAMA_HOST)")
    elif provider == "openrouter":
        models = await _discover_openrouter()
    elif provider.startswith(("http://", "https://")):
        url = provider.rstrip("/")
        if url.endswith("/v1"):
            models = await _discover_openai_compatible(url, "The server")
        else:
            models = await _discover_ollama(url, "The server", "is it running?")
    else:
        raise DiscoveryError(
            f"unknown provider {provider!r}: use ollama, openrouter or a server URL (http://...)",
            ErrorClass.config,
        )
    if free_only:
        models = [m for m in models if m.free]
    return sorted(models, key=lambda m: m.model)
