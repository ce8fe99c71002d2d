"""GET a model listing as JSON; every failure becomes a one-line DiscoveryError."""

from __future__ import annotations

from typing import Any

import httpx

from agents.models.discovery.records import DiscoveryError
from tools.errors import ErrorClass, classify_http

# Read as `http_json.LIST_TIMEOUT` by the Ollama listing too, so one setting governs both.
LIST_TIMEOUT = 15.0


def _retry_after(headers: httpx.Headers | dict[str, str] | None) -> float | None:
    value = (headers or {}).get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _http_error(label: str, url: str, status: int, body: str, headers: Any = None) -> DiscoveryError:
    error_class = classify_http(status, body)
    if error_class is ErrorClass.rate_limited:
        retry = _retry_after(headers)
        wait = f", retry after {retry:g} s" if retry is not None else ""
        return DiscoveryError(f"{label} rate-limited the request to {url}{wait}", error_class, retry)
    snippet = " ".join(body.split())[:160]
    return DiscoveryError(f"{label} answered HTTP {status} for {url}: {snippet}", error_class)


async def _get_json(label: str, url: str, hint: str, *, headers: dict[str, str] | None = None) -> Any:
    """GET `url` as JSON, turning every failure into a one-line DiscoveryError."""
    try:
        async with httpx.AsyncClient(timeout=LIST_TIMEOUT, follow_redirects=True) as client:
            response = await client.get(url, headers=headers)
    except httpx.TimeoutException:
        raise DiscoveryError(
            f"{label} at {url} did not answer within {LIST_TIMEOUT:g} s", ErrorClass.timeout
        ) from None
    except httpx.HTTPError as exc:
        raise DiscoveryError(
            f"{label} is not reachable at {url}: {hint} ({type(exc).__name__})",
            ErrorClass.connection_refused,
        ) from None
    if response.status_code >= 400:
        raise _http_error(label, url, response.status_code, response.text, response.headers)
    try:
        return response.json()
    except ValueError:
        raise DiscoveryError(
            f"{label} at {url} answered with malformed JSON: {response.text[:80]!r}",
            ErrorClass.invalid_output,
        ) from None


def _malformed(label: str, url: str, what: str) -> DiscoveryError:
    return DiscoveryError(f"{label} at {url} answered with malformed JSON: {what}", ErrorClass.invalid_output)
