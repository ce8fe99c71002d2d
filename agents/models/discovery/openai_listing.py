"""Listing an OpenAI-compatible server (llama.cpp, vLLM, Ollama's /v1...): `GET /v1/models`."""

from __future__ import annotations

from agents.models.discovery.http_json import _get_json, _malformed
from agents.models.discovery.records import DiscoveredModel


async def _discover_openai_compatible(base_url: str, label: str) -> list[DiscoveredModel]:
    """`GET <base_url>/models` of an OpenAI-compatible server (llama.cpp, vLLM, Ollama...)."""
    url = f"{base_url}/models"
    data = await _get_json(label, url, "is the server running?")
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _malformed(label, url, "no `data` list")
    models = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _malformed(label, url, f"model entry without an id: {str(item)[:60]}")
        context = item.get("context_length") or item.get("max_model_len")
        models.append(
            DiscoveredModel(
                model=f"ollama:{item['id']}",
                provider="openai-compatible",
                base_url=base_url,
                context_length=context if isinstance(context, int) else None,
                input_price=0.0,
                output_price=0.0,
                free=True,
            )
        )
    return models
