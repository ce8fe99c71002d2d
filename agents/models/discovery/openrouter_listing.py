"""Listing OpenRouter: `/api/v1/models` with prices, context length and `:free` models."""

from __future__ import annotations

import os
from typing import Any

from agents.models.discovery.http_json import _get_json, _malformed
from agents.models.discovery.records import DiscoveredModel

OPENROUTER_URL = "https://openrouter.ai/api/v1"


def openrouter_url() -> str:
    return (os.environ.get("OPENROUTER_BASE_URL") or OPENROUTER_URL).rstrip("/")


def _price_per_mtok(value: Any) -> float | None:
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return None if price < 0 else round(price * 1_000_000, 6)  # OpenRouter: USD per token


async def _discover_openrouter() -> list[DiscoveredModel]:
    base = openrouter_url()
    url = f"{base}/models"
    headers = {"Authorization": f"Bearer {key}"} if (key := os.environ.get("OPENROUTER_API_KEY")) else None
    data = await _get_json("OpenRouter", url, "check the network or OPENROUTER_BASE_URL", headers=headers)
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _malformed("OpenRouter", url, "no `data` list")
    models = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _malformed("OpenRouter", url, f"model entry without an id: {str(item)[:60]}")
        pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
        input_price = _price_per_mtok(pricing.get("prompt"))
        output_price = _price_per_mtok(pricing.get("completion"))
        params = item.get("supported_parameters")
        context = item.get("context_length")
        models.append(
            DiscoveredModel(
                model=f"openrouter:{item['id']}",
                provider="openrouter",
                base_url=base,
                context_length=context if isinstance(context, int) else None,
                input_price=input_price,
                output_price=output_price,
                free=item["id"].endswith(":free") or (input_price == 0 and output_price == 0),
                advertises_tools="tools" in params if isinstance(params, list) else None,
            )
        )
    return models
