"""Listing an Ollama server: where it is, `/api/tags` (+ `/api/show`), `/v1/models` on 404."""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import httpx

from agents.models.discovery import http_json
from agents.models.discovery.http_json import _http_error, _malformed
from agents.models.discovery.openai_listing import _discover_openai_compatible
from agents.models.discovery.records import DiscoveredModel, DiscoveryError
from tools.errors import ErrorClass

DEFAULT_OLLAMA_HOST = "http://localhost:11434"
SHOW_CONCURRENCY = 4


def _normalize_host(raw: str) -> str:
    host = raw.strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    return re.sub(r"/v1$", "", host)


def ollama_host() -> str:
    """The Ollama host for the `ollama` client (no /v1)."""
    if host := os.environ.get("OLLAMA_HOST"):
        return _normalize_host(host)
    if base := os.environ.get("OLLAMA_BASE_URL"):
        return _normalize_host(base)
    return DEFAULT_OLLAMA_HOST


def _context_from_show(info: Any) -> int | None:
    for key, value in (info or {}).items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


async def _discover_ollama(host: str, label: str, hint: str) -> list[DiscoveredModel]:
    """Ollama's `/api/tags` (+ `/api/show` per model); `/v1/models` when /api/tags is 404."""
    import ollama

    client = ollama.AsyncClient(host=host, timeout=http_json.LIST_TIMEOUT)
    try:
        return await _list_ollama(client, host, label, hint)
    finally:
        await client.close()


async def _list_ollama(client: Any, host: str, label: str, hint: str) -> list[DiscoveredModel]:
    import ollama

    url = f"{host}/api/tags"
    try:
        listing = await client.list()
    except ollama.ResponseError as exc:
        if exc.status_code == 404:  # no Ollama routes: the embedded llama.cpp server, vLLM...
            return await _discover_openai_compatible(f"{host}/v1", label)
        raise _http_error(label, url, exc.status_code, exc.error) from None
    except ConnectionError:
        raise DiscoveryError(
            f"{label} is not reachable at {host}: {hint}", ErrorClass.connection_refused
        ) from None
    except httpx.TimeoutException:
        raise DiscoveryError(
            f"{label} at {host} did not answer within {http_json.LIST_TIMEOUT:g} s", ErrorClass.timeout
        ) from None
    except (ValueError, TypeError) as exc:  # bad JSON, or JSON of the wrong shape
        raise _malformed(label, url, str(exc).splitlines()[0][:80]) from None

    gate = asyncio.Semaphore(SHOW_CONCURRENCY)

    async def describe(name: str) -> DiscoveredModel:
        context, tools = None, None
        async with gate:
            try:
                shown = await client.show(name)
                context = _context_from_show(shown.modelinfo)
                if shown.capabilities is not None:
                    tools = "tools" in shown.capabilities
            except Exception:  # details are a bonus; the listing stands without them
                pass
        return DiscoveredModel(
            model=f"ollama:{name}",
            provider="ollama",
            base_url=f"{host}/v1",
            context_length=context,
            input_price=0.0,
            output_price=0.0,
            free=True,
            advertises_tools=tools,
        )

    names = [m.model for m in listing.models if m.model]
    return list(await asyncio.gather(*(describe(name) for name in names)))
